"""The free coefficients of a tree, for the coefficient phase (GLO section III-B).

"Loss functions found by the above genetic algorithm can all be thought of having unit
coefficients for each node in the tree ... The number of coefficients can be reduced by pruning
away coefficients that can be absorbed by others (e.g., 3(5x + 2y) = 15x + 6y)."

A node's coefficient multiplies its output. It is pruned (kept at 1) when a scale factor on that
output is carried by other coefficients anyway. Walking down from the root with a flag *absorbed*
(an ancestor's coefficient already sets this subtree's overall scale):

* ``+`` and ``-``: the node's own coefficient is pruned (it distributes into the children's). If the
  sum is absorbed, only the ratio of its terms matters: the left term is absorbed too.
* ``*``: one scale for the whole product: the node keeps its coefficient unless absorbed; both
  factors are absorbed (``c (a x)(b y) = (c a b) x y``).
* ``/``: as ``*`` for the numerator. The denominator is never absorbed: ``safe_div(a, k b)`` is not
  ``safe_div(a, b) / k`` where ``|b| < EPS`` (``b = x`` is 0 on most classes).
* ``sq``: the node keeps its coefficient unless absorbed; its operand is absorbed
  (``c (k a)^2 = (c k^2) a^2``).
* ``log``, ``sqrt`` and leaves keep their coefficient unless absorbed; inside ``log``/``sqrt``
  the scale is a real parameter (``log(k y) = log k + log y``), so the operand is not absorbed.

Only the root is never absorbed: the overall scale of a loss acts as a learning rate.

Terms that cannot change training get no coefficients at all: a term of the root's sum that has
no ``y`` leaf is a constant for the network, and a bare ``y`` term adds ``-(c/n) sum_i y_i``, a
constant after the softmax (see ``fitness_key``).
"""

from __future__ import annotations

from collections.abc import Sequence

from optuna_glo.losses.trees._nodes import Node, Path, has_variable, reset_coefficients


def free_coefficient_paths(tree: Node) -> list[Path]:
    """Paths of the nodes whose coefficients the coefficient phase tunes, in pre-order."""
    out: list[Path] = []
    _walk(tree, (), False, out, additive=True)
    return out


def _inert(node: Node) -> bool:
    """A term of the loss's top-level sum that cannot change training."""
    return node.op == "y" or not has_variable(node, "y")


def _walk(node: Node, path: Path, absorbed: bool, out: list[Path], additive: bool = False) -> None:
    op = node.op
    if op in ("+", "-"):
        # `additive`: this sum is a sum of terms of the loss itself (a chain of + and - from the
        # root), where a term that cannot change training needs no coefficient.
        kept = [i for i, child in enumerate(node.children) if not (additive and _inert(child))]
        for k, i in enumerate(kept):  # only the first kept term shares an absorbed scale
            _walk(node.children[i], (*path, i), absorbed and k == 0, out, additive=additive)
        return
    if not absorbed:
        out.append(path)
    if op == "*":
        _walk(node.children[0], (*path, 0), True, out)
        _walk(node.children[1], (*path, 1), True, out)
    elif op == "/":
        _walk(node.children[0], (*path, 0), True, out)
        _walk(node.children[1], (*path, 1), False, out)
    elif op == "sq":
        _walk(node.children[0], (*path, 0), True, out)
    elif op in ("log", "sqrt"):
        _walk(node.children[0], (*path, 0), False, out)


def with_coefficients(tree: Node, coefficients: Sequence[float]) -> Node:
    """The discovered (all-ones) form of ``tree`` with its free coefficients set, in order.

    Every other coefficient is 1, so ``with_coefficients(t, [1.0] * n)`` computes the same
    function as the discovered tree.
    """
    paths = free_coefficient_paths(tree)
    if len(coefficients) != len(paths):
        raise ValueError(
            f"`coefficients` must have one value per free coefficient ({len(paths)} for "
            f"{tree}). The specified `coefficients` has {len(coefficients)}."
        )
    values = dict(zip(paths, (float(c) for c in coefficients), strict=True))
    return _set(reset_coefficients(tree), (), values)


def _set(node: Node, path: Path, values: dict[Path, float]) -> Node:
    children = tuple(_set(c, (*path, i), values) for i, c in enumerate(node.children))
    return Node(node.op, children, node.value, values.get(path, 1.0))
