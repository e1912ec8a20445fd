"""The training loop, one for a single model and for a stack of models trained in lockstep.

A *trainer* (:class:`Trainer`) holds ``m`` members: one model
(:class:`~optuna_glo.objectives._training.SingleModel`) or ``k`` models stacked into one
vectorized model (:class:`~optuna_glo.objectives.stack.ModelStack`). :func:`train_loop` reads top
to bottom: the data set lives on the device as tensors, each epoch draws a fresh permutation from a
seeded generator, each step indexes one batch that every member trains on, and the members are
measured under ``torch.no_grad()`` in eval mode. A member ends early when its loss diverges (a NaN
or infinite loss or weight: value 0.0, GLO section III-A) or when TaylorGLO's abort rule stops it
(appendix A.5) or when the caller's ``on_eval`` stops it at a checkpoint (an Optuna pruner); the
others train on. :func:`retry_aborted` retries the aborted ones.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

import torch

from optuna_glo.objectives._data import Splits
from optuna_glo.objectives._device import cuda_devices
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

#: Spacing of seeds that must not share random numbers (a large prime). A retry shifts both seeds
#: of the aborted attempt by it (:func:`retry_aborted`); trials without common random numbers are
#: spaced by it (``training_seed``), so a trial's first retry reuses the next trial's seeds.
SEED_STRIDE = 1_000_003

#: Called at each checkpoint (every ``eval_every`` steps, before the last) with the step, the
#: members still training (their indices in the caller's list) and their accuracies on the
#: ``eval_on`` split; returns those of them to stop there (e.g. the ones an Optuna pruner prunes).
OnEval = Callable[[int, list[int], list[float]], Collection[int]]


def relabel(on_eval: OnEval | None, labels: Sequence[int]) -> OnEval | None:
    """``on_eval`` for a trainer whose member ``j`` is the caller's member ``labels[j]``."""
    if on_eval is None:
        return None

    def relabelled(step: int, members: list[int], accuracies: list[float]) -> list[int]:
        stop = set(on_eval(step, [labels[j] for j in members], accuracies))
        return [j for j in members if labels[j] in stop]

    return relabelled


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


@dataclass(frozen=True)
class LoopOptions:
    """What :func:`train_loop` runs and measures: the same for every member and every attempt.

    Attributes:
        steps: Training steps.
        eval_every: Record accuracy every this many steps (training curves; ``on_eval``).
        eval_on: ``"val"`` or ``"test"``: the split of the recorded curve.
        abort_rule: TaylorGLO's abort-and-retry rule (appendix A.5), or ``None``.
        evaluate_test: Also measure test accuracy at the end.
        on_step: Called with the number of steps done after every step (progress bars).
    """

    steps: int
    eval_every: int | None = None
    eval_on: str = "val"
    abort_rule: AbortRule | None = None
    evaluate_test: bool = False
    on_step: Callable[[int], None] | None = None


@dataclass
class TrainResult:
    """What a training run measured."""

    val_accuracy: float
    steps: int
    diverged: bool = False
    diverged_at_step: int | None = None
    collapsed: bool = False
    aborted: bool = False
    pruned: bool = False
    attempts: int = 1
    test_accuracy: float | None = None
    curve: list[tuple[int, float]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def value(self) -> float:
        """The fitness: validation accuracy, or 0.0 for a diverged or collapsed run."""
        return DIVERGED_FITNESS if self.diverged or self.collapsed else self.val_accuracy


def batch_indices(
    n: int, batch_size: int, steps: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
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


def check_options(*, steps: int, eval_on: str) -> None:
    """Refuse a run of fewer than one step, or a curve on a split other than val and test."""
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1. The specified `steps` is {steps}.")
    if eval_on not in ("val", "test"):
        raise ValueError(f"`eval_on` must be 'val' or 'test'. The specified value is {eval_on!r}.")


class Trainer(Protocol):
    """What :func:`train_loop` trains: ``m`` members, each with its own model and loss.

    Attributes:
        members: The original index of each current member (members leave as they end).
    """

    members: list[int]

    def __len__(self) -> int:
        """The number of current members."""
        ...

    def losses(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The ``[m]`` training losses of the members on one batch."""
        ...

    def step(
        self, losses: torch.Tensor, *, lr: float | None = None, finite: torch.Tensor | None = None
    ) -> None:
        """One optimizer step of every member on its own loss.

        Args:
            losses: The members' losses from :meth:`losses`.
            lr: Learning rate replacing the recipe's (its schedule), or ``None``.
            finite: ``[m]`` booleans: whether each member's losses have all been finite so far.
        """
        ...

    def finite_weights(self) -> torch.Tensor:
        """``[m]`` booleans: whether each member's weights are all finite."""
        ...

    def accuracy(self, x: torch.Tensor, y: torch.Tensor) -> list[float]:
        """Each member's classification accuracy on ``(x, y)``, in eval mode."""
        ...

    def keep(self, slices: Sequence[int]) -> None:
        """Keep only the current members at positions ``slices`` (in that order)."""
        ...


def train_loop(
    make_trainer: Callable[[], Trainer],
    task: Task,
    data: Splits,
    options: LoopOptions,
    *,
    data_seed: int,
    device: torch.device,
    start_step: int = 0,
    on_eval: OnEval | None = None,
) -> list[TrainResult]:
    """Train every member of ``make_trainer()`` for ``options.steps`` steps, on the same batches.

    ``make_trainer`` runs under a forked random state (the caller's is left as it was) and seeds
    the initialisation and the dropout masks itself; ``data_seed`` fixes the batch order and the
    augmentation. ``data`` must already be on ``device``. ``start_step`` is where the run
    starts in the recipe's learning-rate schedule (a population-based training segment resumes at
    the steps its population has trained; 0 otherwise). ``on_eval`` (with ``eval_every``) sees
    every checkpoint; the members it returns end there, pruned, valued at that accuracy.

    Returns:
        One :class:`TrainResult` per member, in order. ``seconds`` is the wall time up to the
        member's end divided by the number of members (its share of the cost).
    """
    recipe = task.recipe
    steps, eval_every, abort_rule = options.steps, options.eval_every, options.abort_rule
    start = time.perf_counter()
    with torch.random.fork_rng(devices=cuda_devices(device)):
        trainer = make_trainer()
        run = _Run(trainer, start, device)
        gen = torch.Generator().manual_seed(data_seed)
        eval_x, eval_y = (data.val_x, data.val_y)
        if options.eval_on == "test":
            eval_x, eval_y = data.test_x, data.test_y
        # Divergence is checked every `check_every` steps; on a GPU that keeps the loop free of a
        # host sync per step. Once a loss is NaN/inf the weights stay NaN, so nothing is missed.
        check_every = 1 if device.type == "cpu" else 25
        for step, idx in enumerate(batch_indices(len(data.train_y), recipe.batch_size, steps, gen)):
            done = step + 1
            idx = idx.to(device, non_blocking=True)
            xb, yb = data.train_x[idx], data.train_y[idx]
            if task.augment is not None:
                xb = task.augment(xb, gen)
            losses = trainer.losses(xb, yb)
            run.finite &= torch.isfinite(losses.detach())
            # Members whose loss diverged end at this step: before it when all did, else after
            # it (the others take it; the diverged are left out of the summed loss).
            diverged = run.not_finite() if done % check_every == 0 else []
            if len(diverged) == len(trainer):
                run.diverge(diverged, done)
                break
            lr = recipe.lr_at(start_step + step) if recipe.lr_milestones else None
            trainer.step(losses, lr=lr, finite=run.finite)
            run.diverge(diverged, done)
            if options.on_step is not None:
                options.on_step(done)
            if eval_every and done % eval_every == 0 and done < steps:
                accs = trainer.accuracy(eval_x, eval_y)
                run.record(done, accs)
                if on_eval is not None:
                    stop = set(on_eval(done, list(trainer.members), accs))
                    run.prune([s for s, m in enumerate(trainer.members) if m in stop], accs, done)
                    if not run.training:
                        break
            if abort_rule is not None and done == abort_rule.check_step and done < steps:
                accs = trainer.accuracy(data.val_x, data.val_y)
                low = [s for s, acc in enumerate(accs) if acc < abort_rule.min_accuracy]
                run.abort(low, accs, done)
                if not run.training:
                    break
        if run.training:
            ok = (run.finite & trainer.finite_weights()).tolist()
            run.diverge([s for s, good in enumerate(ok) if not good], steps)
        if run.training:
            val = trainer.accuracy(data.val_x, data.val_y)
            test = trainer.accuracy(data.test_x, data.test_y) if options.evaluate_test else None
            if eval_every:
                run.record(steps, trainer.accuracy(eval_x, eval_y))
            run.complete(val, test, steps)
    return run.results()


class _Run:
    """The members' results, recorded as each one ends, and their curves so far.

    A member that ends leaves the trainer, unless none would be left (the loop stops then).
    """

    def __init__(self, trainer: Trainer, start: float, device: torch.device) -> None:
        self.trainer = trainer
        self.start = start
        self.k = len(trainer)
        #: Whether each current member's losses have all been finite so far.
        self.finite = torch.ones(self.k, dtype=torch.bool, device=device)
        self.curves: list[list[tuple[int, float]]] = [[] for _ in range(self.k)]
        self._results: list[TrainResult | None] = [None] * self.k

    @property
    def training(self) -> bool:
        """Whether a member is still training."""
        return any(r is None for r in self._results)

    def results(self) -> list[TrainResult]:
        assert all(r is not None for r in self._results)
        return cast(list[TrainResult], self._results)

    def not_finite(self) -> list[int]:
        """The current members whose losses have not all been finite (one host sync)."""
        if bool(self.finite.all()):
            return []
        return torch.nonzero(~self.finite).flatten().tolist()

    def record(self, step: int, accuracies: list[float]) -> None:
        """Add a point to each current member's curve."""
        for s, acc in enumerate(accuracies):
            self.curves[self.trainer.members[s]].append((step, acc))

    def diverge(self, slices: Sequence[int], step: int) -> None:
        self._end(slices, lambda s, curve: TrainResult(
            DIVERGED_FITNESS, step, diverged=True, diverged_at_step=step, curve=curve,
            seconds=self._seconds(),
        ))

    def abort(self, slices: Sequence[int], accuracies: list[float], step: int) -> None:
        self._end(slices, lambda s, curve: TrainResult(
            accuracies[s], step, aborted=True, curve=curve, seconds=self._seconds()
        ))

    def prune(self, slices: Sequence[int], accuracies: list[float], step: int) -> None:
        self._end(slices, lambda s, curve: TrainResult(
            accuracies[s], step, pruned=True, curve=curve, seconds=self._seconds()
        ))

    def complete(self, val: list[float], test: list[float] | None, step: int) -> None:
        self._end(range(len(self.trainer)), lambda s, curve: TrainResult(
            val[s], step, test_accuracy=None if test is None else test[s], curve=curve,
            seconds=self._seconds(),
        ))

    def _seconds(self) -> float:
        return (time.perf_counter() - self.start) / self.k

    def _end(
        self, slices: Sequence[int], result: Callable[[int, list[tuple[int, float]]], TrainResult]
    ) -> None:
        """Record the results of the current members ``slices`` and drop them from the trainer."""
        if not slices:
            return
        for s in slices:
            member = self.trainer.members[s]
            self._results[member] = result(s, self.curves[member])
        if self.training:
            keep = [s for s in range(len(self.trainer)) if s not in set(slices)]
            self.trainer.keep(keep)
            self.finite = self.finite[torch.tensor(keep, device=self.finite.device)]


def retry_aborted(
    train_attempt: Callable[[list[int], int], list[TrainResult]],
    n: int,
    abort_rule: AbortRule | None,
) -> list[TrainResult]:
    """TaylorGLO's abort-and-retry rule (appendix A.5) around the training of ``n`` members.

    ``train_attempt(members, offset)`` trains the given members (indices below ``n``) with both
    of their seeds shifted by ``offset`` and returns one result each. The members the rule aborted
    are trained again, together, up to ``abort_rule.max_retries`` times; each retry shifts the
    seeds by another :data:`SEED_STRIDE`, so it differs from the aborted attempt. A result counts
    its attempts and the seconds of all of them.
    """
    results: list[TrainResult | None] = [None] * n
    seconds = [0.0] * n
    pending = list(range(n))
    for attempt in range(1 + (abort_rule.max_retries if abort_rule else 0)):
        for i, result in zip(pending, train_attempt(pending, attempt * SEED_STRIDE), strict=True):
            seconds[i] += result.seconds
            result.attempts, result.seconds = attempt + 1, seconds[i]
            results[i] = result
        pending = [i for i in pending if cast(TrainResult, results[i]).aborted]
        if not pending:
            break
    return cast(list[TrainResult], results)
