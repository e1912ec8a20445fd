"""TaylorGLO's CMA-ES set-up: the paper's mean, step size and population, silently."""

from __future__ import annotations

import warnings

import numpy as np
import optuna
import pytest

from optuna_glo import suggest_taylor_loss, taylor_param_names, taylorglo_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _thetas(study: optuna.Study, order: int = 3) -> np.ndarray:
    names = taylor_param_names(order)
    return np.array([[t.params[n] for n in names] for t in study.trials])


def _objective(trial: optuna.Trial) -> float:
    loss = suggest_taylor_loss(trial)
    return -float((loss.theta**2).sum())


def test_first_generation_is_centred_at_zero_with_step_size_1_2() -> None:
    # TaylorGLO section 4: theta = 0 at the start; section 5: sigma = 1.2. Every trial of the
    # first generation, trial 0 included, comes from that distribution.
    sampler = taylorglo_sampler(population_size=300, seed=1)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective, n_trials=300)
    theta = _thetas(study)
    assert np.abs(theta.mean(axis=0)).max() < 0.3
    assert np.allclose(theta.std(axis=0), 1.2, atol=0.15)
    assert all(t.system_attrs.get("cma:generation") == 0 for t in study.trials)


def test_generations_have_the_population_size() -> None:
    study = optuna.create_study(direction="maximize", sampler=taylorglo_sampler(seed=1))
    study.optimize(_objective, n_trials=60)
    generations = [t.system_attrs["cma:generation"] for t in study.trials]
    assert generations[:28] == [0] * 28 and generations[28:56] == [1] * 28


def test_no_deprecation_warning_reaches_the_user() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        taylorglo_sampler(seed=0)


def test_user_hyperparameters_share_the_trial() -> None:
    study = optuna.create_study(direction="maximize", sampler=taylorglo_sampler(seed=2))

    def objective(trial: optuna.Trial) -> float:
        loss = suggest_taylor_loss(trial)
        lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
        width = trial.suggest_categorical("width", [32, 64])
        return -float((loss.theta**2).sum()) - abs(np.log(lr)) - width / 64

    study.optimize(objective, n_trials=40)
    assert len({t.params["lr"] for t in study.trials}) == 40
    assert {t.params["width"] for t in study.trials} == {32, 64}
    # CMA-ES kept its dimension: generation 1 was reached with 28-trial generations.
    assert study.trials[-1].system_attrs["cma:generation"] == 1


def test_same_seed_same_candidates() -> None:
    a = optuna.create_study(direction="maximize", sampler=taylorglo_sampler(seed=5))
    b = optuna.create_study(direction="maximize", sampler=taylorglo_sampler(seed=5))
    a.optimize(_objective, n_trials=35)
    b.optimize(_objective, n_trials=35)
    assert np.array_equal(_thetas(a), _thetas(b))


def test_formula_is_a_user_attr() -> None:
    study = optuna.create_study(direction="maximize", sampler=taylorglo_sampler(seed=0))
    study.optimize(_objective, n_trials=1)
    # The default form is the authors' code: a sum over the classes, no 1/n (losses._taylor).
    assert study.trials[0].user_attrs["loss_formula"].startswith("L(x, y) = -Σᵢ [")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"population_size": 1}, "`population_size`"),
        ({"sigma0": 0.0}, "`sigma0`"),
        ({"bounds": (1.0, 5.0)}, "`bounds`"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        taylorglo_sampler(**kwargs)
