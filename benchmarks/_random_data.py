"""Random tensors of a task's shapes, for timing where the real data set is not on the machine.

Speed only: accuracies on random pixels mean nothing. Every benchmark that uses them says so in
its output (``"data": "random"``).
"""

from __future__ import annotations

import torch

from optuna_glo.objectives import DataUnavailableError, Splits, Task, load_dataset

#: Input shape of one example, per data set (channels, height, width; digits: 64 features).
SHAPES: dict[str, tuple[int, ...]] = {
    "mnist": (1, 28, 28), "fashion-mnist": (1, 28, 28), "mnist5k": (1, 28, 28),
    "digits": (64,), "cifar10": (3, 32, 32), "svhn": (3, 32, 32),
}


def random_splits(dataset: str, *, n_train: int = 8_192, n_eval: int = 1_024,
                  seed: int = 0) -> Splits:
    """Uniform random inputs of ``dataset``'s shape and random labels of 10 classes."""
    shape = SHAPES.get(dataset, (1, 28, 28))
    g = torch.Generator().manual_seed(seed)

    def part(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.rand(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g)

    (tx, ty), (vx, vy), (sx, sy) = part(n_train), part(n_eval), part(n_eval)
    return Splits(tx, ty, vx, vy, sx, sy, n_classes=10)


def task_data(task: Task, mode: str) -> tuple[Splits, str]:
    """The task's data and where it came from (``"real"`` or ``"random"``).

    Args:
        task: The task.
        mode: ``"real"`` (fail when missing), ``"random"``, or ``"auto"`` (real if present).
    """
    if mode != "random":
        try:
            return load_dataset(task.dataset), "real"
        except DataUnavailableError:
            if mode == "real":
                raise
    return random_splits(task.dataset), "random"
