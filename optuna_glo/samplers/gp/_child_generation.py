"""Making the tree of one slot of a generation (GLO section III-A).

A generation of ``population_size`` slots is a pure function of the parent population and the
seed, so every worker that asks for a slot gets the same tree: slots ``0 .. n_elites - 1`` carry
the elites unchanged, and the remaining slots come in pairs, one pair per recombination, because
"both resultant trees become part of the next generation". Generation 0 is random trees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from optuna_glo.losses.trees import Node, depth, parse, random_tree
from optuna_glo.samplers.gp._attrs import CANONICAL_KEY, TREE_KEY
from optuna_glo.samplers.gp._crossover import subtree_crossover
from optuna_glo.samplers.gp._mutation import MutationRates, mutate
from optuna_glo.samplers.gp._selection import roulette, roulette_weights, select_elites


def slot_rng(seed: int, generation: int, index: int) -> np.random.Generator:
    """The generator of one slot (generation 0) or one child pair (later generations)."""
    return np.random.default_rng([seed, generation, index])


@dataclass(frozen=True)
class GPChildGenerationStrategy:
    """The settings of one GP generation step; call it to get one slot's tree.

    Attributes:
        n_elites: Best distinct trees carried over unchanged.
        crossover_prob: Probability that a pair of parents is recombined (else copied).
        rates: The four mutation rates.
        node_weights: Element weights for random trees and mutations.
        init_max_depth: Depth limit of the random trees of generation 0.
        max_depth: Depth limit of a child; a deeper child is replaced by its parent.
    """

    n_elites: int
    crossover_prob: float
    rates: MutationRates
    node_weights: Mapping[str, float]
    init_max_depth: int
    max_depth: int

    def initial(self, seed: int, slot: int) -> tuple[Node, str]:
        """The random tree of a generation-0 slot."""
        rng = slot_rng(seed, 0, slot)
        tree = random_tree(rng, max_depth=self.init_max_depth, node_weights=self.node_weights)
        return tree, "random"

    def __call__(
        self,
        parents: Sequence[FrozenTrial],
        direction: StudyDirection,
        *,
        seed: int,
        generation: int,
        slot: int,
    ) -> tuple[Node, str]:
        """The tree of ``slot`` in ``generation`` (>= 1) and a note of where it came from.

        Args:
            parents: The completed trials of the previous generation (each with a tree).
            direction: The study direction (GLO maximizes validation accuracy).
            seed: The study's GP seed.
            generation: The generation being filled.
            slot: The slot in it.
        """
        keys = {t.number: t.system_attrs[CANONICAL_KEY] for t in parents}
        elites = select_elites(parents, self.n_elites, direction, keys)
        if slot < len(elites):
            elite = elites[slot]
            return parse(elite.system_attrs[TREE_KEY]), f"elite (trial {elite.number})"
        pair, which = divmod(slot - len(elites), 2)
        rng = slot_rng(seed, generation, pair)
        weights = roulette_weights([t.values[0] for t in parents], direction)
        i, j = roulette(rng, weights, 2)
        mother, father = (parse(parents[k].system_attrs[TREE_KEY]) for k in (i, j))
        numbers = f"trials {parents[i].number} and {parents[j].number}"
        if rng.random() < self.crossover_prob:
            children = subtree_crossover(mother, father, rng)
            origin = f"crossover of {numbers}"
        else:
            children = (mother, father)
            origin = ""
        mutated = [
            mutate(child, rng, rates=self.rates, node_weights=self.node_weights)
            for child in children
        ]
        child, parent = mutated[which], (mother, father)[which]
        number = parents[(i, j)[which]].number
        if depth(child) > self.max_depth:  # Koza's depth limit: keep the parent instead
            return parent, f"copy of trial {number}"
        if not origin:
            origin = f"copy of trial {number}" if child == parent else f"mutation of trial {number}"
        return child, origin
