"""Optuna's CmaEsSampler over a fixed set of float parameters, started where a paper starts it.

Both loss searches that use CMA-ES set it up this way: TaylorGLO (theta = 0, sigma 1.2) and GLO's
coefficient phase (all ones, sigma 1.5).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, TypeVar

from optuna.distributions import FloatDistribution
from optuna.exceptions import ExperimentalWarning
from optuna.samplers import CmaEsSampler
from optuna.samplers._lazy_random_state import LazyRandomState

if TYPE_CHECKING:
    import optuna
    from optuna.distributions import BaseDistribution
    from optuna.samplers import BaseSampler


class FixedSpaceCmaEsSampler(CmaEsSampler):
    """CMA-ES over the named parameters only; other parameters go to an independent sampler.

    Restricting CMA-ES to its own parameters lets a user put their own hyperparameters (a
    learning rate, a width, a categorical) in the same trial: those are sampled by
    ``independent_sampler`` and never change CMA-ES's dimension or initial distribution.
    """

    def __init__(
        self, *, param_names: list[str], bounds: tuple[float, float], **kwargs: object
    ) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self._fixed_space: dict[str, BaseDistribution] = {
            name: FloatDistribution(*bounds) for name in param_names
        }
        seed = kwargs.get("seed")
        self._base_seed = seed if isinstance(seed, int) else None

    def infer_relative_search_space(
        self, study: optuna.Study, trial: optuna.trial.FrozenTrial
    ) -> dict[str, BaseDistribution]:
        # The space is known up front. Optuna's default (the intersection of the completed trials'
        # spaces) is empty for the first trial, which would then be sampled at random instead of
        # from CMA-ES's initial distribution.
        return dict(self._fixed_space)

    def sample_relative(
        self,
        study: optuna.Study,
        trial: optuna.trial.FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        # A trial's draw depends on the seed, its number and the CMA-ES state only, not on how
        # many trials were asked before it or in which process. CmaEsSampler draws from one
        # stream, which an optimizer rebuild also advances (a trial asked while its generation's
        # first trial still runs rebuilds the optimizer): a batch-mode worker, which asks a batch
        # before telling any, would otherwise sample other candidates than a one-at-a-time one.
        # (This reaches into CmaEsSampler's private `_cma_rng`; pyproject pins optuna<6.)
        if self._base_seed is not None:
            self._cma_rng = LazyRandomState(self._base_seed + trial.number)
        return super().sample_relative(study, trial, search_space)

    def _init_optimizer(self, *args: Any, **kwargs: Any) -> Any:
        # A rebuild must not advance the stream (see sample_relative); the seed it draws is
        # unused anyway, since the optimizer is reseeded before every ask.
        state = self._cma_rng.rng.get_state()
        try:
            return super()._init_optimizer(*args, **kwargs)
        finally:
            self._cma_rng.rng.set_state(state)


_S = TypeVar("_S", bound=FixedSpaceCmaEsSampler)


def build_fixed_space_cmaes(
    cls: type[_S],
    *,
    param_names: list[str],
    bounds: tuple[float, float],
    start: float,
    sigma0: float,
    population_size: int | None,
    independent_sampler: BaseSampler | None,
    seed: int | None,
) -> _S:
    """``cls`` started at ``start`` in every parameter with step size ``sigma0`` (parameter units).

    Optuna 5 deprecates CmaEsSampler's `x0` and `sigma0` (removal planned for 6.0, hence
    `optuna<6` in pyproject.toml) in favour of "centre of the bounds, range / 6". That default
    cannot give the papers' settings: bounds wide enough for the results they report make
    range / 6 far larger than their step sizes. So both are passed explicitly and the
    FutureWarning, which is about this call and not the user's, is silenced. CmaEsSampler works
    in coordinates normalised to [0, 1] per parameter, so the step size is sigma0 / (high - low).
    """
    low, high = bounds
    if not low < start < high:
        raise ValueError(
            f"`bounds` must contain the start {start:g}. The specified `bounds` are {bounds}."
        )
    if sigma0 <= 0:
        raise ValueError(f"`sigma0` must be positive. The specified `sigma0` is {sigma0}.")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", ExperimentalWarning)  # consider_pruned_trials, since 2.0
        return cls(
            param_names=param_names,
            bounds=bounds,
            x0=dict.fromkeys(param_names, start),
            sigma0=sigma0 / (high - low),
            popsize=population_size,
            # The first generation comes from CMA-ES around the start, not from random startup
            # trials as Optuna's default n_startup_trials=1 would give.
            n_startup_trials=0,
            independent_sampler=independent_sampler,
            warn_independent_sampling=False,
            # A trial an Optuna pruner stopped counts in its generation, at its last reported
            # accuracy; else a generation would wait for more complete trials (none without one).
            consider_pruned_trials=True,
            seed=seed,
        )
