"""`[taylorglo] search_lr`: CMA-ES searches the learning rate (log scale) with the loss."""

from __future__ import annotations

import math

import optuna
import pytest

from optuna_glo.keys import LR_ATTR, LR_COORDINATE_PARAM
from optuna_glo.objectives import LossSearchObjective, train_trials
from optuna_glo.runtime.methods import make_objective, make_sampler
from optuna_glo.runtime.spec import SpecError, StudySpec
from optuna_glo.suggest import trial_lr

LOW, HIGH = 0.05, 5.0


def _spec(search_lr: dict[str, float] | None = None) -> StudySpec:
    taylorglo: dict[str, object] = {"population_size": 4}
    if search_lr is not None:
        taylorglo["search_lr"] = search_lr
    return StudySpec.from_dict({
        "study": {"name": "t", "method": "taylorglo", "task": "digits-mlp", "n_trials": 8},
        "taylorglo": taylorglo,
        "training": {"steps": 2},
    })


@pytest.mark.slow
def test_cma_es_samples_the_rate_and_the_objective_trains_with_it() -> None:
    spec = _spec({"low": LOW, "high": HIGH})
    objective = make_objective(spec, device="cpu")
    assert isinstance(objective, LossSearchObjective)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    trials = [study.ask() for _ in range(4)]
    choices: list[object] = []
    values = train_trials(objective, trials, path="sequential", on_choice=choices.append)
    rates = []
    for trial, value in zip(trials, values, strict=True):
        study.tell(trial, value)
    for frozen in study.trials:
        lr = trial_lr(frozen)
        assert lr is not None and LOW < lr < HIGH
        u = frozen.params[LR_COORDINATE_PARAM]  # sampled by CMA-ES (no random fallback)
        assert math.log(lr) == pytest.approx(
            math.log(LOW) + (u + 20) / 40 * (math.log(HIGH) - math.log(LOW))
        )
        assert objective.task_of(frozen).recipe.lr == lr
        rates.append(lr)
    # Generation 0 starts at the geometric mean with a small step, each candidate its own rate:
    # they train one group per rate.
    assert all(abs(math.log(r / math.sqrt(LOW * HIGH))) < 1.0 for r in rates)
    trained = [t for t in study.trials if "val_accuracy" in t.user_attrs]  # invariant passed
    assert len(set(rates)) == 4 and len(choices) == len(trained) >= 1


def test_without_search_lr_the_task_rate_is_used() -> None:
    spec = _spec()
    objective = make_objective(spec, device="cpu")
    assert isinstance(objective, LossSearchObjective)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    trial = study.ask()
    objective.suggest_loss(trial)
    assert LR_ATTR not in trial.user_attrs and LR_COORDINATE_PARAM not in trial.params
    assert objective.task_of(trial) is objective.task


def test_a_bad_range_is_refused_by_name() -> None:
    with pytest.raises(SpecError, match=r"search_lr must satisfy 0 < low < high, got low = 1.0"):
        _spec({"low": 1.0, "high": 0.5})

