"""FixedSpaceCmaEsSampler: CMA-ES (the ``cmaes`` library) over a fixed set of float parameters.

Both loss searches that use CMA-ES start it where their paper does: TaylorGLO at theta = 0 with
sigma 1.2 (sections 4 and 5), GLO's coefficient phase at all ones with sigma 1.5 (section III-B).
Optuna's CmaEsSampler cannot: from Optuna 5 its start is the centre of the bounds and its step size
range / 6 (``x0`` and ``sigma0`` are deprecated), and its random stream depends on what the process
asked before, so batched and one-by-one workers would draw different candidates. This sampler
drives ``cmaes.CMA``, the optimizer CmaEsSampler wraps, through its public API, and keeps its state
in the storage as CmaEsSampler does (``_state``), so any number of workers share one search.
"""

from __future__ import annotations

import logging
import math
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from optuna.distributions import FloatDistribution
from optuna.samplers import BaseSampler, RandomSampler
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_glo.samplers._delegating import DelegatingSampler
from optuna_glo.samplers.cmaes._state import (
    GENERATION_KEY,
    CmaSettings,
    GenerationReplay,
    trial_generation,
)

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study
    from optuna.trial import FrozenTrial

_logger = logging.getLogger(__name__)


class FixedSpaceCmaEsSampler(DelegatingSampler):
    """CMA-ES over the named parameters only; other parameters go to an independent sampler.

    Restricting CMA-ES to its own parameters lets a user put their own hyperparameters (a
    learning rate, a width, a categorical) in the same trial: those are sampled by
    ``independent_sampler`` and never change CMA-ES's dimension or initial distribution.

    Every trial, the first included, gets a candidate of the current generation (no random
    startup trials). A generation is told once ``population_size`` of its trials are complete;
    failed and pruned trials are skipped, and so are trials of an old generation that finish
    late. Each trial records its generation in the system attr ``cma:generation``; the optimizer
    is rebuilt from the trials (see ``optuna_glo/samplers/cmaes/_state.py``). A trial's candidate
    depends only on the seed, its generation and its number, so workers that ask a batch of
    trials before telling any sample what one-by-one workers sample. A retried trial (queued
    again with its parameters and attrs, as the worker and Optuna's retry callback do) keeps its
    generation: it re-runs the same candidate.

    Args:
        param_names: The CMA-ES parameters (suggested with ``trial.suggest_float`` within
            ``bounds``).
        bounds: ``(low, high)`` of every parameter.
        start: CMA-ES's initial mean, in every parameter; inside ``bounds``.
        sigma0: CMA-ES's initial step size, in parameter units.
        population_size: CMA-ES lambda, at least 2 (default: ``4 + floor(3 ln n)``); below 4,
            one parent is recombined and cmaes warns that its rank-mu learning rate is 0.
        independent_sampler: Samples every other parameter (default: ``RandomSampler(seed)``).
        seed: Seed of the candidates (and of the default independent sampler). With ``None`` a
            random one is drawn: workers of one study then draw independent candidates.
    """

    _single_objective_why = "CMA-ES ranks its candidates by one value"

    def __init__(
        self,
        *,
        param_names: Sequence[str],
        bounds: tuple[float, float],
        start: float,
        sigma0: float,
        population_size: int | None = None,
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
    ) -> None:
        names = tuple(param_names)
        if not names or len(set(names)) != len(names):
            raise ValueError(
                f"`param_names` must be distinct names, at least one. The specified "
                f"`param_names` are {list(names)}."
            )
        low, high = bounds
        if not (math.isfinite(low) and math.isfinite(high) and low < start < high):
            raise ValueError(
                f"`bounds` must contain the start {start:g}. The specified `bounds` are {bounds}."
            )
        if not (math.isfinite(sigma0) and sigma0 > 0):
            raise ValueError(f"`sigma0` must be positive. The specified `sigma0` is {sigma0}.")
        if population_size is not None and (
            isinstance(population_size, bool) or not isinstance(population_size, int)
            or population_size < 2
        ):
            raise ValueError(
                "`population_size` must be None or an int >= 2 (CMA-ES recombines the best "
                f"half). The specified `population_size` is {population_size!r}."
            )
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(
                f"`seed` must be None or an int >= 0. The specified `seed` is {seed!r}."
            )
        settings = CmaSettings(names, (float(low), float(high)), float(start), float(sigma0),
                               population_size)
        self._space: dict[str, BaseDistribution] = {
            name: FloatDistribution(low, high) for name in names
        }
        self._replay = GenerationReplay(settings)
        self._seed = secrets.randbits(63) if seed is None else seed
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._warned: set[str] = set()

    def reseed_rng(self) -> None:
        # The candidates need no reseeding: each is drawn from its own seed.
        self._independent_sampler.reseed_rng()

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        # The space is known up front. Optuna's default (the intersection of the completed trials'
        # spaces) is empty for the first trial, which would then not come from CMA-ES.
        return dict(self._space)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        if not any(name in search_space for name in self._space):
            return {}
        if trial_generation(trial) is not None and all(n in trial.params for n in self._space):
            return {}  # a retry: it re-runs its candidate, in its generation
        generation, optimizer = self._replay.current(
            study.get_trials(deepcopy=False), _sign(study)
        )
        point = self._replay.draw(optimizer, seed=self._seed, generation=generation,
                                  number=trial.number)
        study._storage.set_trial_system_attr(trial._trial_id, GENERATION_KEY, generation)
        return {
            name: float(x) for name, x in zip(self._space, point, strict=True)
            if name in search_space
        }

    def generation_full(self, study: Study, trials: Sequence[FrozenTrial]) -> bool:
        """Whether a trial asked now would be an extra of a generation not yet told.

        True while ``population_size`` trials of the current generation run or are complete and
        one still runs: a new candidate would then be drawn from the same generation and never
        told (``_state.py``), a training for nothing. A worker waits instead
        (``runtime/worker/_claim.py``). Once none runs, a generation still short of complete
        solutions (a trial failed, or completed without a value) takes new trials again.

        Args:
            study: The study (its direction).
            trials: Its trials that use up its budget (running, complete, pruned, waiting).
        """
        generation, _ = self._replay.current(trials, _sign(study))
        trials = self._replay.live(trials)  # the current generation's trials are all in it
        # A running trial without a generation has not suggested yet (Optuna samples the
        # relative parameters at the first suggest, after ``ask``): it will draw from this one.
        mine = [t for t in trials if trial_generation(t) in (generation, None)]
        running = sum(t.state == TrialState.RUNNING for t in mine)
        complete = sum(
            t.state == TrialState.COMPLETE and trial_generation(t) is not None for t in mine
        )
        return running > 0 and running + complete >= self._replay.population_size

    def sample_independent(
        self, study: Study, trial: FrozenTrial, param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        if param_name not in self._warned:
            self._warned.add(param_name)
            why = (
                f"its distribution {param_distribution} does not hold CMA-ES's candidate"
                if param_name in self._space
                else f"it is not one of {type(self).__name__}'s CMA-ES parameters"
            )
            _logger.warning(
                "Trial %d: %s samples `%s`: %s. (Said once per parameter.)",
                trial.number, type(self._independent_sampler).__name__, param_name, why,
            )
        return super().sample_independent(study, trial, param_name, param_distribution)


def _sign(study: Study) -> float:
    """1 to minimise the trials' values (CMA-ES minimises), -1 to maximise them."""
    return 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
