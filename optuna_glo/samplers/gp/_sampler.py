"""GeneticProgrammingSampler: GLO's loss-discovery genetic algorithm as an Optuna sampler."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from optuna.samplers import BaseGASampler, BaseSampler, RandomSampler
from optuna.trial import FrozenTrial

from optuna_glo.losses import readable_formula
from optuna_glo.losses.trees import (
    DEFAULT_NODE_WEIGHTS,
    MAX_TREE_DEPTH,
    TreeLoss,
    check_node_weights,
    fitness_key,
    format_tree,
)
from optuna_glo.samplers._checks import check_int, check_population
from optuna_glo.samplers._delegating import DelegatingSampler, check_delegation_args
from optuna_glo.samplers._slots import claim_slot
from optuna_glo.samplers.gp._attrs import (
    CANONICAL_KEY,
    FORMULA_ATTR,
    ORIGIN_ATTR,
    ORIGIN_KEY,
    SEED_KEY,
    SLOT_KEY,
    TREE_ATTR,
    TREE_KEY,
)
from optuna_glo.samplers.gp._child_generation import GPChildGenerationStrategy
from optuna_glo.samplers.gp._mutation import MutationRates

if TYPE_CHECKING:
    from optuna.distributions import BaseDistribution
    from optuna.study import Study

#: A slot whose trial failed is handed out again, but a slot that failed this often is given up.
_MAX_SLOT_FAILURES = 2


class GeneticProgrammingSampler(DelegatingSampler, BaseGASampler):
    """Loss discovery by genetic programming over expression trees (GLO, section III-A).

    Each trial gets a candidate loss tree; the objective reads it with
    :func:`optuna_glo.suggest_loss_tree`, trains a network with it and returns the validation
    accuracy (the fitness; the study should maximize it). Generations are counted through the
    storage by :class:`optuna.samplers.BaseGASampler`, so any number of workers can share a study
    on SQLite or PostgreSQL.

    A generation has ``population_size`` slots. Generation 0 is random trees of depth at most
    ``init_max_depth``. Each later generation is made from the completed trials of the previous
    one (failed and pruned trials are never parents): slots ``0 .. n_elites - 1`` carry the best
    distinct trees unchanged, and the other slots are filled in pairs: two roulette-sampled
    parents, recombined by subtree swap with probability ``crossover_prob`` (both children join
    the generation), each child then mutated bottom-up. A slot whose trial failed is handed out
    again once.

    Every parameter of the objective other than the tree (a learning rate, a width, ...) is
    sampled by ``independent_sampler``, so a loss search and the user's own hyperparameters share
    one study.

    Reference: S. Gonzalez and R. Miikkulainen, "Improved Training Speed, Accuracy, and Data
    Utilization Through Loss Function Optimization", CEC 2020 (GLO).

    Args:
        population_size: Trials per generation (GLO III-A: 80).
        n_elites: Best distinct trees carried unchanged into the next generation (GLO: 6).
        crossover_prob: Probability of recombining a pair of parents (GLO: 0.8).
        integer_mutation_prob: Per integer leaf, probability of a +/-1 step (GLO: 0.05).
        same_arity_mutation_prob: Per node, probability of becoming a weighted-random element
            with the same number of children (GLO: 0.05).
        shrink_mutation_prob: Per operator node, probability of becoming a weighted-random leaf,
            its subtree deleted (GLO: 0.025).
        grow_mutation_prob: Per leaf, probability of becoming a weighted-random element with
            weighted-random leaf children (GLO: 0.025).
        init_max_depth: Depth limit of the random initial trees (GLO: 2).
        max_depth: Depth limit of children; a deeper child is replaced by its parent (Koza's
            limit of 17; GLO states none). At most ``MAX_TREE_DEPTH``.
        node_weights: Weights of the elements ``log, sq, sqrt, +, *, -, /, x, y, 1, -1`` in random
            trees and mutations (default :data:`~optuna_glo.losses.trees.DEFAULT_NODE_WEIGHTS`:
            GLO's log, x, y three times and sqrt twice as likely as the rest).
        independent_sampler: Samples every other parameter; default ``RandomSampler(seed)``.
        seed: Seed of the GP and (by default) of the independent sampler. With ``None`` a random
            seed is drawn once per study and kept in the storage, so all workers agree.
    """

    _single_objective_why = "GLO's fitness is one validation score"

    def __init__(
        self,
        *,
        population_size: int = 80,  # GLO III-A: "a population size of 80"
        n_elites: int = 6,  # GLO III-A: "elitism with 6 elites per generation"
        crossover_prob: float = 0.8,  # GLO III-A: "Recombination occurs with a probability of 80%"
        integer_mutation_prob: float = 0.05,  # GLO III-A mutation 1
        same_arity_mutation_prob: float = 0.05,  # GLO III-A mutation 2
        shrink_mutation_prob: float = 0.025,  # GLO III-A mutation 3: 5% * 50%
        grow_mutation_prob: float = 0.025,  # GLO III-A mutation 4: 5% * 50%
        init_max_depth: int = 2,  # GLO III-A: "randomly generated trees with a maximum depth of 2"
        max_depth: int = 17,
        node_weights: Mapping[str, float] | None = None,  # GLO III-A weighting
        independent_sampler: BaseSampler | None = None,
        seed: int | None = None,
    ) -> None:
        check_population(population_size, n_elites)
        if not 0.0 <= crossover_prob <= 1.0:
            raise ValueError(
                f"`crossover_prob` must be in [0, 1]. The specified `crossover_prob` is "
                f"{crossover_prob}."
            )
        rates = MutationRates(
            integer=integer_mutation_prob,
            same_arity=same_arity_mutation_prob,
            shrink=shrink_mutation_prob,
            grow=grow_mutation_prob,
        )
        check_int("init_max_depth", init_max_depth, 0)
        check_int("max_depth", max_depth, init_max_depth)
        if max_depth > MAX_TREE_DEPTH:
            raise ValueError(
                f"`max_depth` must be at most {MAX_TREE_DEPTH}. The specified `max_depth` is "
                f"{max_depth}."
            )
        weights = check_node_weights(
            DEFAULT_NODE_WEIGHTS if node_weights is None else node_weights
        )
        check_delegation_args(seed, independent_sampler)

        super().__init__(population_size=population_size)
        self._seed = seed
        self._independent_sampler = independent_sampler or RandomSampler(seed=seed)
        self._child_generation = GPChildGenerationStrategy(
            n_elites=n_elites,
            crossover_prob=crossover_prob,
            rates=rates,
            node_weights=weights,
            init_max_depth=init_max_depth,
            max_depth=max_depth,
        )

    # ------------------------------------------------------------------ the tree of each trial

    def before_trial(self, study: Study, trial: FrozenTrial) -> None:
        self._check_single_objective(study)
        if TREE_KEY in trial.system_attrs:
            # A retried trial (or one enqueued with a tree) keeps its tree.
            self._independent_sampler.before_trial(study, trial)
            return
        self._check_and_assign(study, trial, self.get_trial_generation(study, trial))

    def _check_and_assign(self, study: Study, trial: FrozenTrial, generation: int) -> None:
        """Give ``trial`` the tree of the lowest free slot of ``generation``.

        The slot is claimed in the storage (:func:`optuna_glo.samplers._slots.claim_slot`), so
        processes that call ``study.optimize`` on one study at once never share a slot.
        """
        self._check_single_objective(study)
        self._independent_sampler.before_trial(study, trial)
        slot = claim_slot(
            study, trial, generation_key=self._get_generation_key(), generation=generation,
            slot_key=SLOT_KEY, max_failures=_MAX_SLOT_FAILURES,
        )
        seed = self._study_seed(study)
        parents = self.get_parent_population(study, generation)
        if generation == 0 or not parents:
            tree, origin = self._child_generation.initial(seed, slot)
        else:
            tree, origin = self._child_generation(
                parents, study.direction, seed=seed, generation=generation, slot=slot
            )
        text = format_tree(tree)
        storage, trial_id = study._storage, trial._trial_id
        storage.set_trial_system_attr(trial_id, TREE_KEY, text)
        storage.set_trial_system_attr(trial_id, CANONICAL_KEY, fitness_key(tree))
        storage.set_trial_system_attr(trial_id, ORIGIN_KEY, origin)
        storage.set_trial_user_attr(trial_id, TREE_ATTR, text)
        storage.set_trial_user_attr(trial_id, FORMULA_ATTR, readable_formula(TreeLoss(tree)))
        storage.set_trial_user_attr(trial_id, ORIGIN_ATTR, f"generation {generation}: {origin}")

    def select_parent(self, study: Study, generation: int) -> list[FrozenTrial]:
        """The completed trials of the previous generation that carry a tree."""
        return [
            t for t in self.get_population(study, generation - 1) if TREE_KEY in t.system_attrs
        ]

    def _study_seed(self, study: Study) -> int:
        if self._seed is not None:
            return self._seed
        attrs = study._storage.get_study_system_attrs(study._study_id)
        if SEED_KEY not in attrs:
            seed = int(np.random.SeedSequence().generate_state(1, np.uint32)[0])
            study._storage.set_study_system_attr(study._study_id, SEED_KEY, seed)
            attrs = study._storage.get_study_system_attrs(study._study_id)
        return int(attrs[SEED_KEY])

    # -------------------------------------------------- every other parameter: the delegate

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._independent_sampler.infer_relative_search_space(study, trial)

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        return self._independent_sampler.sample_relative(study, trial, search_space)

