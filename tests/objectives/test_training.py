"""Partial training: accuracy, divergence, reproducibility, TaylorGLO's abort-and-retry rule."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from optuna_glo.losses import CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import (
    AbortRule,
    Recipe,
    Task,
    count_parameters,
    get_task,
    load_dataset,
    train,
)


class NaNAfter(nn.Module):
    """Cross-entropy that turns NaN from step `step` on: a stand-in for a diverging loss."""

    def __init__(self, step: int) -> None:
        super().__init__()
        self.step, self.calls = step, 0

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        loss = nn.functional.cross_entropy(logits, target)
        return loss * float("nan") if self.calls >= self.step else loss


def test_digits_mlp_beats_chance_by_a_wide_margin() -> None:
    result = train(get_task("digits-mlp"), CrossEntropy(), seed=0, evaluate_test=True)
    assert result.steps == 300 and not result.diverged
    assert result.val_accuracy > 0.9  # chance is 0.1
    assert result.test_accuracy is not None and result.test_accuracy > 0.9


def test_divergence_gives_value_zero_and_is_recorded() -> None:
    result = train(get_task("digits-mlp"), NaNAfter(step=5), seed=0)
    assert result.diverged and result.value == 0.0
    assert result.diverged_at_step == 5 and result.steps == 5


def test_real_divergence_ends_the_run_early_without_crashing() -> None:
    # A step size of 1e10 sends the weights, then the logits, to inf within a few steps.
    task = get_task("digits-mlp").with_recipe(lr=1e10)
    result = train(task, CrossEntropy(), steps=100)
    assert result.diverged and result.value == 0.0
    assert result.diverged_at_step is not None and result.diverged_at_step < 100


def test_taylorglo_losses_train_digits() -> None:
    # TaylorGLO's MNIST loss (appendix C) at the MNIST recipe's rate learns the digits too.
    loss = TaylorGLOLoss([11.9039, -4.0240, 6.9796, 8.5834, -1.6677, 11.6064, 12.6684, -3.4674])
    result = train(get_task("digits-mlp").with_recipe(lr=0.01), loss, steps=300)
    assert not result.diverged and result.val_accuracy > 0.5


def test_same_seed_same_result() -> None:
    task = get_task("digits-mlp")
    a = train(task, CrossEntropy(), steps=60, seed=3)
    b = train(task, CrossEntropy(), steps=60, seed=3)
    assert a.val_accuracy == b.val_accuracy


def test_the_seed_fixes_initial_weights_and_batches() -> None:
    task = get_task("digits-mlp")
    seen: list[torch.Tensor] = []

    class Spy(nn.Module):
        def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
            seen.append(logits.detach().clone())
            return nn.functional.cross_entropy(logits, target)

    train(task, Spy(), steps=3, seed=7)
    first = list(seen)
    seen.clear()
    train(task, Spy(), steps=3, seed=7)
    for x, y in zip(first, seen, strict=True):
        torch.testing.assert_close(x, y)
    seen.clear()
    train(task, Spy(), steps=3, seed=8)
    assert not torch.equal(first[0], seen[0])


def test_abort_and_retry_rule_retries_with_fresh_seeds() -> None:
    # Below 1.0 at step 20 on digits: every attempt is aborted, 1 + 2 retries (appendix A.5).
    rule = AbortRule(check_step=20, min_accuracy=1.0, max_retries=2)
    result = train(get_task("digits-mlp"), CrossEntropy(), steps=100, abort_rule=rule)
    assert result.aborted and result.attempts == 3 and result.steps == 20
    ok = train(get_task("digits-mlp"), CrossEntropy(), steps=100, abort_rule=AbortRule(20))
    assert not ok.aborted and ok.attempts == 1 and ok.steps == 100


def test_abort_rule_checks_its_arguments() -> None:
    with pytest.raises(ValueError, match="check_step"):
        AbortRule(check_step=0)
    with pytest.raises(ValueError, match="min_accuracy"):
        AbortRule(check_step=5, min_accuracy=2.0)


def test_learning_rate_schedule_and_recipe_checks() -> None:
    recipe = Recipe(lr=0.1, batch_size=8, partial_steps=10, full_steps=100, lr_milestones=(50, 75))
    assert [recipe.lr_at(s) for s in (0, 49, 50, 74, 75)] == pytest.approx(
        [0.1, 0.1, 0.01, 0.01, 0.001]
    )
    with pytest.raises(ValueError, match="`batch_size`"):
        Recipe(lr=0.1, batch_size=0, partial_steps=1, full_steps=1)


def test_training_curve_is_recorded() -> None:
    result = train(get_task("digits-mlp"), CrossEntropy(), steps=90, eval_every=30)
    assert [s for s, _ in result.curve] == [30, 60, 90]
    assert result.curve[-1][1] == result.val_accuracy


def test_basic_cnn_matches_the_papers_network() -> None:
    task = get_task("mnist-basic-cnn")
    model = task.model()
    # conv 5x5x32: 832, conv 5x5x64: 51,264, fc 3136->1024: 3,212,288, fc 1024->10: 10,250.
    assert count_parameters(model) == 3_274_634
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    assert any(isinstance(m, nn.Dropout) and m.p == 0.4 for m in model.modules())
    r = task.recipe
    assert (r.lr, r.batch_size, r.partial_steps, r.full_steps) == (0.01, 100, 2_000, 20_000)


@pytest.mark.slow
def test_mnist5k_cnn_learns_in_a_few_steps() -> None:
    task = get_task("mnist5k-basic-cnn").with_recipe(lr=0.1)
    result = train(task, CrossEntropy(), steps=60, seed=0)
    assert result.val_accuracy > 0.5


def test_custom_task_trains() -> None:
    data = load_dataset("digits")
    task = Task("tiny", "digits", lambda: nn.Linear(64, 10),
                Recipe(lr=0.5, batch_size=32, partial_steps=50, full_steps=100), "test")
    assert train(task, CrossEntropy(), data=data).val_accuracy > 0.5
