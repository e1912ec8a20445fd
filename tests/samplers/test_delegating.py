"""What every loss sampler shares (optuna_glo/samplers/_delegating.py): a two-objective study is
refused with an error naming the sampler and why, and the user's own parameters, with the
trial's start and end, reach the independent sampler."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import optuna
import pytest
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import Study
from optuna.trial import FrozenTrial, TrialState

from optuna_glo.samplers import (
    EPBTSampler,
    GeneticProgrammingSampler,
    GLOSampler,
    PBTSampler,
    taylorglo_sampler,
)
from optuna_glo.samplers.cmaes import FixedSpaceCmaEsSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def _cmaes(independent: BaseSampler | None = None) -> BaseSampler:
    return FixedSpaceCmaEsSampler(param_names=["a"], bounds=(-1.0, 1.0), start=0.0, sigma0=0.5,
                                  independent_sampler=independent, seed=0)


def _gp(independent: BaseSampler | None = None) -> BaseSampler:
    return GeneticProgrammingSampler(population_size=4, n_elites=1, seed=0,
                                     independent_sampler=independent)


def _epbt(independent: BaseSampler | None = None) -> BaseSampler:
    return EPBTSampler(population_size=4, n_elites=2, seed=0, independent_sampler=independent)


def _pbt(independent: BaseSampler | None = None) -> BaseSampler:
    return PBTSampler(population_size=4, seed=0, independent_sampler=independent)


@pytest.mark.parametrize(
    ("make", "name", "why"),
    [
        (_cmaes, "FixedSpaceCmaEsSampler", "CMA-ES ranks its candidates by one value"),
        (lambda: taylorglo_sampler(seed=0), "TaylorGLOSampler", "CMA-ES ranks"),
        (_gp, "GeneticProgrammingSampler", "GLO's fitness is one validation score"),
        # GLOSampler leaves the check to the sampler of the trial's phase.
        (lambda: GLOSampler(discovery_generations=1, seed=0), "GeneticProgrammingSampler",
         "GLO's fitness"),
        (_epbt, "EPBTSampler", "an individual's fitness is one validation score"),
        (_pbt, "PBTSampler", "an individual's fitness"),
    ],
)
def test_a_two_objective_study_is_refused_naming_the_sampler_and_why(
    make: Callable[[], BaseSampler], name: str, why: str
) -> None:
    study = optuna.create_study(directions=["maximize", "maximize"], sampler=make())
    with pytest.raises(ValueError) as error:
        study.ask().suggest_float("lr", 0.0, 1.0)  # CMA-ES samples (and checks) at the suggest
    message = str(error.value)
    assert message.startswith(f"{name} supports single-objective studies only ({why}")
    assert "The study has 2 objectives; use a single-objective study." in message


class _Recording(RandomSampler):
    """A RandomSampler that records which of its hooks a trial reached."""

    def __init__(self) -> None:
        super().__init__(seed=0)
        self.calls: list[tuple[str, int]] = []

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self.calls.append(("before", trial.number))

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self.calls.append((param_name, trial.number))
        return super().sample_independent(study, trial, param_name, param_distribution)

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self.calls.append(("after", trial.number))


@pytest.mark.parametrize("make", [_cmaes, _gp, _epbt, _pbt])
def test_the_users_parameters_and_the_trials_start_and_end_reach_the_independent_sampler(
    make: Callable[[BaseSampler], BaseSampler],
) -> None:
    recording = _Recording()
    study = optuna.create_study(direction="maximize", sampler=make(recording))
    study.optimize(lambda t: t.suggest_float("lr", 0.0, 1.0), n_trials=2)
    assert recording.calls == [
        ("before", 0), ("lr", 0), ("after", 0), ("before", 1), ("lr", 1), ("after", 1),
    ]
