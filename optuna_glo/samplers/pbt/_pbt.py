"""PBTSampler: Population-Based Training (Jaderberg et al., 2017) as EPBT's baselines ran it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from optuna.samplers import BaseSampler

from optuna_glo.samplers._checks import check_int, check_rate
from optuna_glo.samplers.pbt._base import PopulationSampler
from optuna_glo.samplers.pbt._elitism import best
from optuna_glo.samplers.pbt._explore import explore
from optuna_glo.samplers.pbt._individual import Assignment, Individual
from optuna_glo.samplers.pbt._space import SearchSpace, taylor_space
from optuna_glo.samplers.pbt._ticket import Layout
from optuna_glo.samplers.pbt._truncation import quantile_size, truncation

#: EPBT section 4.1: the PBT baseline's "loss parameters were initialized around zero". The paper
#: gives no width; +/-1 is about one step of the same group's CMA-ES search, which starts at
#: theta = 0 with step size 1.2 (TaylorGLO section 5).
PBT_TAYLOR_INIT = (-1.0, 1.0)


class PBTSampler(PopulationSampler):
    """PBT, synchronous and generational, as the baselines of EPBT section 4.1.

    Every individual trains every generation: generation g has ``population_size`` trials, one
    per member (slot ``s`` of every generation is member ``s``). After a generation closes, its
    members are ranked by fitness and "the weights and loss parameters from the top 25% of the
    population were copied over to the bottom 25%" (exploit: each bottom member copies a top
    member drawn at random); the copied values are then explored, each variable independently
    resampled over the bounds with probability ``resample_prob`` or else multiplied by 1.2 or
    0.8 ("a mixture of both random resets and multiplicative perturbations of magnitude 1.2").
    The other members continue from their own weights with their own values. A member whose
    last trial failed copies a top member as a bottom one does.

    The paper's two PBT baselines are this sampler with the default space (the 8 TaylorGLO
    parameters in [-10, 10], initialised uniformly in [-1, 1], "around zero") and with
    ``space=sgd_space()`` (SGD's learning rate and momentum; the objective trains with
    cross-entropy). The rates the paper leaves open are Ray Tune's ``PopulationBasedTraining``
    defaults (``quantile_fraction=0.25``, ``resample_probability=0.25``,
    ``perturbation_factors=(1.2, 0.8)``), the library of the PBT work the baseline was
    configured after (Ho et al., 2019).

    A study of G generations has ``G * population_size`` trials (:meth:`n_trials`). Workers,
    waiting, re-runs and parameters work as in :class:`EPBTSampler`.

    Args:
        population_size: Members (EPBT section 4.1: 40).
        truncation_fraction: Size of the top and bottom quantiles (0.25).
        perturbation_factors: The factors of a perturbation, drawn uniformly ((1.2, 0.8)).
        resample_prob: Per-variable probability of a random reset over the bounds (0.25).
        space: The hyperparameters; default the TaylorGLO parameters, initialised around zero.
        independent_sampler: Samples every other parameter; default ``RandomSampler(seed)``.
        seed: Seed of the run. With ``None`` a seed is drawn once per study and kept in it.
        poll_interval: Seconds between looks at the storage while a trial waits.
    """

    def __init__(
        self,
        *,
        population_size: int = 40,  # EPBT 4.1: "population size of 40"
        truncation_fraction: float = 0.25,  # EPBT 4.1: "top 25% ... bottom 25%"
        perturbation_factors: Sequence[float] = (1.2, 0.8),  # EPBT 4.1: "magnitude of 1.2"
        resample_prob: float = 0.25,
        space: SearchSpace | None = None,
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        check_int("population_size", population_size, 2)
        check_rate("truncation_fraction", truncation_fraction, upper=0.5)
        factors = tuple(perturbation_factors)
        if not factors or not all(
            isinstance(f, (int, float)) and not isinstance(f, bool) and 0.0 < f < float("inf")
            for f in factors
        ):
            raise ValueError(
                "`perturbation_factors` must be a non-empty sequence of finite numbers > 0. The "
                f"specified `perturbation_factors` is {perturbation_factors!r}."
            )
        check_rate("resample_prob", resample_prob)
        super().__init__(
            space=taylor_space(init=PBT_TAYLOR_INIT) if space is None else space,
            population_size=population_size,
            layout=Layout(first=population_size, later=population_size),
            independent_sampler=independent_sampler,
            seed=seed,
            poll_interval=poll_interval,
        )
        self._fraction = float(truncation_fraction)
        self._factors = tuple(float(f) for f in factors)
        self._resample_prob = float(resample_prob)

    def _settings(self) -> dict[str, Any]:
        return {
            "population_size": self._population_size,
            "truncation_fraction": self._fraction,
            "perturbation_factors": list(self._factors),
            "resample_prob": self._resample_prob,
            "seed": self._seed,
            "space": self._settings_of_space(),
        }

    def _survivors(self, population: list[Individual]) -> list[Individual]:
        """None: every member trains again in the next generation."""
        return []

    def _offspring(
        self, population: list[Individual], generation: int, rng: np.random.Generator
    ) -> list[Assignment]:
        """Exploit (truncation) and explore for every member of ``generation``."""
        fitness = np.array([i.fitness for i in population])
        values = np.stack([i.values for i in population])
        copies = truncation(rng, fitness, self._fraction)
        top = best(fitness, max(quantile_size(len(population), self._fraction), 1))
        index_of_slot = {ind.slot: j for j, ind in enumerate(population)}
        n = self._layout.later
        sources = np.empty(n, dtype=np.intp)
        exploit = np.zeros(n, dtype=bool)
        notes = []
        for slot in range(n):
            j = index_of_slot.get(slot)
            if j is None:
                sources[slot], exploit[slot] = top[rng.integers(len(top))], True
                notes.append("its last trial failed")
            elif j in copies:
                sources[slot], exploit[slot] = copies[j], True
                notes.append(f"trial {population[j].trial.number} was in the bottom quantile")
            else:
                sources[slot] = j
                notes.append("")
        explored = explore(
            rng, values[sources], self._space,
            factors=self._factors, resample_prob=self._resample_prob,
        )
        new_values = np.where(exploit[:, None], explored, values[sources])
        out = []
        for slot in range(n):
            source = population[sources[slot]]
            number = source.trial.number
            if exploit[slot]:
                origin = f"member {slot} copies trial {number} and explores ({notes[slot]})"
            else:
                origin = f"member {slot} continues from trial {number}"
            origin = f"generation {generation}: {origin}"
            out.append(Assignment(new_values[slot], number, source.lineage, origin))
        return out
