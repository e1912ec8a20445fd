"""Named losses: the baseline and the losses the papers published."""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from optuna_glo.losses._base import (
    ClassificationLoss,
    PointwiseLoss,
    one_hot_targets,
    reduce_batch,
    safe_div,
    safe_log,
)
from optuna_glo.losses._taylor import TaylorGLOLoss


class CrossEntropy(ClassificationLoss):
    """The baseline: standard softmax cross-entropy, ``-sum_i x_i log y_i``, batch-averaged.

    Exactly what ``torch.nn.CrossEntropyLoss`` computes. The papers write cross-entropy as
    ``-(1/n) sum_i x_i log y_i``; that extra ``1/n`` only rescales the gradient, and with the
    tasks' plain SGD at lr 0.01 it trains ten times slower (docs/design.md, "The fair baseline"),
    which would flatter every evolved loss compared against it. So the baseline keeps the
    standard form.
    """

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = one_hot_targets(target, logits)
        # log_softmax is exact where softmax underflows: no clamp needed.
        per_sample = -(x * F.log_softmax(logits, dim=-1)).sum(dim=-1)
        return reduce_batch(per_sample, self.reduction)

    def formula(self) -> str:
        return "L(x, y) = -sum_i x_i * log(y_i)"


class Baikal(PointwiseLoss):
    """Baikal, GLO eq. (1): ``L = -(1/n) sum_i [log(y_i) - x_i / y_i]``.

    ``log`` and the division use ``y`` clamped to ``[EPS, 1]`` (see ``losses._base.EPS``).
    """

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        # Equation (1).
        return safe_log(y) - safe_div(x, y)

    def formula(self) -> str:
        return "L(x, y) = -(1/n) * sum_i [log(y_i) - x_i / y_i]"


#: BaikalCMA's coefficients, GLO eq. (2) and the text below it.
BAIKAL_CMA_COEFFICIENTS = (2.7279, 0.9863, 1.5352, -1.1135, 1.3716, -0.8411)


class BaikalCMA(PointwiseLoss):
    """BaikalCMA, GLO eq. (2): ``L = -(1/n) sum_i c0 [c1 log(c2 y_i) - c3 (c4 x_i) / (c5 y_i)]``.

    With the coefficients ``c0..c5`` found by CMA-ES (GLO section IV-B). Guarded like Baikal.
    """

    def __init__(
        self,
        coefficients: tuple[float, float, float, float, float, float] = BAIKAL_CMA_COEFFICIENTS,
        *,
        reduction: str = "mean",
    ) -> None:
        super().__init__(reduction)
        self.coefficients = tuple(float(c) for c in coefficients)

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        c0, c1, c2, c3, c4, c5 = self.coefficients
        # Equation (2).
        return c0 * (c1 * safe_log(c2 * y) - c3 * safe_div(c4 * x, c5 * y))

    def formula(self) -> str:
        c0, c1, c2, c3, c4, c5 = self.coefficients
        return (
            f"L(x, y) = -(1/n) * sum_i {c0:g} * [{c1:g} * log({c2:g} * y_i) "
            f"- ({c3:g}) * ({c4:g} * x_i) / ({c5:g} * y_i)]"
        )


#: The best MNIST loss of TaylorGLO, appendix C (found in generation 74, rounded to 4 places),
#: in the order of eq. 5: centre (theta_0, theta_1), then the six coefficients.
TAYLORGLO_MNIST_THETA = (11.9039, -4.0240, 6.9796, 8.5834, -1.6677, 11.6064, 12.6684, -3.4674)


def taylorglo_mnist(*, reduction: str = "mean") -> TaylorGLOLoss:
    """TaylorGLO's best MNIST loss (TaylorGLO appendix C), third order, in the ``"code"`` form.

    The authors found this theta with their released code, whose loss has no ``1/alpha!`` and no
    ``1/n`` (``losses._taylor``), so that is the loss the paper trained and reported; read in
    eq. 5's printed form the same numbers give another loss (about 1/20 of the gradient).
    """
    return TaylorGLOLoss(TAYLORGLO_MNIST_THETA, reduction=reduction, form="code")


NAMED_LOSSES: dict[str, Callable[..., ClassificationLoss]] = {
    "cross_entropy": CrossEntropy,
    "baikal": Baikal,
    "baikal_cma": BaikalCMA,
    "taylorglo_mnist": taylorglo_mnist,
}


def get_loss(name: str, *, reduction: str = "mean") -> ClassificationLoss:
    """Build a named loss: one of ``NAMED_LOSSES``."""
    try:
        factory = NAMED_LOSSES[name]
    except KeyError:
        raise ValueError(
            f"Unknown loss {name!r}. Known losses: {', '.join(sorted(NAMED_LOSSES))}."
        ) from None
    return factory(reduction=reduction)
