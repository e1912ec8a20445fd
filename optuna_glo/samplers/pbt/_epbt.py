"""EPBTSampler: Enhanced Population-Based Training of TaylorGLO losses (EPBT, Algorithm 1)."""

from __future__ import annotations

from typing import Any

import numpy as np
from optuna.samplers import BaseSampler

from optuna_glo.samplers._checks import check_int, check_population, check_rate
from optuna_glo.samplers.pbt._base import PopulationSampler
from optuna_glo.samplers.pbt._crossover import uniform_crossover
from optuna_glo.samplers.pbt._elitism import best
from optuna_glo.samplers.pbt._individual import Assignment, Individual
from optuna_glo.samplers.pbt._mutation import gaussian_mutation
from optuna_glo.samplers.pbt._space import SearchSpace, taylor_space
from optuna_glo.samplers.pbt._ticket import Layout
from optuna_glo.samplers.pbt._tournament import tournament


class EPBTSampler(PopulationSampler):
    """EPBT (Liang, Gonzalez, Shahrzad and Miikkulainen, "Regularized Evolutionary
    Population-Based Training"), section 3 and Algorithm 1, as an Optuna sampler.

    A trial is one segment of training of one individual. Generation 0 is the initial population
    M_0: ``population_size`` trials, each with every variable uniform over the space's init range
    (EPBT: [-10, 10]) and fresh weights; they are all trained one segment, so selection starts
    from measured fitness (EPBT section 4.4 counts "40 new loss functions during the first
    generation and an additional 20 loss functions every subsequent generation": 520 in 25
    generations). Every later generation g is made from population ``P_{g-1}``:

    1. Stage 1: ``p - k`` parents by tournament selection (``tournament_size`` 2) from all of it;
    2. Stage 2: each parent's values mutated (multiplicative Gaussian noise, occasional random
       re-initialisation), then uniform crossover among the mutated parents; the child inherits
       its parent's weights: the trial's parent (:func:`parent_of`) is the parent individual's
       latest trial, whose checkpoint the worker loads;
    3. Stage 3: the ``p - k`` children are the trials of generation g. The ``k`` fittest of
       ``P_{g-1}`` are carried over unchanged and are not trained again ("the best k performing
       individuals are preserved and combined with N^_g to form M_{g+1}"), so they get no new
       trial: ``P_g`` is their existing trials plus generation g's completed children
       (:meth:`population`), and their checkpoints stay parents while they survive
       (:meth:`individuals_alive`).

    So a study of G generations has ``p + (G - 1) * (p - k)`` trials (:meth:`n_trials`). (Section
    4.4 also speaks of "8,000 epochs", which is 40 individuals x 200 epochs, as if the elites
    were retrained too; Algorithm 1, line 3c, and Stage 3 carry them over unchanged, and this
    sampler follows those.)

    Slots are claimed through trial numbers (atomic in every storage), so any number of workers
    can run ``study.optimize`` on one study: a trial of generation g waits in ``study.ask`` until
    every slot of generation g - 1 has finished (EPBT is synchronous: selection needs the whole
    generation's fitness), recording its heartbeat and failing stale trials meanwhile when the
    storage has heartbeats. A worker that asks several trials at once must ask at most the open
    generation's slots, or it waits on itself. A re-run of a failed trial that copies its system
    attributes (``RetryFailedTrialCallback``, the optuna-glo worker's give-back) re-runs the
    same slot from the same parent. Failed and pruned trials are never individuals; a slot whose
    trial failed stays empty in its population. Any other parameter of the objective is sampled
    by ``independent_sampler``.

    The paper names no mutation rates. The defaults: ``mutation_sigma = 0.2``, so a typical step
    is the +/-20% of the PBT baseline EPBT was "configured similarly" to (section 4.1:
    "multiplicative perturbations of magnitude 1.2"); ``reinit_prob = 0.05`` per variable, the
    per-element mutation rate of GLO (section III-A) from the same group. Multiplicative noise
    cannot move a variable across zero (a step of -100% is a 5-sigma event), so
    re-initialisation is the only way to flip a sign: at 0.05 over 8 variables a third of the
    children (about 7 of 20 per generation) carry a fresh variable, while two thirds keep their
    parent's shape.

    Args:
        population_size: ``p`` (EPBT section 4.1: 40).
        n_elites: ``k``, individuals carried over untrained (EPBT: ``p / 2`` = 20).
        tournament_size: ``t`` (EPBT: 2).
        mutation_sigma: Standard deviation of the multiplicative Gaussian noise.
        reinit_prob: Per-variable probability of random re-initialisation over the bounds.
        crossover_prob: Per-variable probability of taking the partner's value (EPBT: 0.5).
        space: The hyperparameters; default :func:`taylor_space` (8 parameters in [-10, 10],
            initialised uniformly over it).
        independent_sampler: Samples every other parameter; default ``RandomSampler(seed)``.
        seed: Seed of the run. With ``None`` a seed is drawn once per study and kept in it.
        poll_interval: Seconds between looks at the storage while a trial waits.
    """

    def __init__(
        self,
        *,
        population_size: int = 40,  # EPBT 4.1: "population size of 40"
        n_elites: int = 20,  # EPBT 4.1: "an elitism size of k = 20"
        tournament_size: int = 2,  # EPBT 3.2: "The value t = 2"
        mutation_sigma: float = 0.2,
        reinit_prob: float = 0.05,
        crossover_prob: float = 0.5,  # EPBT 3.2: "randomly swapped (50% probability)"
        space: SearchSpace | None = None,
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
        poll_interval: float = 1.0,
    ) -> None:
        check_population(population_size, n_elites)
        check_int("tournament_size", tournament_size, 1)
        check_rate("mutation_sigma", mutation_sigma, upper=None)
        check_rate("reinit_prob", reinit_prob)
        check_rate("crossover_prob", crossover_prob)
        super().__init__(
            space=taylor_space() if space is None else space,
            population_size=population_size,
            layout=Layout(first=population_size, later=population_size - n_elites),
            independent_sampler=independent_sampler,
            seed=seed,
            poll_interval=poll_interval,
        )
        self._n_elites = n_elites
        self._tournament_size = tournament_size
        self._mutation_sigma = float(mutation_sigma)
        self._reinit_prob = float(reinit_prob)
        self._crossover_prob = float(crossover_prob)

    def _settings(self) -> dict[str, Any]:
        return {
            "population_size": self._population_size,
            "n_elites": self._n_elites,
            "tournament_size": self._tournament_size,
            "mutation_sigma": self._mutation_sigma,
            "reinit_prob": self._reinit_prob,
            "crossover_prob": self._crossover_prob,
            "seed": self._seed,
            "space": self._settings_of_space(),
        }

    def _survivors(self, population: list[Individual]) -> list[Individual]:
        """EPBT section 3.2, Stage 3: the ``k`` fittest, carried over (ties: earlier trial)."""
        fitness = np.array([i.fitness for i in population])
        return [population[j] for j in best(fitness, self._n_elites)]

    def _offspring(
        self, population: list[Individual], generation: int, rng: np.random.Generator
    ) -> list[Assignment]:
        """EPBT Algorithm 1, lines 1 and 2a-2b: the ``p - k`` children of ``generation``."""
        fitness = np.array([i.fitness for i in population])
        values = np.stack([i.values for i in population])
        parents = tournament(rng, fitness, self._layout.later, size=self._tournament_size)
        mutated, reinit = gaussian_mutation(
            rng, values[parents], self._space,
            sigma=self._mutation_sigma, reinit_prob=self._reinit_prob,
        )
        children, partners = uniform_crossover(rng, mutated, prob=self._crossover_prob)
        out = []
        for i, j in enumerate(parents):
            parent = population[j]
            partner = population[parents[partners[i]]].trial.number
            n_reinit = int(reinit[i].sum())
            origin = (
                f"generation {generation}: child of trial {parent.trial.number} (tournament), "
                f"crossed with the mutated values of trial {partner}'s child"
                + (f"; {n_reinit} variable(s) re-initialised" if n_reinit else "")
            )
            out.append(Assignment(children[i], parent.trial.number, parent.lineage, origin))
        return out

