"""The binary-classification view of a loss (GLO section V-A, Fig. 6).

With n = 2 classes, ``x = [x0, 1 - x0]`` and ``y = [y0, 1 - y0]``, so a loss becomes a function of
``(x0, y0)``. The papers plot it at ``x0 = 1`` (the true class is class 0) against ``y0``: correct
predictions lie to the right. Cross-entropy decreases monotonically; Baikal has its minimum at
``y0 = 1/sqrt(2)`` and BaikalCMA near 0.77.
"""

from __future__ import annotations

import copy

import torch

from optuna_glo.losses._base import ClassificationLoss


def binary_view(loss: ClassificationLoss, y0: torch.Tensor) -> torch.Tensor:
    """The loss of one binary sample with ``x0 = 1`` and prediction ``y0`` (values in (0, 1)).

    Returns a tensor of the shape of ``y0`` (or ``[M, len(y0)]`` for a population loss).
    """
    y0 = torch.as_tensor(y0, dtype=torch.float64).flatten()
    if not ((y0 > 0) & (y0 < 1)).all():
        raise ValueError("`y0` must lie strictly between 0 and 1.")
    # Logits whose softmax is exactly [y0, 1 - y0].
    logits = torch.stack([torch.log(y0), torch.log1p(-y0)], dim=-1)
    target = torch.zeros(len(y0), dtype=torch.long)
    theta = getattr(loss, "theta", None)
    if isinstance(theta, torch.Tensor) and theta.dim() == 2:
        logits = logits.expand(theta.shape[0], -1, -1)
        target = target.expand(theta.shape[0], -1)
    per_sample = copy.deepcopy(loss).to(torch.float64)  # leave the caller's loss as it was
    per_sample.reduction = "none"
    with torch.no_grad():
        return per_sample(logits, target)
