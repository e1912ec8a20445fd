"""A model stack's loss computes each TaylorGLO member's loss in its own form."""

from __future__ import annotations

import torch

from optuna_glo.losses import TAYLORGLO_MNIST_THETA, TaylorGLOLoss
from optuna_glo.objectives.stack import StackLoss

THETA = torch.tensor(TAYLORGLO_MNIST_THETA)


def _together_and_one_by_one(form: str) -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(0)
    losses = [TaylorGLOLoss(THETA, form=form), TaylorGLOLoss(THETA * 0.5, form=form)]
    logits = torch.randn(len(losses), 16, 10)
    target = torch.randint(0, 10, (16,))
    together = StackLoss(losses)(logits, target)
    return together, torch.stack([loss(logits[i], target) for i, loss in enumerate(losses)])


def test_code_form_population_is_each_members_loss() -> None:
    torch.testing.assert_close(*_together_and_one_by_one("code"))


def test_eq5_form_population_is_each_members_loss() -> None:
    torch.testing.assert_close(*_together_and_one_by_one("eq5"))


def test_mixed_forms_in_one_stack_keep_their_own_form() -> None:
    torch.manual_seed(0)
    losses = [TaylorGLOLoss(THETA, form="code"), TaylorGLOLoss(THETA, form="eq5")]
    logits = torch.randn(2, 16, 10)
    target = torch.randint(0, 10, (16,))
    together = StackLoss(losses)(logits, target)
    torch.testing.assert_close(together, torch.stack([losses[0](logits[0], target),
                                                      losses[1](logits[1], target)]))
