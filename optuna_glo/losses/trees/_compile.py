"""Compiling a loss tree to a torch loss, and the checks that spare a tree its training.

The tree is the pointwise ``f`` of ``L(x, y) = -(1/n) * sum_i f(x_i, y_i)`` (GLO III-A), so a
compiled tree is a :class:`~optuna_glo.losses.PointwiseLoss`: a drop-in for
``torch.nn.CrossEntropyLoss``. The domains are guarded like every other loss here: ``log`` through
:func:`~optuna_glo.losses.safe_log`, division through :func:`~optuna_glo.losses.safe_div`, and the
square root through :func:`safe_sqrt`, which clamps the same way.
"""

from __future__ import annotations

import torch

from optuna_glo.losses._base import EPS, PointwiseLoss, safe_div, safe_log
from optuna_glo.losses.trees._canonical import (
    canonical_key,
    canonical_polynomial,
    polynomial_to_tree,
    prediction_dependence,
    split_inert_terms,
)
from optuna_glo.losses.trees._grammar import parse
from optuna_glo.losses.trees._nodes import CONST, Node, format_tree, has_variable


def safe_sqrt(a: torch.Tensor) -> torch.Tensor:
    """``sqrt(a)`` with ``a`` clamped to ``[EPS, inf)``, like :func:`safe_log`.

    The clamp keeps the value real for a negative argument and the gradient finite at 0 (where
    the derivative of the square root is infinite).
    """
    return torch.sqrt(a.clamp_min(EPS))


def evaluate(tree: Node, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The tree's value elementwise, with ``x`` and ``y`` of one shape; broadcast to that shape."""
    out = _evaluate(tree, x, y)
    return out.expand_as(x) if out.shape != x.shape else out


def _evaluate(node: Node, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    op = node.op
    if op == "x":
        out = x
    elif op == "y":
        out = y
    elif op == CONST:
        out = torch.tensor(float(node.value), dtype=x.dtype, device=x.device)
    else:
        args = [_evaluate(child, x, y) for child in node.children]
        if op == "log":
            out = safe_log(args[0])
        elif op == "sqrt":
            out = safe_sqrt(args[0])
        elif op == "sq":
            out = torch.square(args[0])
        elif op == "+":
            out = args[0] + args[1]
        elif op == "-":
            out = args[0] - args[1]
        elif op == "*":
            out = args[0] * args[1]
        else:  # "/"
            out = safe_div(args[0], args[1])
    return out if node.coefficient == 1.0 else node.coefficient * out


class TreeLoss(PointwiseLoss):
    """A loss expression tree as a torch loss (GLO III-A): ``-(1/n) sum_i tree(x_i, y_i)``.

    Args:
        tree: The tree, or its text form (read by :func:`~optuna_glo.losses.trees.parse`).
        reduction: ``"mean"``, ``"sum"`` or ``"none"`` over the batch.

    Attributes:
        tree: The tree.
        text: Its text form, ``str(tree)``.
    """

    def __init__(self, tree: Node | str, *, reduction: str = "mean") -> None:
        super().__init__(reduction)
        self.tree = parse(tree) if isinstance(tree, str) else tree
        self.text = format_tree(self.tree)

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return evaluate(self.tree, x, y)

    def formula(self) -> str:
        return f"L(x, y) = -(1/n) * sum_i [{self.text}]"

    def extra_repr(self) -> str:
        return f"{self.text!r}, reduction={self.reduction!r}"


def untrainable_reason(tree: Node) -> str | None:
    """Why ``tree`` cannot train a network (it then gets fitness 0 untrained), or ``None``.

    GLO III-A gives fitness 0 to "trees that do not contain both at least one x and one y". A tree
    whose value does not depend on ``y`` cannot train either; this catches it three ways:

    * ``y`` cancels in the canonical form (``y - y``; see :func:`canonicalize`);
    * ``y`` enters only as ``c * y`` terms: the loss then adds ``-(c/n) sum_i y_i = -c/n``, a
      constant, because the softmax outputs sum to 1;
    * the loss has a zero gradient with respect to the logits on a random batch (``y`` only
      inside a saturated guard, as in ``log(-y)``).
    """
    if not has_variable(tree, "x") or not has_variable(tree, "y"):
        missing = [v for v in ("x", "y") if not has_variable(tree, v)]
        which = "neither an x nor a y" if len(missing) == 2 else f"no {missing[0]}"
        return f"the tree has {which} leaf (GLO III-A)"
    dependence = prediction_dependence(tree)
    if dependence == "none":
        return "the tree's value does not depend on y"
    if dependence == "linear":
        return "y enters only linearly, which the softmax makes a constant (sum_i y_i = 1)"
    if not _has_gradient(tree):
        return "the loss has a zero gradient with respect to the logits"
    return None


def fitness_key(tree: Node) -> str:
    """The fitness-cache key of ``tree``: the canonical form of its terms that reach the gradient.

    Terms that cannot change what a network learns (see
    :func:`~optuna_glo.losses.trees._canonical.split_inert_terms`: ``log(x)``, ``x``, ``3 * y``)
    are left out, so ``y * log(x) - log(x)`` and ``y * log(x) + x`` share a key: with the same
    seed they train the same network. They are kept when they overflow (an infinite loss stops a
    run), and then the key is the full :func:`canonical_key`.
    """
    try:
        active, inert = split_inert_terms(canonical_polynomial(tree))
        if inert:
            x = torch.tensor([[0.0, 1.0]], dtype=torch.float32)
            y = torch.tensor([[0.5, 0.5]], dtype=torch.float32)
            if not bool(torch.isfinite(evaluate(polynomial_to_tree(inert), x, y)).all()):
                return canonical_key(tree)
        return format_tree(polynomial_to_tree(active))
    except (ValueError, OverflowError):
        return canonical_key(tree)


def _has_gradient(tree: Node) -> bool:
    gen = torch.Generator().manual_seed(0)
    logits = (3.0 * torch.randn(32, 10, generator=gen, dtype=torch.float64)).requires_grad_()
    target = torch.randint(0, 10, (32,), generator=gen)
    loss = TreeLoss(tree)(logits, target)
    (grad,) = torch.autograd.grad(loss, logits, allow_unused=True)
    if grad is None:
        return False
    # A NaN/inf gradient is not "no gradient": such a loss diverges in training (fitness 0 there).
    return bool((grad != 0).any())
