"""Population-based training segments: members that resume from inherited weights and optimizer
state, train one segment, and hand their state on (EPBT section 3, Algorithm 1, Stage 3).

A member starts from a :class:`SegmentStart` (its parent's final weights and optimizer state) or
from fresh weights (generation 0), trains ``segment_steps`` steps at its place in the recipe's
learning-rate schedule (``start_step``: EPBT's schedule follows the population's total epochs),
and is measured on the validation set (its fitness) and the test set (reported only). Members of
one generation share their batches (one data seed per generation), so they can train one by one
or together as one :class:`~optuna_glo.objectives.stack.ModelStack` with the same results to float
tolerance; :func:`train_segments` takes whichever path :func:`choose_path` picks. A member whose
loss diverges keeps the state it started with (finite weights its children can inherit) and
fitness 0 (GLO section III-A).
"""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from optuna_glo.objectives._data import Splits, resolve_data_dir
from optuna_glo.objectives._loop import SEED_STRIDE, LoopOptions, TrainResult, train_loop
from optuna_glo.objectives._objective import TaskData
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives._training import SingleModel
from optuna_glo.objectives.stack._autotune import AUTOTUNE_FILE, PathName, choose_path
from optuna_glo.objectives.stack._memory import stack_size
from optuna_glo.objectives.stack._model import ModelStack

#: A model's state dict.
Weights = Mapping[str, torch.Tensor]


@dataclass(frozen=True)
class SegmentStart:
    """The state a member resumes from.

    Attributes:
        model: A ``task.model()`` state dict.
        optimizer: Its optimizer's ``state_dict()`` (``None``: a fresh optimizer).
    """

    model: Weights
    optimizer: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class SegmentMember:
    """One member of a segment.

    Attributes:
        loss: Its training loss.
        seed: Seed of its random stream: fresh weights (when ``start`` is None) and dropout.
        start: The state it inherits, or ``None`` for fresh weights.
        task: Its own task (e.g. PBT's SGD learning rate and momentum in its recipe); ``None``:
            the segment's task. Members with a task of their own train one by one.
    """

    loss: nn.Module
    seed: int
    start: SegmentStart | None = None
    task: Task | None = None


@dataclass
class SegmentOutcome:
    """What a member's segment produced.

    Attributes:
        result: Validation (fitness) and test accuracy, divergence.
        model: Its final weights (the starting ones when it diverged).
        optimizer: Its optimizer's final state (the starting one when it diverged; ``None``:
            none yet, a fresh model that diverged).
        start_digest: :func:`weights_digest` of the weights it started from.
        digest: :func:`weights_digest` of ``model``.
    """

    result: TrainResult
    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any] | None
    start_digest: str
    digest: str


class SegmentTrainer(TaskData):
    """A population's training segments on one task: the data on the device, the segment length,
    and where generation ``g`` starts in the learning-rate schedule and its batch order.

    Args:
        task: The task (model, recipe, data set).
        segment_epochs: Segment length in epochs (EPBT section 4.1: 8 on CIFAR-10, 1 on SVHN);
            an epoch is the loop's ``len(train) // batch_size`` steps.
        segment_steps: Segment length in steps instead (exactly one of the two).
        seed: The study seed.
        device: Training device.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
    """

    def __init__(
        self,
        task: Task,
        *,
        segment_epochs: int | None = None,
        segment_steps: int | None = None,
        seed: int = 0,
        device: str | None = None,
        data_dir: str | None = None,
        download: bool = False,
    ) -> None:
        if (segment_epochs is None) == (segment_steps is None):
            raise ValueError(
                "Give exactly one of `segment_epochs` and `segment_steps`. The specified values "
                f"are {segment_epochs} and {segment_steps}."
            )
        length = segment_epochs if segment_epochs is not None else segment_steps
        if not isinstance(length, int) or isinstance(length, bool) or length < 1:
            raise ValueError(f"The segment length must be an int >= 1. It is {length!r}.")
        super().__init__(task, device=device, data_dir=data_dir, download=download)
        self.segment_epochs = segment_epochs
        self._segment_steps = segment_steps
        self.seed = seed

    @property
    def steps_per_epoch(self) -> int:
        """Steps of one epoch: the loop drops the last partial batch."""
        return max(1, len(self.data.train_y) // self.task.recipe.batch_size)

    @property
    def segment_steps(self) -> int:
        """Steps of one segment."""
        if self._segment_steps is not None:
            return self._segment_steps
        assert self.segment_epochs is not None
        return self.segment_epochs * self.steps_per_epoch

    def start_step(self, generation: int) -> int:
        """Generation ``generation``'s place in the schedule: ``generation`` segments (EPBT
        section 4.1: the schedule follows the population's total epochs)."""
        return generation * self.segment_steps

    def data_seed(self, generation: int) -> int:
        """The batch order of generation ``generation``, shared by all its members."""
        return self.seed + generation

    def member_seed(self, lineage: int, generation: int) -> int:
        """A member's random stream: fresh weights in generation 0 (one per lineage), dropout."""
        return self.seed + SEED_STRIDE * (lineage + 1) + generation

    def train(
        self,
        members: Sequence[SegmentMember],
        *,
        generation: int,
        path: PathName = "auto",
        population_batch: int | None = None,
    ) -> list[SegmentOutcome]:
        """Train ``members`` one segment of generation ``generation`` (see
        :func:`train_segments`)."""
        return train_segments(
            self.task, members, self.data, start_step=self.start_step(generation),
            steps=self.segment_steps, data_seed=self.data_seed(generation), device=self.device,
            path=path, population_batch=population_batch, data_dir=self.data_dir,
        )


def weights_digest(weights: Weights) -> str:
    """SHA-256 of a state dict's names, dtypes, shapes and bytes: equal digests, equal weights
    bit for bit."""
    h = hashlib.sha256()
    for name in sorted(weights):
        t = weights[name].detach().to("cpu").contiguous()
        h.update(f"{name}:{t.dtype}:{tuple(t.shape)};".encode())
        h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


def fresh_weights(task: Task, seed: int) -> dict[str, torch.Tensor]:
    """The weights ``train`` initialises ``task``'s model with for ``seed`` (random state kept)."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return {k: v.detach().clone() for k, v in task.model().state_dict().items()}


def load_optimizer_state(optimizer: torch.optim.Optimizer, state: Mapping[str, Any]) -> None:
    """Load an optimizer's per-parameter state (momentum) but keep its hyperparameters: a
    child's learning rate and momentum are its own, not its parent's (``load_state_dict`` alone
    would restore the parent's). The state is copied: ``load_state_dict`` would otherwise train
    the caller's tensors in place."""
    own = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    optimizer.load_state_dict(copy.deepcopy(dict(state)))
    for group, hyper in zip(optimizer.param_groups, own, strict=True):
        group.update(hyper)


def train_segments(
    task: Task,
    members: Sequence[SegmentMember],
    data: Splits,
    *,
    start_step: int,
    steps: int,
    data_seed: int,
    device: torch.device,
    path: PathName = "auto",
    population_batch: int | None = None,
    data_dir: str | Path | None = None,
) -> list[SegmentOutcome]:
    """Train every member one segment of ``steps`` steps from ``start_step``, on the same batches.

    Members without a task of their own train as model stacks where ``path`` (``"auto"``:
    measured faster, see :func:`choose_path`) says so and the task allows it; the others one by
    one. ``data`` must already be on ``device``.

    Returns:
        One :class:`SegmentOutcome` per member, in order.
    """
    if steps < 1 or start_step < 0:
        raise ValueError(
            f"`steps` must be >= 1 and `start_step` >= 0. The specified values are {steps} and "
            f"{start_step}."
        )
    starts = [
        m.start or SegmentStart(fresh_weights(m.task or task, m.seed)) for m in members
    ]
    out: list[SegmentOutcome | None] = [None] * len(members)
    shared = [i for i, m in enumerate(members) if m.task is None]
    groups: list[list[int]] = []
    if len(shared) > 1 and path != "sequential" and task.vectorizable:
        chunk = stack_size(task, data, device, len(shared), population_batch)
        groups = [shared[lo : lo + chunk] for lo in range(0, len(shared), chunk)]
    cache = resolve_data_dir(data_dir) / AUTOTUNE_FILE
    for group in groups:
        choice = choose_path(task, len(group), device, data, path=path, cache_file=cache)
        if choice.path != "vectorized":
            continue
        outcomes = _train_stack(
            task, [members[i] for i in group], [starts[i] for i in group], data,
            start_step=start_step, steps=steps, data_seed=data_seed, device=device,
        )
        for i, outcome in zip(group, outcomes, strict=True):
            out[i] = outcome
    for i, member in enumerate(members):
        if out[i] is None:
            out[i] = _train_one(
                member.task or task, member, starts[i], data, start_step=start_step, steps=steps,
                data_seed=data_seed, device=device,
            )
    return [o for o in out if o is not None]


def _train_one(
    task: Task,
    member: SegmentMember,
    start: SegmentStart,
    data: Splits,
    *,
    start_step: int,
    steps: int,
    data_seed: int,
    device: torch.device,
) -> SegmentOutcome:
    made: list[SingleModel] = []

    def make() -> SingleModel:
        torch.manual_seed(member.seed)  # the dropout stream, after the (overwritten) initialisation
        trainer = SingleModel(task, member.loss, device)
        trainer.model.load_state_dict(dict(start.model))
        if start.optimizer is not None:
            load_optimizer_state(trainer.optimizer, start.optimizer)
        made.append(trainer)
        return trainer

    [result] = train_loop(
        make, task, data, LoopOptions(steps=steps, evaluate_test=True), data_seed=data_seed,
        device=device, start_step=start_step,
    )
    [trainer] = made
    if result.diverged:
        return _kept(result, start)
    model = {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}
    return _outcome(result, start, model, trainer.optimizer.state_dict())


def _train_stack(
    task: Task,
    members: Sequence[SegmentMember],
    starts: Sequence[SegmentStart],
    data: Splits,
    *,
    start_step: int,
    steps: int,
    data_seed: int,
    device: torch.device,
) -> list[SegmentOutcome]:
    made: list[ModelStack] = []
    seeds = tuple(m.seed for m in members)

    def make() -> ModelStack:
        stack = ModelStack.from_state_dicts(
            task, [m.loss for m in members], [s.model for s in starts], device
        )
        stack.load_optimizer_states([s.optimizer for s in starts])
        # One dropout stream for the whole stack (see optuna_glo.objectives.stack).
        torch.manual_seed(hash(seeds) & 0x7FFF_FFFF_FFFF)
        made.append(stack)
        return stack

    results = train_loop(
        make, task, data, LoopOptions(steps=steps, evaluate_test=True), data_seed=data_seed,
        device=device, start_step=start_step,
    )
    [stack] = made
    out = []
    for j, (result, start) in enumerate(zip(results, starts, strict=True)):
        if result.diverged or j not in stack.members:
            out.append(_kept(result, start))
        else:
            out.append(_outcome(
                result, start, stack.member_state_dict(j), stack.member_optimizer_state(j)
            ))
    return out


def _outcome(
    result: TrainResult, start: SegmentStart, model: dict[str, torch.Tensor],
    optimizer: dict[str, Any],
) -> SegmentOutcome:
    return SegmentOutcome(
        result, {k: v.detach().to("cpu") for k, v in model.items()}, _to_cpu(optimizer),
        weights_digest(start.model), weights_digest(model),
    )


def _kept(result: TrainResult, start: SegmentStart) -> SegmentOutcome:
    """A diverged member keeps what it started with."""
    model = {k: v.detach().to("cpu").clone() for k, v in start.model.items()}
    optimizer = _to_cpu(dict(start.optimizer)) if start.optimizer is not None else None
    digest = weights_digest(model)
    return SegmentOutcome(result, model, optimizer, digest, digest)


def _to_cpu(value: Any) -> Any:
    """A state dict with every tensor copied to the CPU (checkpoints load on any device)."""
    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu").clone()
    if isinstance(value, dict):
        return {k: _to_cpu(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_cpu(v) for v in value]
    return value
