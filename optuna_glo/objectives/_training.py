"""Training one model with one loss: partial training for loss search, or a full run.

The loop is :func:`~optuna_glo.objectives._loop.train_loop`, the one the model stack trains in
too; here its trainer is a :class:`SingleModel`. A loss that makes training diverge (a NaN or
infinite loss or weight) ends the run early with value 0.0, as GLO section III-A gives such losses.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from optuna_glo.objectives._data import Splits, load_dataset
from optuna_glo.objectives._device import resolve_device
from optuna_glo.objectives._loop import (
    DIVERGED_FITNESS,
    AbortRule,
    LoopOptions,
    OnEval,
    TrainResult,
    check_options,
    retry_aborted,
    train_loop,
)
from optuna_glo.objectives._tasks import Task


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Classification accuracy of ``model`` on ``(x, y)``, in eval mode."""
    was_training = model.training
    model.eval()
    correct = torch.zeros((), dtype=torch.long, device=y.device)
    for start in range(0, len(y), batch_size):
        logits = model(x[start : start + batch_size])
        correct += (logits.argmax(dim=-1) == y[start : start + batch_size]).sum()
    model.train(was_training)
    return correct.item() / max(1, len(y))


class SingleModel:
    """One model of ``task`` with its loss and optimizer: the one-member trainer of the loop.

    Built from the caller's random stream: ``torch.manual_seed(seed)`` just before fixes the
    initialisation, and the dropout masks continue that stream.

    Args:
        task: The task (model and recipe).
        loss_fn: Any loss called as ``loss_fn(logits, target)``.
        device: Where the model lives.
    """

    def __init__(self, task: Task, loss_fn: nn.Module, device: torch.device) -> None:
        self.model = task.model().to(device)
        self.model.train()
        self.optimizer = task.recipe.make_optimizer(list(self.model.parameters()))
        self.loss_fn = loss_fn.to(device)
        self.eval_batch_size = task.recipe.eval_batch_size
        self.members = [0]

    def __len__(self) -> int:
        return 1

    def losses(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The model's training loss on one batch, as a ``[1]`` tensor."""
        return self.loss_fn(self.model(xb), yb).reshape(1)

    def step(
        self, losses: torch.Tensor, *, lr: float | None = None, finite: torch.Tensor | None = None
    ) -> None:
        """One optimizer step on the loss (``lr`` overrides the recipe's).

        ``finite`` is not needed: a lone model whose loss is NaN/inf ends at the next check.
        """
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        losses.reshape(()).backward()
        self.optimizer.step()

    def finite_weights(self) -> torch.Tensor:
        """``[1]``: whether the model's weights are all finite."""
        checks = [torch.isfinite(p).all() for p in self.model.parameters()]
        return torch.stack(checks).all().reshape(1)

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """``[accuracy]`` on ``(x, y)`` in eval mode."""
        return [accuracy(self.model, x, y, self.eval_batch_size)]

    def keep(self, slices: Sequence[int]) -> None:
        """Nothing to drop: the loop never ends one member of one while another trains on."""
        raise NotImplementedError("A single model has no other members to keep.")


def train_once(
    task: Task,
    loss_fn: nn.Module,
    data: Splits,
    options: LoopOptions,
    *,
    seed: int,
    data_seed: int,
    device: torch.device,
    on_eval: OnEval | None = None,
) -> TrainResult:
    """One training run of ``task``'s model with ``loss_fn``, on ``data`` already on ``device``.

    ``seed`` fixes the initialisation and dropout masks, ``data_seed`` the batch order.
    """

    def single_model() -> SingleModel:
        torch.manual_seed(seed)
        return SingleModel(task, loss_fn, device)

    [result] = train_loop(
        single_model, task, data, options, data_seed=data_seed, device=device, on_eval=on_eval
    )
    return result


def train(
    task: Task,
    loss_fn: nn.Module,
    *,
    steps: int | None = None,
    seed: int = 0,
    data_seed: int | None = None,
    device: str | torch.device | None = "cpu",
    data_dir: str | None = None,
    download: bool = False,
    data: Splits | None = None,
    abort_rule: AbortRule | None = None,
    eval_every: int | None = None,
    eval_on: str = "val",
    evaluate_test: bool = False,
    on_step: Callable[[int], None] | None = None,
    on_eval: OnEval | None = None,
) -> TrainResult:
    """Train ``task``'s model with ``loss_fn`` and measure validation accuracy.

    Args:
        task: The task (data set, model, recipe).
        loss_fn: Any loss called as ``loss_fn(logits, target)``.
        steps: Training steps; default the recipe's ``partial_steps``.
        seed: Seed of the model initialisation and dropout.
        data_seed: Seed of the batch order; default ``seed``.
        device: ``"cpu"``, ``"cuda:K"`` or ``"auto"``.
        data_dir: Where data sets are read (and downloaded to, if ``download``).
        download: Whether a missing data set may be downloaded.
        data: Pre-loaded splits (moved to ``device`` here if needed).
        abort_rule: TaylorGLO's abort-and-retry rule (appendix A.5), or ``None``.
        eval_every: Record accuracy every this many steps (training curves).
        eval_on: ``"val"`` or ``"test"``: the split of the recorded curve.
        evaluate_test: Also measure test accuracy at the end.
        on_step: Called with the number of steps done after every step (progress bars).
        on_eval: Called at each checkpoint of ``eval_every`` with the step, ``[0]`` and
            ``[accuracy]``; returning ``[0]`` stops the run there, pruned (an Optuna pruner).
    """
    steps = task.recipe.partial_steps if steps is None else steps
    check_options(steps=steps, eval_on=eval_on)
    dev = resolve_device(device)
    if data is None:
        data = load_dataset(task.dataset, data_dir, download)
    data = data.to(dev)
    data_seed = seed if data_seed is None else data_seed
    options = LoopOptions(
        steps=steps, eval_every=eval_every, eval_on=eval_on, abort_rule=abort_rule,
        evaluate_test=evaluate_test, on_step=on_step,
    )

    def attempt(_members: list[int], offset: int) -> list[TrainResult]:
        return [train_once(
            task, loss_fn, data, options, seed=seed + offset, data_seed=data_seed + offset,
            device=dev, on_eval=on_eval,
        )]

    [result] = retry_aborted(attempt, 1, abort_rule)
    if math.isnan(result.val_accuracy):  # pragma: no cover - accuracy is never NaN
        result.val_accuracy = DIVERGED_FITNESS
    return result
