"""DelegatingSampler: what every loss sampler shares with Optuna's samplers that wrap another one.

Each loss sampler gives a trial its own parameters (a tree, CMA-ES's candidate, a population
slot) and hands every other parameter of the objective (a learning rate, a width, ...) to a
delegate, by default its ``independent_sampler``, so a loss search and the user's own
hyperparameters share one study. Each needs a single-objective study: its fitness is one value.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from optuna.samplers import BaseSampler

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial, TrialState


def check_single_objective(study: Study, sampler_name: str, why: str) -> None:
    """Raise unless ``study`` has one objective; the error names the sampler and ``why``."""
    if study._is_multi_objective():
        raise ValueError(
            f"{sampler_name} supports single-objective studies only ({why}). The study has "
            f"{len(study.directions)} objectives; use a single-objective study."
        )


def check_delegation_args(seed: int | None, independent_sampler: BaseSampler | None) -> None:
    """Raise unless ``seed`` is None or an int >= 0 and ``independent_sampler`` is None or a
    sampler."""
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise ValueError(f"`seed` must be None or an int >= 0. The specified `seed` is {seed}.")
    if independent_sampler is not None and not isinstance(independent_sampler, BaseSampler):
        raise ValueError(
            f"`independent_sampler` must be an Optuna sampler. The specified one is "
            f"{independent_sampler!r}."
        )


class DelegatingSampler(BaseSampler):
    """A sampler that hands the parameters it does not give itself to :meth:`_delegate`.

    Subclasses set ``_independent_sampler`` (the default delegate; or override ``_delegate`` and
    ``reseed_rng``) and ``_single_objective_why`` (why the sampler needs one objective, said in
    the error a multi-objective study gets).
    """

    _independent_sampler: BaseSampler
    _single_objective_why: ClassVar[str]

    def _check_single_objective(self, study: Study) -> None:
        check_single_objective(study, type(self).__name__, self._single_objective_why)

    def _delegate(self, study: Study, trial: FrozenTrial) -> BaseSampler:
        """The sampler of ``trial``'s other parameters."""
        return self._independent_sampler

    def reseed_rng(self) -> None:
        self._independent_sampler.reseed_rng()

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._delegate(study, trial).before_trial(study, trial)

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._check_single_objective(study)
        return self._delegate(study, trial).sample_independent(
            study, trial, param_name, param_distribution
        )

    def after_trial(
        self, study: Study, trial: FrozenTrial, state: TrialState, values: Sequence[float] | None
    ) -> None:
        self._delegate(study, trial).after_trial(study, trial, state, values)
