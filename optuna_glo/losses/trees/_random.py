"""Weighted-random nodes and trees (GLO section III-A, "initial population").

"Recursively starting from the root, nodes are randomly chosen from the allowable operator and
leaf nodes using a weighting (where log(.), x, y are three times as likely and sqrt(.) is two times
as likely as +, *, -, /, 1, -1)." The paper names no weight for the square; it gets 1.

Every function takes an explicit :class:`numpy.random.Generator`.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from optuna_glo.losses.trees._nodes import ARITY, BINARY_OPS, UNARY_OPS, Node, leaf

#: GLO III-A node weights. Keys are the *elements* of the search space: operators, ``x``, ``y``,
#: and the constants ``1`` and ``-1``.
DEFAULT_NODE_WEIGHTS: Mapping[str, float] = {
    "log": 3.0, "x": 3.0, "y": 3.0,  # "three times as likely"
    "sqrt": 2.0,  # "two times as likely"
    "+": 1.0, "*": 1.0, "-": 1.0, "/": 1.0, "1": 1.0, "-1": 1.0,
    "sq": 1.0,  # not named in the paper
}

_LEAF_ELEMENTS = ("x", "y", "1", "-1")


def element_arity(element: str) -> int:
    """Number of children of an element (``"1"`` and ``"-1"`` are leaves)."""
    return 0 if element in _LEAF_ELEMENTS else ARITY[element]


def check_node_weights(node_weights: Mapping[str, float]) -> dict[str, float]:
    """Validate a weight table: known elements, finite non-negative weights, some leaf > 0."""
    known = (*UNARY_OPS, *BINARY_OPS, *_LEAF_ELEMENTS)
    unknown = sorted(set(node_weights) - set(known))
    if unknown:
        raise ValueError(
            f"`node_weights` has unknown element(s) {unknown}. Known elements: {list(known)}."
        )
    weights = {e: float(node_weights.get(e, 0.0)) for e in known}
    bad = {e: w for e, w in weights.items() if not (np.isfinite(w) and w >= 0.0)}
    if bad:
        raise ValueError(f"`node_weights` must be finite and >= 0. The specified ones are {bad}.")
    if sum(weights[e] for e in _LEAF_ELEMENTS) <= 0.0:
        raise ValueError(
            f"`node_weights` must give a leaf (x, y, 1, -1) a positive weight. The specified "
            f"`node_weights` is {dict(node_weights)}."
        )
    return weights


def choose_element(
    rng: np.random.Generator, weights: Mapping[str, float], arity: int | None = None
) -> str:
    """A weighted-random element, optionally only among those with ``arity`` children."""
    names = [
        e for e, w in weights.items() if w > 0 and (arity is None or element_arity(e) == arity)
    ]
    if not names:
        raise ValueError(f"No element with arity {arity} has a positive weight in {weights}.")
    p = np.array([weights[e] for e in names], dtype=float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def random_leaf(rng: np.random.Generator, weights: Mapping[str, float]) -> Node:
    """A weighted-random leaf: ``x``, ``y``, ``1`` or ``-1``."""
    return leaf(choose_element(rng, weights, arity=0))


def random_tree(
    rng: np.random.Generator,
    *,
    max_depth: int = 2,
    node_weights: Mapping[str, float] = DEFAULT_NODE_WEIGHTS,
) -> Node:
    """A random tree of depth at most ``max_depth`` (GLO III-A's initial trees: depth 2).

    From the root down, each node is a weighted-random element; at ``max_depth`` only leaves may
    be chosen.
    """
    if max_depth < 0:
        raise ValueError(f"`max_depth` must be >= 0. The specified `max_depth` is {max_depth}.")
    weights = check_node_weights(node_weights)
    return _grow(rng, weights, max_depth)


def _grow(rng: np.random.Generator, weights: Mapping[str, float], remaining: int) -> Node:
    element = choose_element(rng, weights, arity=0 if remaining == 0 else None)
    arity = element_arity(element)
    if arity == 0:
        return leaf(element)
    children = tuple(_grow(rng, weights, remaining - 1) for _ in range(arity))
    return Node(element, children)


def random_node_with_leaves(rng: np.random.Generator, weights: Mapping[str, float]) -> Node:
    """A weighted-random element with weighted-random leaf children (the grow mutation)."""
    return _grow(rng, weights, 1)
