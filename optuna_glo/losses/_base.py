"""The shared form of every loss in the project.

All losses here are drop-in replacements for :class:`torch.nn.CrossEntropyLoss`: they are called
as ``loss(logits, target)`` with class-index targets (or one-hot / probability targets of the
logits' shape) and reduce over the batch like it does.

Inside, they use the papers' notation (GLO section III-A; TaylorGLO section 3): ``x`` is the
one-hot true label, ``y = softmax(logits)`` the predicted distribution, ``n`` the number of
classes, and the loss of one sample is::

    L(x, y) = -(1/n) * sum_i f(x_i, y_i)

A subclass supplies ``f`` through :meth:`PointwiseLoss.pointwise`.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

#: Smallest prediction used where ``f`` takes ``log(y)`` or divides by ``y``. A float32 softmax
#: underflows to exactly 0 for a confidently wrong class, and ``log(0)`` or ``1/0`` would turn one
#: sample into an inf/NaN for the whole batch. Clamping ``y`` to ``[EPS, 1]`` (the same epsilon
#: Keras uses for its cross-entropy) keeps every value finite; the clamp only acts where
#: ``y < 1e-7``, where ``log`` is already below -16.
EPS = 1e-7

_REDUCTIONS = ("mean", "sum", "none")


def safe_log(y: torch.Tensor) -> torch.Tensor:
    """``log(y)`` with ``y`` clamped to ``[EPS, inf)`` (see :data:`EPS`)."""
    return torch.log(y.clamp_min(EPS))


def safe_div(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a / b`` with ``|b|`` kept at least :data:`EPS`, with the sign of ``b`` (0 counts as +)."""
    sign = torch.where(b < 0, -1.0, 1.0).to(b.dtype)
    return a / (sign * b.abs().clamp_min(EPS))


def one_hot_targets(target: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    """Return ``x``: class indices become one-hot rows; probability targets pass through."""
    if target.dtype in (torch.int64, torch.int32, torch.int16, torch.uint8):
        n_classes = logits.shape[-1]
        if target.shape != logits.shape[:-1]:
            raise ValueError(
                f"Class-index `target` must have shape {tuple(logits.shape[:-1])} for logits of "
                f"shape {tuple(logits.shape)}. The given `target` has shape {tuple(target.shape)}."
            )
        return F.one_hot(target.long(), n_classes).to(logits.dtype)
    if target.shape != logits.shape:
        raise ValueError(
            f"One-hot `target` must have the logits' shape {tuple(logits.shape)}. "
            f"The given `target` has shape {tuple(target.shape)}."
        )
    return target.to(logits.dtype)


def reduce_batch(per_sample: torch.Tensor, reduction: str) -> torch.Tensor:
    """Reduce the last (batch) dimension like ``nn.CrossEntropyLoss(reduction=...)``."""
    if reduction == "mean":
        return per_sample.mean(dim=-1)
    if reduction == "sum":
        return per_sample.sum(dim=-1)
    return per_sample


class ClassificationLoss(nn.Module):
    """Base class: checks ``reduction`` and holds the batch-reduction convention.

    Logits may carry leading dimensions before the batch (``[..., B, C]``), as they do when a
    population of models is trained at once; the reduction is over the batch dimension ``B``
    only, so a population's logits ``[M, B, C]`` give ``M`` losses.
    """

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        if reduction not in _REDUCTIONS:
            raise ValueError(
                f"`reduction` must be one of {_REDUCTIONS}. The specified `reduction` is "
                f"{reduction!r}."
            )
        self.reduction = reduction

    def formula(self) -> str:
        """A readable formula of the loss, for logs, the CLI and optuna-dashboard."""
        return type(self).__name__

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class PointwiseLoss(ClassificationLoss):
    """``L(x, y) = -(1/n) * sum_i f(x_i, y_i)``, averaged over the batch (GLO III-A)."""

    def pointwise(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``f(x_i, y_i)`` elementwise, for ``x`` and ``y`` of shape ``[..., B, C]``."""
        raise NotImplementedError

    def combine_classes(self, f: torch.Tensor) -> torch.Tensor:
        """``(1/n) * sum_i f_i``: the mean over the ``n`` classes (the last dimension)."""
        return f.mean(dim=-1)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        x = one_hot_targets(target, logits)
        y = torch.softmax(logits, dim=-1)
        per_sample = -self.combine_classes(self.pointwise(x, y))
        return reduce_batch(per_sample, self.reduction)
