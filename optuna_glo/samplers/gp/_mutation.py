"""The four bottom-up mutations of GLO section III-A.

"The genetic algorithm has the following mutations, applied in a bottom-up fashion:

* integer scalar nodes are incremented or decremented with a 5% probability,
* nodes are replaced with a weighted-random node with the same number of children with a 5%
  probability,
* nodes (and their children) are deleted and replaced with a weighted-random leaf node with a
  5% * 50% = 2.5% probability,
* leaf nodes are deleted and replaced with a weighted-random element (and weighted-random leaf
  children if necessary) with a 5% * 50% = 2.5% probability."

Each node, children first, gets the four chances in that order; the last two are exclusive by
kind (the third applies to operators, the fourth to leaves).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from optuna_glo.losses.trees import (
    CONST,
    Node,
    choose_element,
    const,
    leaf,
    random_leaf,
    random_node_with_leaves,
)


@dataclass(frozen=True)
class MutationRates:
    """Per-node probabilities of the four mutations (defaults: GLO III-A).

    Attributes:
        integer: An integer leaf moves by +1 or -1.
        same_arity: A node becomes a weighted-random element with as many children.
        shrink: An operator node and its subtree become a weighted-random leaf.
        grow: A leaf becomes a weighted-random element with weighted-random leaf children.
    """

    integer: float = 0.05  # GLO III-A: "incremented or decremented with a 5% probability"
    same_arity: float = 0.05  # GLO III-A: "same number of children with a 5% probability"
    shrink: float = 0.025  # GLO III-A: "replaced with a weighted-random leaf ... 2.5%"
    grow: float = 0.025  # GLO III-A: "replaced with a weighted-random element ... 2.5%"

    def __post_init__(self) -> None:
        for name in ("integer", "same_arity", "shrink", "grow"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(
                    f"`{name}_mutation_prob` must be in [0, 1]. The specified value is {value}."
                )


def mutate(
    tree: Node,
    rng: np.random.Generator,
    *,
    rates: MutationRates,
    node_weights: Mapping[str, float],
) -> Node:
    """``tree`` after the bottom-up mutations (GLO III-A); coefficients of new nodes are 1."""
    children = tuple(
        mutate(child, rng, rates=rates, node_weights=node_weights) for child in tree.children
    )
    node = Node(tree.op, children, tree.value, tree.coefficient)
    if node.op == CONST and rng.random() < rates.integer:
        node = const(node.value + (1 if rng.random() < 0.5 else -1), node.coefficient)
    if rng.random() < rates.same_arity:
        node = _same_arity(node, rng, node_weights)
    if node.is_leaf:
        if rng.random() < rates.grow:
            node = random_node_with_leaves(rng, node_weights)
    elif rng.random() < rates.shrink:
        node = random_leaf(rng, node_weights)
    return node


def _same_arity(node: Node, rng: np.random.Generator, weights: Mapping[str, float]) -> Node:
    element = choose_element(rng, weights, arity=node.arity)
    if node.is_leaf:
        return leaf(element)
    return Node(element, node.children, 0, node.coefficient)
