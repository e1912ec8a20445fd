"""A run that ends at chance accuracy is recorded as collapsed, with value 0 like a diverged one."""

from __future__ import annotations

from collections.abc import Iterator

import optuna
import pytest
import torch
from torch import nn

from optuna_glo.losses import CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import LossSearchObjective, get_task, train_trials
from optuna_glo.objectives._loop import COLLAPSE_MARGIN, TrainResult, has_collapsed

#: A TaylorGLO theta far outside any search's bounds: finite training, a network at chance.
HUGE_THETA = [-1e6, 1e6, 1e6, -1e6, 1e6, 1e6, 1e6, 1e6]


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """One intra-op thread: on a shared 2-core machine two threads can be ten times slower."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_collapse_is_chance_plus_the_margin() -> None:
    assert COLLAPSE_MARGIN == 0.05
    assert has_collapsed(0.15, 10) and has_collapsed(0.02, 10) and has_collapsed(0.55, 2)
    assert not has_collapsed(0.151, 10) and not has_collapsed(0.56, 2)


def test_a_collapsed_result_is_worth_zero() -> None:
    assert TrainResult(0.1, 20, collapsed=True).value == 0.0
    assert TrainResult(0.1, 20).value == 0.1


def _objective() -> LossSearchObjective:
    def suggest(trial: optuna.trial.Trial) -> nn.Module:
        return TaylorGLOLoss(HUGE_THETA) if trial.number == 0 else CrossEntropy()

    return LossSearchObjective(get_task("digits-mlp"), suggest, steps=20, device="cpu")


def _check(study: optuna.Study) -> None:
    huge, healthy = study.trials
    # The huge theta trains without a NaN to a network at chance: collapsed, value 0, and the
    # accuracy it measured kept for the record.
    assert huge.user_attrs["collapsed"] is True and huge.user_attrs["diverged"] is False
    assert huge.value == 0.0 and 0.0 < huge.user_attrs["val_accuracy"] <= 0.15
    assert healthy.user_attrs["collapsed"] is False and healthy.value > 0.5
    assert healthy.value == healthy.user_attrs["val_accuracy"]


def test_a_run_at_chance_is_recorded_as_collapsed_one_by_one() -> None:
    study = optuna.create_study(direction="maximize")
    study.optimize(_objective(), n_trials=2)
    _check(study)


def test_a_run_at_chance_is_recorded_as_collapsed_in_a_population() -> None:
    study = optuna.create_study(direction="maximize")
    trials = [study.ask(), study.ask()]
    values = train_trials(_objective(), trials, path="vectorized")
    for trial, value in zip(trials, values, strict=True):
        study.tell(trial, value)
    _check(study)
