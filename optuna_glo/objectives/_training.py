"""Training one model with one loss: partial training for loss search, or a full run.

The loop reads top to bottom: the data set lives on the device as tensors, each epoch draws a
fresh permutation from a seeded generator, each step indexes a batch, and the model is evaluated
under ``torch.no_grad()`` in eval mode. A loss that makes training diverge (a NaN or infinite loss
or weight) ends the run early with value 0.0, as GLO section III-A gives such losses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from optuna_glo.objectives._data import Splits, load_dataset
from optuna_glo.objectives._tasks import Task

#: Accuracy given to a run whose loss diverged (GLO section III-A), or that collapsed.
DIVERGED_FITNESS = 0.0

#: A run whose validation accuracy ends at most this far above chance (``1 / classes``) has
#: collapsed: it learned nothing a constant prediction would not score. 0.05 puts the line for
#: ten classes at 0.15, the accuracy under which TaylorGLO's authors abort a run as failed
#: (appendix A.5), and above what a constant prediction scores on every validation set here
#: (its largest class: 0.117 of digits', 0.114 of mnist5k's, about 0.112 of MNIST's), while a
#: run that learned anything on these tasks is far above it.
COLLAPSE_MARGIN = 0.05


def has_collapsed(val_accuracy: float, n_classes: int) -> bool:
    """Whether a run ended within :data:`COLLAPSE_MARGIN` of chance (or below it)."""
    return val_accuracy <= 1.0 / n_classes + COLLAPSE_MARGIN


@dataclass(frozen=True)
class AbortRule:
    """TaylorGLO appendix A.5: abort and retry a candidate whose accuracy is too low early on.

    "Training for each candidate was aborted and retried up to two additional times if validation
    accuracy was below 0.15 at the tenth epoch."

    Attributes:
        check_step: The step after which validation accuracy is checked.
        min_accuracy: Abort when validation accuracy at ``check_step`` is below this.
        max_retries: Retries after the first attempt; each retry uses a fresh seed.
    """

    check_step: int
    min_accuracy: float = 0.15
    max_retries: int = 2

    def __post_init__(self) -> None:
        if self.check_step < 1:
            raise ValueError(f"`check_step` must be >= 1. Specified: {self.check_step}.")
        if not 0.0 <= self.min_accuracy <= 1.0:
            raise ValueError(
                f"`min_accuracy` must be in [0, 1]. The specified value is {self.min_accuracy}."
            )
        if self.max_retries < 0:
            raise ValueError(f"`max_retries` must be >= 0. Specified: {self.max_retries}.")


@dataclass
class TrainResult:
    """What a training run measured."""

    val_accuracy: float
    steps: int
    diverged: bool = False
    diverged_at_step: int | None = None
    collapsed: bool = False
    aborted: bool = False
    attempts: int = 1
    test_accuracy: float | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def value(self) -> float:
        """The fitness: validation accuracy, or 0.0 for a diverged or collapsed run."""
        return DIVERGED_FITNESS if self.diverged or self.collapsed else self.val_accuracy


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``None``/``"auto"`` picks CUDA when present; an unavailable CUDA device is an error."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {str(device)!r}, but this machine has no CUDA GPU.")
    return dev


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


def batch_indices(n: int, batch_size: int, steps: int, generator: torch.Generator):
    """Yield ``steps`` index batches: each epoch a fresh permutation, the last partial batch dropped
    (as TensorFlow's shuffled batches in the papers; at least one batch per epoch)."""
    per_epoch = max(1, n // batch_size)
    step = 0
    while step < steps:
        perm = torch.randperm(n, generator=generator)
        for b in range(per_epoch):
            if step >= steps:
                return
            yield perm[b * batch_size : (b + 1) * batch_size]
            step += 1


def _finite_weights(model: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in model.parameters())


def train_once(
    task: Task,
    loss_fn: nn.Module,
    data: Splits,
    *,
    steps: int,
    seed: int,
    data_seed: int,
    device: torch.device,
    eval_every: int | None = None,
    eval_on: str = "val",
    abort_rule: AbortRule | None = None,
    evaluate_test: bool = False,
    on_step: Callable[[int], None] | None = None,
) -> TrainResult:
    """One training run of ``task``'s model with ``loss_fn``, on ``data`` already on ``device``.

    ``seed`` fixes the initialisation and dropout masks, ``data_seed`` the batch order.
    """
    recipe = task.recipe
    start = time.perf_counter()
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        model = task.model().to(device)
        model.train()
        optimizer = recipe.make_optimizer(list(model.parameters()))
        loss_fn = loss_fn.to(device)
        gen = torch.Generator().manual_seed(data_seed)
        eval_x, eval_y = (data.val_x, data.val_y)
        if eval_on == "test":
            eval_x, eval_y = data.test_x, data.test_y
        curve: list[tuple[int, float]] = []
        # Divergence is checked every `check_every` steps; on a GPU that keeps the loop free of a
        # host sync per step. Once a loss is NaN/inf the weights stay NaN, so nothing is missed.
        check_every = 1 if device.type == "cpu" else 25
        finite = torch.ones((), dtype=torch.bool, device=device)
        for step, idx in enumerate(batch_indices(len(data.train_y), recipe.batch_size, steps, gen)):
            lr = recipe.lr_at(step)
            if recipe.lr_milestones:
                for group in optimizer.param_groups:
                    group["lr"] = lr
            idx = idx.to(device, non_blocking=True)
            xb, yb = data.train_x[idx], data.train_y[idx]
            if task.augment is not None:
                xb = task.augment(xb, gen)
            loss = loss_fn(model(xb), yb)
            finite &= torch.isfinite(loss)
            if (step + 1) % check_every == 0 and not bool(finite):
                return TrainResult(
                    DIVERGED_FITNESS, step + 1, diverged=True, diverged_at_step=step + 1,
                    curve=curve, seconds=time.perf_counter() - start,
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if on_step is not None:
                on_step(step + 1)
            done = step + 1
            if eval_every and done % eval_every == 0 and done < steps:
                curve.append((done, accuracy(model, eval_x, eval_y, recipe.eval_batch_size)))
            if abort_rule is not None and done == abort_rule.check_step and done < steps:
                acc = accuracy(model, data.val_x, data.val_y, recipe.eval_batch_size)
                if acc < abort_rule.min_accuracy:
                    return TrainResult(
                        acc, done, aborted=True, curve=curve, seconds=time.perf_counter() - start
                    )
        if not bool(finite) or not _finite_weights(model):
            return TrainResult(
                DIVERGED_FITNESS, steps, diverged=True, diverged_at_step=steps, curve=curve,
                seconds=time.perf_counter() - start,
            )
        bs = recipe.eval_batch_size
        val = accuracy(model, data.val_x, data.val_y, bs)
        test = accuracy(model, data.test_x, data.test_y, bs) if evaluate_test else None
        if eval_every:
            curve.append((steps, accuracy(model, eval_x, eval_y, bs)))
        return TrainResult(
            val, steps, test_accuracy=test, curve=curve, seconds=time.perf_counter() - start
        )


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
    """
    steps = task.recipe.partial_steps if steps is None else steps
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1. The specified `steps` is {steps}.")
    if eval_on not in ("val", "test"):
        raise ValueError(f"`eval_on` must be 'val' or 'test'. The specified value is {eval_on!r}.")
    dev = resolve_device(device)
    if data is None:
        data = load_dataset(task.dataset, data_dir, download)
    data = data.to(dev)
    data_seed = seed if data_seed is None else data_seed
    attempts = 1 + (abort_rule.max_retries if abort_rule else 0)
    total_seconds = 0.0
    result: TrainResult | None = None
    for attempt in range(attempts):
        # A retry must differ from the aborted attempt: shift both seeds by a large prime.
        offset = attempt * 1_000_003
        result = train_once(
            task, loss_fn, data, steps=steps, seed=seed + offset, data_seed=data_seed + offset,
            device=dev, eval_every=eval_every, eval_on=eval_on, abort_rule=abort_rule,
            evaluate_test=evaluate_test, on_step=on_step,
        )
        total_seconds += result.seconds
        result.attempts = attempt + 1
        if not result.aborted:
            break
    assert result is not None
    result.seconds = total_seconds
    if math.isnan(result.val_accuracy):  # pragma: no cover - accuracy is never NaN
        result.val_accuracy = DIVERGED_FITNESS
    return result
