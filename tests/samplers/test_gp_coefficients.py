"""The coefficient phase (GLO III-B): free coefficients as a CMA-ES search space."""

from __future__ import annotations

import numpy as np
import optuna
import pytest
import torch

import optuna_glo
from optuna_glo.keys import COEFFICIENT_BOUNDS
from optuna_glo.losses import BAIKAL_CMA_COEFFICIENTS, BaikalCMA, readable_formula
from optuna_glo.losses.trees import TreeLoss, parse
from optuna_glo.samplers import coefficient_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def test_cma_es_starts_at_all_ones_with_step_size_one_and_a_half() -> None:
    tree = "log(y) - x / y"
    study = optuna.create_study(sampler=coefficient_sampler(tree, population_size=200, seed=0))
    for _ in range(200):  # one CMA-ES generation: draws from N(1, 1.5^2) per coefficient
        trial = study.ask()
        optuna_glo.suggest_tree_coefficients(trial, tree)
        study.tell(trial, 0.0)
    x = np.array([[t.params[f"glo_c{i}"] for i in range(4)] for t in study.trials])
    assert np.all(np.abs(x.mean(axis=0) - 1.0) < 0.35)  # 3 standard errors of the mean
    assert np.all(np.abs(x.std(axis=0) - 1.5) < 0.3)
    low, high = COEFFICIENT_BOUNDS
    assert low <= -4.2 and high >= 4.2  # merged BaikalCMA coefficients fit


def test_suggest_tree_coefficients_makes_a_fixed_length_space() -> None:
    trial = optuna.trial.FixedTrial({f"glo_c{i}": 1.0 for i in range(4)})
    loss = optuna_glo.suggest_tree_coefficients(trial, "log(y) - x / y")
    assert loss.tree == parse("{1}log({1}y) - {1}({1}x / {1}y)")  # all ones: the discovered tree
    c0, c1, c2, c3, c4, c5 = BAIKAL_CMA_COEFFICIENTS
    values = {"glo_c0": c0 * c1, "glo_c1": c2, "glo_c2": c0 * c3 * c4, "glo_c3": c5}
    tuned = optuna_glo.suggest_tree_coefficients(optuna.trial.FixedTrial(values), "log(y) - x / y")
    gen = torch.Generator().manual_seed(0)
    logits, target = torch.randn(8, 10, generator=gen), torch.randint(0, 10, (8,), generator=gen)
    torch.testing.assert_close(tuned(logits, target), BaikalCMA()(logits, target))
    with pytest.raises(ValueError, match="`low` must be below `high`"):
        optuna_glo.suggest_tree_coefficients(trial, "x * y", low=1.0, high=1.0)


def test_cma_es_tunes_the_coefficients() -> None:
    # Fitness: closeness of the tuned loss to BaikalCMA on a fixed batch.
    gen = torch.Generator().manual_seed(0)
    logits, target = torch.randn(32, 10, generator=gen), torch.randint(0, 10, (32,), generator=gen)
    reference = BaikalCMA(reduction="none")(logits, target)

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_tree_coefficients(trial, "log(y) - x / y", reduction="none")
        return -float((loss(logits, target) - reference).abs().mean())

    sampler = coefficient_sampler("log(y) - x / y", seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=120)
    first = np.mean([t.value for t in study.trials[:10]])
    assert study.best_value > 0.5 * first  # values are negative: the error shrank
    # CMA-ES sampled them jointly from the first trial on (its state is in the trials).
    assert all(any(k.startswith("cma:") for k in t.system_attrs) for t in study.trials)
    best = study.best_trial
    assert best.user_attrs["loss_tree"] == str(TreeLoss(best.user_attrs["loss_tree"]).tree)
    # The stored formula is the readable one (coefficients rounded), of the stored tree.
    stored = TreeLoss(best.user_attrs["loss_tree"])
    assert best.user_attrs["loss_formula"] == readable_formula(stored)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"bounds": (2.0, 5.0)}, r"`bounds` must contain the start 1"),
        ({"sigma0": 0.0}, r"`sigma0` must be positive\. .* is 0\.0\."),
        ({"population_size": 3}, r"`population_size` must be None or >= 4\. .* is 3\."),
    ],
)
def test_coefficient_sampler_checks_its_settings(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        coefficient_sampler("x * log(y)", **kwargs)  # type: ignore[arg-type]
