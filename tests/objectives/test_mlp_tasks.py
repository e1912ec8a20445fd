"""The CPU search tasks on real data: mnist5k-mlp and fashion-mnist-mlp."""

from __future__ import annotations

import pytest
import torch

from optuna_glo.losses import CrossEntropy
from optuna_glo.objectives import count_parameters, get_task, train


@pytest.mark.parametrize(("name", "lr"), [("mnist5k-mlp", 0.7), ("fashion-mnist-mlp", 0.28)])
def test_mlp_task_is_a_small_mlp_on_28x28_images(name: str, lr: float) -> None:
    task = get_task(name)
    model = task.model()
    assert count_parameters(model) == 784 * 64 + 64 + 64 * 10 + 10  # 50,890
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)
    r = task.recipe
    assert (r.optimizer, r.batch_size, r.partial_steps, r.full_steps) == ("sgd", 100, 300, 3_000)
    # Cross-entropy's best validation rate on a log grid (benchmarks/tune_lr.py, _tasks.py).
    assert r.lr == lr


@pytest.mark.slow
def test_mnist5k_mlp_learns_the_digits_at_its_rate() -> None:
    # benchmarks/README.md: 0.936 (sd 0.007) mean validation accuracy over seeds 0-4.
    result = train(get_task("mnist5k-mlp"), CrossEntropy(), seed=0, evaluate_test=True)
    assert result.steps == 300 and not result.diverged
    assert result.val_accuracy > 0.9 and result.test_accuracy is not None
    assert result.test_accuracy > 0.9
