"""The TaylorGLO authors' "invariant": a test that skips a candidate loss before training it.

It is not in the paper; it is in the authors' released code (cognizant-ai-labs/TaylorGLO,
``LossferatuRunner/Sources/LossferatuCore/Actions/Generation Starters/
TaylorGLOGenerationStarter.swift``, "Verify loss-function invariant"). A third-order candidate
that violates it gets fitness 0 (``VIOLATED_INVARIANT_FITNESS_VALUE``) and is never trained. It
is on by default there (``ignoreInvariantCheck`` unset) and in their MNIST runs
(``experiments/gloTaylor/MNIST.json``); most of their CIFAR-10/100 runs turn it off.

With ``g = df/dy`` (the derivative of the loss's ``f`` in the prediction) at the uniform prediction
``y = 1/n`` of ``n`` classes, the code's closed form (its ``leftSide < rightSide``) is::

    violated  <=>  g(x=1, y=1/n) < (n - 1) * g(x=0, y=1/n)

i.e. starting from the uniform prediction, raising the true class's prediction and lowering each
of the other ``n - 1`` by the same amount would raise the loss ``-sum_i f``. The condition is on
``f`` itself, so it is the same in both forms (``code(theta)`` and ``eq5(alpha! * theta)`` have
the same ``f``); the authors' closed form covers order 3, and the same inequality is checked here
at any order. A CMA-ES first generation around theta = 0 (sigma 1.2) violates it about half the
time, so on a search's early generations it saves about half the trainings.
"""

from __future__ import annotations

from optuna_glo.losses._taylor import TaylorGLOLoss, taylor_terms, term_factorials


def _dfdy(loss: TaylorGLOLoss, x: float, y: float) -> float:
    """``df/dy`` of a single TaylorGLO loss at ``(x, y)``, in double precision."""
    theta = [float(v) for v in loss.theta.tolist()]
    t0, t1 = theta[0], theta[1]
    total = 0.0
    for coeff, (a, b), divisor in zip(
        theta[2:], taylor_terms(loss.order), term_factorials(loss.order), strict=True
    ):
        c = coeff / divisor if loss.form == "eq5" else coeff
        total += c * b * (x - t0) ** a * (y - t1) ** (b - 1)
    return total


def invariant_margin(loss: TaylorGLOLoss, n_classes: int) -> float:
    """``g(1, 1/n) - (n - 1) g(0, 1/n)``: the invariant holds where this is ``>= 0``.

    For order 3 in the ``"code"`` form this is exactly the authors' ``leftSide - rightSide``.

    Args:
        loss: One TaylorGLO loss (a ``[P]`` theta, not a population).
        n_classes: The task's number of classes ``n`` (at least 2).
    """
    if loss.theta.dim() != 1:
        raise ValueError(
            "The invariant is checked one candidate at a time: `loss` must have a [P] theta. "
            f"The given `loss` has theta of shape {tuple(loss.theta.shape)}."
        )
    if n_classes < 2:
        raise ValueError(
            f"`n_classes` must be at least 2. The specified `n_classes` is {n_classes}."
        )
    uniform = 1.0 / n_classes
    return _dfdy(loss, 1.0, uniform) - (n_classes - 1) * _dfdy(loss, 0.0, uniform)


def invariant_violation(loss: TaylorGLOLoss, n_classes: int) -> str | None:
    """Why ``loss`` fails the authors' invariant on ``n_classes`` classes; ``None`` if it holds."""
    margin = invariant_margin(loss, n_classes)
    if margin >= 0.0:
        return None
    return (
        f"violates the TaylorGLO authors' invariant on {n_classes} classes: at y = 1/n, "
        f"df/dy(x=1) - (n-1) df/dy(x=0) = {margin:.4g} < 0 (moving the prediction towards the "
        "label raises the loss)"
    )
