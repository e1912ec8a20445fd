"""Per-member losses of a model stack: ``k`` losses on the stacked logits ``[k, B, C]``."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from optuna_glo.losses import TaylorGLOLoss

#: ``k`` loss modules, or a ``[k, P]`` tensor (or nested sequence) of TaylorGLO parameters.
LossesOrThetas = torch.Tensor | Sequence[nn.Module] | Sequence[Sequence[float]]


def as_losses(losses_or_thetas: LossesOrThetas) -> list[nn.Module]:
    """One loss module per member: TaylorGLO thetas ``[k, P]`` become :class:`TaylorGLOLoss` rows.

    Args:
        losses_or_thetas: A ``[k, P]`` tensor (or nested sequence) of TaylorGLO parameters, or a
            sequence of ``k`` loss modules called as ``loss(logits, target)``.
    """
    if isinstance(losses_or_thetas, torch.Tensor):
        if losses_or_thetas.dim() != 2:
            raise ValueError(
                "A TaylorGLO `losses_or_thetas` tensor must have shape [k, P]. The given tensor "
                f"has shape {tuple(losses_or_thetas.shape)}."
            )
        return [TaylorGLOLoss(row) for row in losses_or_thetas]
    items = list(losses_or_thetas)
    if all(isinstance(item, nn.Module) for item in items):
        return list(items)  # type: ignore[arg-type]
    if any(isinstance(item, nn.Module) for item in items):
        raise ValueError("`losses_or_thetas` mixes loss modules and theta vectors; give one kind.")
    return [TaylorGLOLoss(torch.as_tensor(row, dtype=torch.float32)) for row in items]


class StackLoss(nn.Module):
    """``k`` losses applied to stacked logits ``[k, B, C]``, giving ``[k]`` losses.

    TaylorGLO losses of one order are evaluated together as one ``[m, P]`` theta in one call
    (``TaylorGLOLoss`` takes a theta per member); any other loss runs on its own slice.

    Args:
        losses: One loss module per member.
    """

    _inverse: torch.Tensor

    def __init__(self, losses: Sequence[nn.Module]) -> None:
        super().__init__()
        if not losses:
            raise ValueError("`losses` must not be empty.")
        self.members = nn.ModuleList(losses)
        groups: dict[tuple[int, str, str], list[int]] = {}
        singles: list[int] = []
        for i, loss in enumerate(losses):
            if isinstance(loss, TaylorGLOLoss) and loss.theta.dim() == 1:
                groups.setdefault((loss.order, loss.reduction, loss.form), []).append(i)
            else:
                singles.append(i)
        self._groups: list[tuple[list[int], TaylorGLOLoss]] = []
        self.stacked = nn.ModuleList()
        for (_, reduction, form), idx in groups.items():  # each member keeps its own form
            theta = torch.stack([losses[i].theta for i in idx])  # type: ignore[misc]
            stacked = TaylorGLOLoss(theta, reduction=reduction, form=form)
            self.stacked.append(stacked)
            self._groups.append((idx, stacked))
        self._singles = singles
        order = [i for idx, _ in self._groups for i in idx] + singles
        self._identity = order == list(range(len(losses)))
        self.register_buffer("_inverse", torch.argsort(torch.tensor(order)), persistent=False)

    def __len__(self) -> int:
        return len(self.members)

    def subset(self, keep: Sequence[int]) -> StackLoss:
        """The losses of the members ``keep`` (in that order)."""
        return StackLoss([self.members[i] for i in keep]).to(self._inverse.device)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] != len(self):
            raise ValueError(
                f"Stacked logits have {logits.shape[0]} members; the loss has {len(self)}."
            )
        parts: list[torch.Tensor] = []
        for idx, stacked in self._groups:
            sub = logits if len(idx) == len(self) else logits[idx]
            parts.append(stacked(sub, target.expand(len(idx), *target.shape)))
        for i in self._singles:
            parts.append(self.members[i](logits[i], target).reshape(1))
        out = parts[0] if len(parts) == 1 else torch.cat(parts)
        return out if self._identity else out[self._inverse]
