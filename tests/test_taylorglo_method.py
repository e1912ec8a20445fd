"""A TaylorGLO study's spec reaches its trials: the form, and the authors' invariant check."""

from __future__ import annotations

import optuna
import pytest

from optuna_glo.keys import UNTRAINABLE_ATTR
from optuna_glo.losses import TAYLORGLO_MNIST_THETA
from optuna_glo.objectives import train_trials
from optuna_glo.runtime.methods import make_objective
from optuna_glo.runtime.spec import StudySpec

#: Fails the invariant on 10 classes: f = y - theta_1 gives 1 - 9 * 1 < 0 (losses._invariant).
VIOLATING = (0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0)


def _spec(invariant_check: bool) -> StudySpec:
    return StudySpec.from_dict({
        "study": {"name": "t", "method": "taylorglo", "task": "digits-mlp", "n_trials": 2},
        "taylorglo": {"invariant_check": invariant_check},
        "training": {"steps": 5},
    })


def _trials(study: optuna.Study) -> list[optuna.Trial]:
    for theta in (VIOLATING, TAYLORGLO_MNIST_THETA):
        study.enqueue_trial({f"taylor_theta_{i}": v for i, v in enumerate(theta)})
    return [study.ask(), study.ask()]


@pytest.mark.parametrize("batched", [False, True], ids=["one-by-one", "population"])
def test_a_candidate_that_fails_the_invariant_is_skipped_untrained(batched: bool) -> None:
    objective = make_objective(_spec(invariant_check=True), device="cpu")
    study = optuna.create_study(direction="maximize")
    trials = _trials(study)
    if batched:
        values = train_trials(objective, trials, path="sequential")
    else:
        values = [objective(trial) for trial in trials]
    for trial, value in zip(trials, values, strict=True):
        study.tell(trial, value)
    skipped, trained = study.trials
    assert skipped.value == 0.0 and skipped.user_attrs["untrainable"] is True
    assert "authors' invariant on 10 classes" in skipped.user_attrs[UNTRAINABLE_ATTR]
    assert "val_accuracy" not in skipped.user_attrs  # never trained
    assert "val_accuracy" in trained.user_attrs and UNTRAINABLE_ATTR not in trained.user_attrs


def test_with_the_check_off_every_candidate_trains() -> None:
    objective = make_objective(_spec(invariant_check=False), device="cpu")
    study = optuna.create_study(direction="maximize")
    for trial in _trials(study):
        study.tell(trial, objective(trial))
    assert all("val_accuracy" in t.user_attrs for t in study.trials)
