"""Training a population: k candidate losses, k models of one task, trained together.

A candidate is a small model trained for a few hundred to a few thousand steps: far too little
work to fill a GPU (DESIGN.md, performance facts). Here the k models of one generation share one
architecture and are trained in lockstep on the same batches (common random numbers) as one
vectorized model: their parameters are stacked along a leading population dimension
(:func:`torch.func.stack_module_state`), the forward pass is :func:`torch.func.vmap` over
:func:`torch.func.functional_call`, and each model has its own loss on its slice of the logits
``[k, B, C]`` (all TaylorGLO thetas as one ``[k, P]`` tensor in one call). The summed loss gives
every model exactly its own gradient, since no operation mixes models, and the recipe's SGD is
elementwise, so one :class:`torch.optim.SGD` over the stacked tensors is k independent optimizers.

What a member gets is what :func:`~optuna_glo.objectives.train` gives it one by one with the same
``seed`` and ``data_seed``, to float tolerance: the same initialisation (built under
``torch.manual_seed(seed)`` exactly as ``train_once`` builds it), the same batches and
augmentations, the same optimizer, learning-rate schedule, divergence rule and abort rule. One
difference is documented rather than hidden: dropout masks. Inside ``vmap`` (``randomness=
"different"``) every member draws its own independent mask from one stream seeded by the
population's seeds, not from its own seed's stream, so with dropout a member matches its one-by-one
run in distribution, not bit for bit. Reproducing the one-by-one masks would take one random draw
per member per dropout layer and give up the single batched kernel. The equivalence tests use
dropout-free models (``digits-mlp``, the basic CNN with dropout 0).

Batch norm keeps per-model statistics: the running means and variances are stacked buffers like
the weights, which ``functional_call`` under ``vmap`` updates in place, each member's slice with
its own batch statistics (tested against models trained alone). A task can still decline the
vectorized path (``Task.vectorizable = False`` with a reason); it is then trained one by one.

A member whose loss or weights become NaN/inf is removed from the population at the next check
(every step on CPU, every 25 on GPU, as ``train_once``), gets fitness 0 (GLO section III-A), and
the others train on unchanged. Vectorizing is not always faster (on a 2-core CPU the MNIST CNN
vmapped is about 2x slower than one by one), so :func:`evaluate_population` measures both paths on
the actual device and task the first time and remembers the faster per (device, task, k) in a small
JSON file (:func:`choose_path`).
"""

from __future__ import annotations

import contextlib
import copy
import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import torch
from torch import nn
from torch.func import functional_call, stack_module_state, vmap

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.objectives._data import Splits, load_dataset, resolve_data_dir
from optuna_glo.objectives._device import device_name, resolve_device
from optuna_glo.objectives._loop import (
    DIVERGED_FITNESS,
    SEED_STRIDE,
    AbortRule,
    TrainResult,
    batch_indices,
)
from optuna_glo.objectives._objective import LossSearchObjective, record_result
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives._training import train

if TYPE_CHECKING:
    import optuna

_logger = logging.getLogger(__name__)

#: Path names: ``"vectorized"`` (one vmapped population), ``"sequential"`` (one model after
#: another with :func:`~optuna_glo.objectives.train`), ``"auto"`` (the faster, measured).
PathName = Literal["auto", "vectorized", "sequential"]

#: Name of the autotune cache file in the data directory.
AUTOTUNE_FILE = "autotune.json"

#: Part of the free device memory a population may plan to use (the rest is headroom for the
#: allocator, kernels' workspaces and the evaluation batches).
MEMORY_FRACTION = 0.7

LossesOrThetas = torch.Tensor | Sequence[nn.Module] | Sequence[Sequence[float]]


# --------------------------------------------------------------------------------------------
# Per-member losses.
# --------------------------------------------------------------------------------------------


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


class PopulationLoss(nn.Module):
    """``k`` losses applied to population logits ``[k, B, C]``, giving ``[k]`` losses.

    TaylorGLO losses of one order are evaluated together as one ``[m, P]`` theta in one call
    (``TaylorGLOLoss`` supports population thetas); any other loss runs on its own slice.

    Args:
        losses: One loss module per member.
    """

    _inverse: torch.Tensor

    def __init__(self, losses: Sequence[nn.Module]) -> None:
        super().__init__()
        if not losses:
            raise ValueError("`losses` must not be empty.")
        self.members = nn.ModuleList(losses)
        groups: dict[tuple[int, str], list[int]] = {}
        singles: list[int] = []
        for i, loss in enumerate(losses):
            if isinstance(loss, TaylorGLOLoss) and loss.theta.dim() == 1:
                groups.setdefault((loss.order, loss.reduction), []).append(i)
            else:
                singles.append(i)
        self._groups: list[tuple[list[int], TaylorGLOLoss]] = []
        self.stacked = nn.ModuleList()
        for (_, reduction), idx in groups.items():
            theta = torch.stack([losses[i].theta for i in idx])  # type: ignore[misc]
            stacked = TaylorGLOLoss(theta, reduction=reduction)
            self.stacked.append(stacked)
            self._groups.append((idx, stacked))
        self._singles = singles
        order = [i for idx, _ in self._groups for i in idx] + singles
        self._identity = order == list(range(len(losses)))
        self.register_buffer("_inverse", torch.argsort(torch.tensor(order)), persistent=False)

    def __len__(self) -> int:
        return len(self.members)

    def subset(self, keep: Sequence[int]) -> PopulationLoss:
        """The losses of the members ``keep`` (in that order)."""
        return PopulationLoss([self.members[i] for i in keep]).to(self._inverse.device)

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape[0] != len(self):
            raise ValueError(
                f"Population logits have {logits.shape[0]} members; the loss has {len(self)}."
            )
        parts: list[torch.Tensor] = []
        for idx, stacked in self._groups:
            sub = logits if len(idx) == len(self) else logits[idx]
            parts.append(stacked(sub, target.expand(len(idx), *target.shape)))
        for i in self._singles:
            parts.append(self.members[i](logits[i], target).reshape(1))
        out = parts[0] if len(parts) == 1 else torch.cat(parts)
        return out if self._identity else out[self._inverse]


# --------------------------------------------------------------------------------------------
# The vectorized population.
# --------------------------------------------------------------------------------------------


def _init_models(task: Task, seeds: Sequence[int], device: torch.device) -> list[nn.Module]:
    """Each member's model, initialised exactly as ``train_once`` does for its seed."""
    devices = [device] if device.type == "cuda" else []
    models = []
    for seed in seeds:
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(seed)
            models.append(task.model().to(device))
    return models


class Population:
    """``k`` models of one task as stacked tensors, with one SGD over them and per-member losses.

    The building block of :func:`train_population`; also what :func:`measure_paths` times.

    Args:
        task: The task; must be vectorizable.
        losses: One loss module per member.
        seeds: One initialisation seed per member (as ``train_once``'s ``seed``).
        device: Where the models live.
        amp: Run the forward pass under bf16 autocast (the losses in float32).
        compile: Wrap the vmapped forward pass in :func:`torch.compile`.
    """

    def __init__(
        self,
        task: Task,
        losses: Sequence[nn.Module],
        seeds: Sequence[int],
        device: torch.device,
        *,
        amp: bool = False,
        compile: bool = False,
    ) -> None:
        if not task.vectorizable:
            raise ValueError(
                f"Task {task.name!r} cannot be trained as a vectorized population: "
                f"{task.not_vectorizable_reason or 'it is marked not vectorizable'}. "
                "Use `path='sequential'` (or 'auto')."
            )
        if len(losses) != len(seeds):
            raise ValueError(
                f"`losses` and `seeds` must have the same length. Got {len(losses)} losses and "
                f"{len(seeds)} seeds."
            )
        self.task = task
        self.device = device
        self.amp = amp
        models = _init_models(task, seeds, device)
        params, buffers = stack_module_state(models)
        self.params: dict[str, torch.Tensor] = params
        self.buffers: dict[str, torch.Tensor] = buffers
        # A parameter-less copy on the meta device: functional_call supplies the tensors.
        self.base = copy.deepcopy(models[0]).to("meta")
        self.base.train()
        del models
        self.loss = PopulationLoss(losses).to(device)
        self.optimizer = task.recipe.make_optimizer(self._leaves())
        forward = vmap(self._forward_one, in_dims=(0, 0, None), randomness="different")
        self.forward: Callable[..., torch.Tensor] = (
            torch.compile(forward) if compile else forward
        )
        #: Original member index of each current slice (members leave when they diverge).
        self.members: list[int] = list(range(len(seeds)))

    def _forward_one(
        self, params: dict[str, torch.Tensor], buffers: dict[str, torch.Tensor], x: torch.Tensor
    ) -> torch.Tensor:
        return functional_call(self.base, (params, buffers), (x,))

    def __len__(self) -> int:
        return len(self.members)

    def _leaves(self) -> list[nn.Parameter]:
        # The stacked tensors are leaves that require grad: parameters in all but class.
        return cast(list[nn.Parameter], list(self.params.values()))

    def _autocast(self) -> contextlib.AbstractContextManager[object]:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)

    def losses(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        """The ``[m]`` training losses of the current members on one shared batch."""
        with self._autocast():
            logits = self.forward(self.params, self.buffers, xb)
        return self.loss(logits.float(), yb)

    def step(self, losses: torch.Tensor, lr: float | None = None) -> None:
        """One SGD step of every member on its own loss (``lr`` overrides the recipe's)."""
        if lr is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        # d(sum_j L_j)/d(theta_i) = dL_i/d(theta_i): no operation mixes members.
        losses.sum().backward()
        self.optimizer.step()

    def finite_weights(self) -> torch.Tensor:
        """``[m]`` booleans: whether each member's weights are all finite."""
        ok = torch.ones(len(self), dtype=torch.bool, device=self.device)
        for p in self.params.values():
            ok &= torch.isfinite(p.detach().reshape(len(self), -1)).all(dim=1)
        return ok

    @torch.no_grad()
    def accuracy(self, x: torch.Tensor, y: torch.Tensor, batch_size: int) -> torch.Tensor:
        """``[m]`` classification accuracies on ``(x, y)`` in eval mode."""
        self.base.eval()
        correct = torch.zeros(len(self), dtype=torch.long, device=self.device)
        for start in range(0, len(y), batch_size):
            with self._autocast():
                logits = self.forward(self.params, self.buffers, x[start : start + batch_size])
            correct += (logits.argmax(dim=-1) == y[start : start + batch_size]).sum(dim=-1)
        self.base.train()
        return correct.double() / max(1, len(y))

    def keep(self, keep: Sequence[int]) -> None:
        """Keep only the current slices ``keep``: their weights, momentum and losses."""
        index = torch.tensor(list(keep), dtype=torch.long, device=self.device)
        old = list(self.params.values())
        self.params = {
            name: p.detach().index_select(0, index).requires_grad_(p.requires_grad)
            for name, p in self.params.items()
        }
        self.buffers = {name: b.index_select(0, index) for name, b in self.buffers.items()}
        optimizer = self.task.recipe.make_optimizer(self._leaves())
        for group, old_group in zip(
            optimizer.param_groups, self.optimizer.param_groups, strict=True
        ):
            group["lr"] = old_group["lr"]
        for p_old, p_new in zip(old, self.params.values(), strict=True):
            buf = self.optimizer.state.get(p_old, {}).get("momentum_buffer")
            if buf is not None:
                optimizer.state[p_new]["momentum_buffer"] = buf.index_select(0, index)
        self.optimizer = optimizer
        self.loss = self.loss.subset(keep)
        self.members = [self.members[i] for i in keep]


def train_population(
    task: Task,
    losses: Sequence[nn.Module],
    seeds: Sequence[int],
    data: Splits,
    *,
    steps: int,
    data_seed: int,
    device: torch.device,
    eval_every: int | None = None,
    eval_on: str = "val",
    abort_rule: AbortRule | None = None,
    evaluate_test: bool = False,
    on_step: Callable[[int], None] | None = None,
    amp: bool = False,
    compile: bool = False,
    eval_batch_size: int | None = None,
) -> list[TrainResult]:
    """One vectorized training run of ``len(seeds)`` models; the population ``train_once``.

    Every member ``j`` is trained as ``train_once(task, losses[j], data, seed=seeds[j],
    data_seed=data_seed, ...)`` would train it (module docstring: dropout masks excepted), all on
    the same batches. ``data`` must already be on ``device``.

    Returns:
        One :class:`TrainResult` per member, in order. ``seconds`` is the population's wall time
        up to the member's end divided by the population size (its share of the cost).
    """
    recipe = task.recipe
    k = len(seeds)
    start = time.perf_counter()
    eval_bs = eval_batch_size or max(recipe.batch_size, recipe.eval_batch_size // k)
    results: list[TrainResult | None] = [None] * k
    curves: list[list[tuple[int, float]]] = [[] for _ in range(k)]
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        pop = Population(task, losses, seeds, device, amp=amp, compile=compile)
        # One dropout stream for the whole population, fixed by its seeds (module docstring).
        torch.manual_seed(hash(tuple(seeds)) & 0x7FFF_FFFF_FFFF)
        gen = torch.Generator().manual_seed(data_seed)
        eval_x, eval_y = (data.val_x, data.val_y)
        if eval_on == "test":
            eval_x, eval_y = data.test_x, data.test_y
        check_every = 1 if device.type == "cpu" else 25
        finite = torch.ones(k, dtype=torch.bool, device=device)

        def finish(slices: Sequence[int], make: Callable[[int, int], TrainResult]) -> None:
            """Record results for the current ``slices`` and drop them from the population."""
            nonlocal finite
            for s in slices:
                member = pop.members[s]
                results[member] = make(s, member)
            keep = [s for s in range(len(pop)) if s not in set(slices)]
            if keep:
                pop.keep(keep)
                finite = finite[torch.tensor(keep, device=device)]

        def seconds() -> float:
            return (time.perf_counter() - start) / k

        def diverged_at(n: int) -> Callable[[int, int], TrainResult]:
            return lambda s, m: TrainResult(
                DIVERGED_FITNESS, n, diverged=True, diverged_at_step=n, curve=curves[m],
                seconds=seconds(),
            )

        for step, idx in enumerate(batch_indices(len(data.train_y), recipe.batch_size, steps, gen)):
            lr = recipe.lr_at(step) if recipe.lr_milestones else None
            idx = idx.to(device, non_blocking=True)
            xb, yb = data.train_x[idx], data.train_y[idx]
            if task.augment is not None:
                xb = task.augment(xb, gen)
            member_losses = pop.losses(xb, yb)
            finite &= torch.isfinite(member_losses.detach())
            bad: list[int] = []
            if (step + 1) % check_every == 0 and not bool(finite.all()):
                bad = torch.nonzero(~finite).flatten().tolist()
                if len(bad) == len(pop):
                    finish(bad, diverged_at(step + 1))
                    break
            # A diverged member's loss is left out of the sum; its own slice of the gradient may
            # still be NaN, but no operation mixes members, and it leaves the population below.
            pop.step(torch.where(finite, member_losses, 0.0), lr)
            if bad:
                finish(bad, diverged_at(step + 1))
            if on_step is not None:
                on_step(step + 1)
            done = step + 1
            if eval_every and done % eval_every == 0 and done < steps:
                accs = pop.accuracy(eval_x, eval_y, eval_bs).tolist()
                for s, acc in enumerate(accs):
                    curves[pop.members[s]].append((done, acc))
            if abort_rule is not None and done == abort_rule.check_step and done < steps:
                accs = pop.accuracy(data.val_x, data.val_y, eval_bs).tolist()
                low = [s for s, acc in enumerate(accs) if acc < abort_rule.min_accuracy]
                if low:
                    finish(low, lambda s, m, n=done, a=accs: TrainResult(  # type: ignore[misc]
                        a[s], n, aborted=True, curve=curves[m], seconds=seconds()
                    ))
                    if len(low) == len(accs):
                        break
        remaining = [s for s in range(len(pop)) if results[pop.members[s]] is None]
        if remaining:
            ok = (finite & pop.finite_weights()).tolist()
            diverged = [s for s in remaining if not ok[s]]
            alive = [s for s in remaining if ok[s]]
            val = pop.accuracy(data.val_x, data.val_y, eval_bs).tolist()
            test = None
            if evaluate_test:
                test = pop.accuracy(data.test_x, data.test_y, eval_bs).tolist()
            final = pop.accuracy(eval_x, eval_y, eval_bs).tolist() if eval_every else None
            for s in diverged:
                m = pop.members[s]
                results[m] = TrainResult(
                    DIVERGED_FITNESS, steps, diverged=True, diverged_at_step=steps,
                    curve=curves[m], seconds=seconds(),
                )
            for s in alive:
                m = pop.members[s]
                if final is not None:
                    curves[m].append((steps, final[s]))
                results[m] = TrainResult(
                    val[s], steps, test_accuracy=None if test is None else test[s],
                    curve=curves[m], seconds=seconds(),
                )
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Choosing the path: measured once per (device, task, k), remembered in a JSON file.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PathTiming:
    """Measured cost of one candidate-step on each path.

    Attributes:
        vectorized: Seconds per candidate per step in a vectorized population of ``k``.
        sequential: Seconds per candidate per step, one model at a time.
    """

    vectorized: float
    sequential: float

    @property
    def speedup(self) -> float:
        """How many times faster the vectorized path is (below 1: slower)."""
        return self.sequential / self.vectorized if self.vectorized > 0 else math.inf


@dataclass(frozen=True)
class PathChoice:
    """Which path trains a population, and why.

    Attributes:
        path: ``"vectorized"`` or ``"sequential"``.
        reason: One readable line (for logs and the benchmark).
        timing: The measurement behind an automatic choice, if one was made.
        cached: Whether the measurement was read from the autotune file.
    """

    path: str
    reason: str
    timing: PathTiming | None = None
    cached: bool = False


#: ``measure(task, k, device, data) -> PathTiming``; injectable for tests.
Measure = Callable[[Task, int, torch.device, Splits], PathTiming]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _probe_batches(data: Splits, task: Task, n: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    gen = torch.Generator().manual_seed(0)
    for idx in batch_indices(len(data.train_y), task.recipe.batch_size, n, gen):
        idx = idx.to(data.train_y.device)
        yield data.train_x[idx], data.train_y[idx]


def _probe_losses(k: int, device: torch.device) -> list[nn.Module]:
    """Representative candidate losses for timing: third-order TaylorGLO losses."""
    from optuna_glo.losses import TAYLORGLO_MNIST_THETA

    theta = torch.tensor(TAYLORGLO_MNIST_THETA)
    return [TaylorGLOLoss(theta).to(device) for _ in range(k)]


def measure_paths(
    task: Task,
    k: int,
    device: torch.device,
    data: Splits,
    *,
    max_steps: int = 5,
    min_seconds: float = 1.0,
    amp: bool = False,
    compile: bool = False,
) -> PathTiming:
    """Time training steps of a ``k``-member population and of one model alone.

    Both paths run the real step (forward, per-member loss, backward, SGD) on the task's real
    batches, after one untimed warm-up step (two with ``compile``). Each path is timed over at
    least 2 and at most ``max_steps`` steps, stopping once ``min_seconds`` have passed. ``data``
    must be on ``device``.
    """
    if max_steps < 2:
        raise ValueError(f"`max_steps` must be >= 2. The specified `max_steps` is {max_steps}.")
    warmup = 2 if compile else 1
    batches = list(_probe_batches(data, task, warmup + max_steps))

    def timed(step: Callable[[torch.Tensor, torch.Tensor], None]) -> float:
        for xb, yb in batches[:warmup]:
            step(xb, yb)
        _sync(device)
        t0 = time.perf_counter()
        n = 0
        for xb, yb in batches[warmup:]:
            step(xb, yb)
            n += 1
            if n >= 2:
                _sync(device)
                if time.perf_counter() - t0 >= min_seconds:
                    break
        _sync(device)
        return (time.perf_counter() - t0) / n

    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        pop = Population(
            task, _probe_losses(k, device), list(range(k)), device, amp=amp, compile=compile
        )
        vectorized = timed(lambda xb, yb: pop.step(pop.losses(xb, yb))) / k

        torch.manual_seed(0)
        model = task.model().to(device)
        model.train()
        optimizer = task.recipe.make_optimizer(list(model.parameters()))
        loss_fn = _probe_losses(1, device)[0]

        def one_step(xb: torch.Tensor, yb: torch.Tensor) -> None:
            loss = loss_fn(model(xb), yb)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

        sequential = timed(one_step)
    return PathTiming(vectorized=vectorized, sequential=sequential)


def _cache_key(device: torch.device, task: Task, k: int, amp: bool, compile: bool) -> str:
    key = f"{device_name(device)} | {task.name} | k={k}"
    if amp:
        key += " | bf16"
    if compile:
        key += " | compile"
    return key


def _read_cache(path: Path) -> dict[str, dict[str, object]]:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _write_cache(path: Path, key: str, entry: dict[str, object]) -> None:
    """Add one entry (read, update, atomic replace: concurrent workers lose nothing but a race)."""
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        cache = _read_cache(path)
        cache[key] = entry
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(cache, indent=1, sort_keys=True) + "\n")
        tmp.replace(path)


def choose_path(
    task: Task,
    k: int,
    device: torch.device,
    data: Splits,
    *,
    path: PathName = "auto",
    cache_file: Path | None = None,
    measure: Measure | None = None,
    amp: bool = False,
    compile: bool = False,
) -> PathChoice:
    """Pick vectorized or one-by-one training for ``k`` members of ``task`` on ``device``.

    ``"auto"`` measures both paths the first time (:func:`measure_paths`, or ``measure``) and
    remembers the result per (device name, task, k) in ``cache_file``; later calls read it. It
    takes the vectorized path only when that measured at least :data:`MIN_SPEEDUP` times faster.

    Args:
        task: The task.
        k: Population size (members trained together).
        device: The device.
        data: The task's data, on ``device`` (used for the measurement).
        path: ``"auto"``, ``"vectorized"`` or ``"sequential"``.
        cache_file: The autotune JSON file; ``None`` measures without remembering.
        measure: Replaces :func:`measure_paths` (tests inject timings).
        amp: bf16 autocast (part of the cache key).
        compile: ``torch.compile`` (part of the cache key).
    """
    if path not in ("auto", "vectorized", "sequential"):
        raise ValueError(
            f"`path` must be 'auto', 'vectorized' or 'sequential'. The specified `path` is "
            f"{path!r}."
        )
    if path == "sequential":
        return PathChoice("sequential", "requested")
    if not task.vectorizable:
        reason = task.not_vectorizable_reason or "the task is marked not vectorizable"
        if path == "vectorized":
            raise ValueError(
                f"Task {task.name!r} cannot be trained as a vectorized population: {reason}. "
                "Use `path='sequential'` (or 'auto')."
            )
        return PathChoice("sequential", f"task {task.name!r} is not vectorizable: {reason}")
    if path == "vectorized":
        return PathChoice("vectorized", "requested")
    if k == 1:
        return PathChoice("sequential", "a population of one")
    key = _cache_key(device, task, k, amp, compile)
    if cache_file is not None:
        entry = _read_cache(cache_file).get(key)
        if isinstance(entry, dict):
            with contextlib.suppress(KeyError, TypeError, ValueError):
                timing = PathTiming(float(entry["vectorized"]), float(entry["sequential"]))  # type: ignore[arg-type]
                return _choice(timing, cached=True)
    measure_fn = measure or (lambda t, n, d, s: measure_paths(t, n, d, s, amp=amp, compile=compile))
    timing = measure_fn(task, k, device, data)
    if cache_file is not None:
        entry_out: dict[str, object] = {**asdict(timing), "speedup": round(timing.speedup, 3)}
        entry_out["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        entry_out["torch"] = torch.__version__
        _write_cache(cache_file, key, entry_out)
    return _choice(timing, cached=False)


#: The vectorized path is chosen only when measured at least this many times faster: a few timed
#: steps on a busy machine are noisy, and a wrong "vectorized" can cost 2x where a wrong
#: "sequential" costs at most this margin.
MIN_SPEEDUP = 1.1


def _choice(timing: PathTiming, *, cached: bool) -> PathChoice:
    path = "vectorized" if timing.speedup >= MIN_SPEEDUP else "sequential"
    how = "remembered" if cached else "measured"
    reason = f"{how}: vectorized is {timing.speedup:.2f}x one-by-one"
    return PathChoice(path, reason, timing, cached)


# --------------------------------------------------------------------------------------------
# Memory: how many members fit.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MemoryPlan:
    """How many members of a task fit on a device.

    Attributes:
        bytes_per_member: Estimated peak bytes one member adds (weights, gradients, momentum,
            activations of a training batch and of an evaluation chunk).
        free_bytes: Free memory of the device when planned.
        max_members: How many members fit in ``MEMORY_FRACTION`` of the free memory.
    """

    bytes_per_member: int
    free_bytes: int
    max_members: int


def free_memory(device: torch.device) -> int:
    """Free bytes on ``device``: the GPU's free memory, or the host's available memory."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def _activation_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """Sum of every leaf module's output size for input ``x`` (run on the meta device)."""
    total = 0

    def hook(_module: nn.Module, _inputs: object, output: object) -> None:
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel() * output.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    return total


def plan_memory(
    task: Task, data: Splits, device: torch.device, *, eval_batch: int | None = None
) -> MemoryPlan:
    """Estimate how many members of ``task`` fit on ``device`` (without allocating them there).

    The activations are measured by a forward pass of one model on two samples on the CPU,
    scaled to the training batch (a meta-device pass would avoid even that, but its first use
    in a process costs seconds).
    """
    recipe = task.recipe
    with torch.random.fork_rng(devices=[]):  # leave the caller's random stream alone
        model = task.model()
    n_params = sum(p.numel() for p in model.parameters())
    # Weights, gradients, momentum (even when unused, as headroom) and a step's temporaries.
    weight_bytes = 4 * 4 * n_params
    probe = data.train_x[:2].detach().to("cpu", torch.float32)
    per_sample = _activation_bytes(model, probe) / len(probe)
    # Activations are kept for backward and matched by their gradients: twice the outputs.
    train_bytes = 2 * per_sample * recipe.batch_size
    eval_bytes = per_sample * (eval_batch or recipe.batch_size)
    per_member = int(weight_bytes + max(train_bytes, eval_bytes))
    free = free_memory(device)
    return MemoryPlan(per_member, free, max(0, int(free * MEMORY_FRACTION) // per_member))


# --------------------------------------------------------------------------------------------
# What the worker calls.
# --------------------------------------------------------------------------------------------


def evaluate_population(
    task: Task,
    losses_or_thetas: LossesOrThetas,
    seeds: Sequence[int],
    *,
    steps: int | None = None,
    data_seed: int | Sequence[int] | None = None,
    device: str | torch.device | None = "cpu",
    data_dir: str | Path | None = None,
    download: bool = False,
    data: Splits | None = None,
    path: PathName = "auto",
    population_batch: int | None = None,
    abort_rule: AbortRule | None = None,
    evaluate_test: bool = False,
    eval_every: int | None = None,
    eval_on: str = "val",
    amp: bool = False,
    compile: bool = False,
    autotune: bool | Path = True,
    measure: Measure | None = None,
    on_step: Callable[[int], None] | None = None,
    on_choice: Callable[[PathChoice], None] | None = None,
) -> list[TrainResult]:
    """Train ``k`` candidates of ``task`` (one per loss and seed) and measure each.

    The results are those of ``[train(task, loss_j, seed=seeds[j], data_seed=data_seeds[j],
    ...)]`` (to float tolerance; with dropout, equal in distribution), whichever path runs: one
    vectorized population (or several, when the device fits fewer than ``k``) or one model after
    another. Members train together only when they share a data seed (the same batches in
    lockstep); with common random numbers (one seed for all) the whole generation does.

    Args:
        task: The task (data set, model, recipe).
        losses_or_thetas: ``k`` loss modules, or a ``[k, P]`` tensor of TaylorGLO parameters.
        seeds: ``k`` seeds of the models' initialisation.
        steps: Training steps; default the recipe's ``partial_steps``.
        data_seed: Seed of the batch order and augmentation: one for all members (common random
            numbers: every candidate sees the same batches), one per member, or ``None`` for each
            member's own seed (as ``train``'s default).
        device: ``"cpu"``, ``"cuda:K"`` or ``"auto"``.
        data_dir: Where data sets are read (and downloaded to, if ``download``); the autotune file
            lives there too.
        download: Whether a missing data set may be downloaded.
        data: Pre-loaded splits (moved to ``device`` here if needed).
        path: ``"auto"`` (measure once, remember, take the faster), ``"vectorized"`` or
            ``"sequential"``.
        population_batch: Members trained together at most; default: as many as fit the device.
            A value the device cannot fit is refused before any training.
        abort_rule: TaylorGLO's abort-and-retry rule (appendix A.5), or ``None``.
        evaluate_test: Also measure test accuracy at the end.
        eval_every: Record accuracy every this many steps (training curves).
        eval_on: ``"val"`` or ``"test"``: the split of the recorded curve.
        amp: bf16 autocast of the vectorized forward pass (off by default; see benchmarks/).
        compile: ``torch.compile`` the vectorized forward pass (off by default).
        autotune: ``True``: remember measurements in ``<data dir>/autotune.json``; a path: that
            file; ``False``: measure every time without remembering.
        measure: Replaces :func:`measure_paths` for the automatic choice (tests).
        on_step: Called with the steps done (of the current population or model) after each step.
        on_choice: Called with the :class:`PathChoice` made for each population.

    Returns:
        One :class:`TrainResult` per candidate, in the order given.
    """
    losses = as_losses(losses_or_thetas)
    k = len(losses)
    seeds = [int(s) for s in seeds]
    if k == 0:
        raise ValueError("`losses_or_thetas` is empty: a population needs at least one member.")
    if len(seeds) != k:
        raise ValueError(
            f"`seeds` must have one seed per candidate. Got {k} candidates and {len(seeds)} seeds."
        )
    if data_seed is None:
        data_seeds = list(seeds)
    elif isinstance(data_seed, int):
        data_seeds = [data_seed] * k
    else:
        data_seeds = [int(s) for s in data_seed]
        if len(data_seeds) != k:
            raise ValueError(
                f"`data_seed` must be one seed or one per candidate. Got {k} candidates and "
                f"{len(data_seeds)} data seeds."
            )
    if population_batch is not None and population_batch < 1:
        raise ValueError(
            f"`population_batch` must be >= 1. The specified `population_batch` is "
            f"{population_batch}."
        )
    steps = task.recipe.partial_steps if steps is None else steps
    if steps < 1:
        raise ValueError(f"`steps` must be >= 1. The specified `steps` is {steps}.")
    if eval_on not in ("val", "test"):
        raise ValueError(f"`eval_on` must be 'val' or 'test'. The specified value is {eval_on!r}.")
    dev = resolve_device(device)
    if data is None:
        data = load_dataset(task.dataset, data_dir, download)
    data = data.to(dev)
    cache_file: Path | None = None
    if autotune is True:
        cache_file = resolve_data_dir(data_dir) / AUTOTUNE_FILE
    elif isinstance(autotune, Path):
        cache_file = autotune

    results: list[TrainResult | None] = [None] * k

    def one_by_one(indices: Sequence[int]) -> None:
        for i in indices:
            results[i] = train(
                task, losses[i], steps=steps, seed=seeds[i], data_seed=data_seeds[i], device=dev,
                data=data, abort_rule=abort_rule, eval_every=eval_every, eval_on=eval_on,
                evaluate_test=evaluate_test, on_step=on_step,
            )

    if path == "sequential" or (path == "auto" and not task.vectorizable):
        choice = choose_path(task, k, dev, data, path=path)
        _logger.info("%s, k=%d: one by one (%s)", task.name, k, choice.reason)
        if on_choice is not None:
            on_choice(choice)
        one_by_one(range(k))
        return results  # type: ignore[return-value]

    # Members that share a data seed can train in lockstep; the device bounds how many at once.
    groups: dict[int, list[int]] = {}
    for i, ds in enumerate(data_seeds):
        groups.setdefault(ds, []).append(i)
    chunk = _population_size(task, data, dev, max(map(len, groups.values())), population_batch)
    for ds, group in groups.items():
        for lo in range(0, len(group), chunk):
            members = group[lo : lo + chunk]
            try:
                choice = choose_path(
                    task, len(members), dev, data, path=path, cache_file=cache_file,
                    measure=measure, amp=amp, compile=compile,
                )
            except torch.OutOfMemoryError:
                raise ValueError(
                    f"A population of {len(members)} members of task {task.name!r} ran out of "
                    f"memory on {device_name(dev)} while its speed was measured, before any "
                    "training. Give a smaller `population_batch`."
                ) from None
            _logger.info(
                "%s, k=%d: %s (%s)", task.name, len(members), choice.path, choice.reason
            )
            if on_choice is not None:
                on_choice(choice)
            if choice.path == "sequential":
                one_by_one(members)
                continue
            out = _train_with_retries(
                task, [losses[i] for i in members], [seeds[i] for i in members], data,
                steps=steps, data_seed=ds, device=dev, abort_rule=abort_rule,
                eval_every=eval_every, eval_on=eval_on, evaluate_test=evaluate_test,
                on_step=on_step, amp=amp, compile=compile,
            )
            for i, result in zip(members, out, strict=True):
                results[i] = result
    return results  # type: ignore[return-value]


def evaluate_trials(
    objective: LossSearchObjective,
    trials: Sequence[optuna.trial.Trial],
    *,
    population_batch: int | None = None,
    path: PathName = "auto",
    on_choice: Callable[[PathChoice], None] | None = None,
) -> list[float]:
    """The batch form of ``objective(trial)``: the values of ``trials``, trained together.

    Each trial's loss, seed and recorded user attributes are exactly those
    :class:`~optuna_glo.objectives.LossSearchObjective` gives it one at a time; the candidates
    that can train are trained by :func:`evaluate_population` (one vectorized population when
    they share a seed, i.e. with common random numbers, and the device measured it faster).

    Args:
        objective: The study's objective (task, loss per trial, steps, seeds, device).
        trials: Running trials, e.g. one CMA-ES generation asked in a row.
        population_batch: Members trained together at most (default: what fits the device).
        path: ``"auto"``, ``"vectorized"`` or ``"sequential"`` (see :func:`evaluate_population`).
        on_choice: Called with the path chosen for each population.
    """
    values: list[float] = [DIVERGED_FITNESS] * len(trials)
    todo: list[int] = []
    losses: list[nn.Module] = []
    seeds: list[int] = []
    for i, trial in enumerate(trials):
        loss = objective.candidate(trial)
        if isinstance(loss, float):  # untrainable or cached: its value needs no training
            values[i] = loss
            continue
        todo.append(i)
        losses.append(loss)
        seeds.append(objective.seed_of(trial))
    if not todo:
        return values
    results = evaluate_population(
        objective.task, losses, seeds, steps=objective.steps, device=objective.device,
        data=objective.data, data_dir=objective.data_dir, abort_rule=objective.abort_rule,
        population_batch=population_batch, path=path, on_choice=on_choice,
    )
    for i, result in zip(todo, results, strict=True):
        record_result(trials[i], result)
        values[i] = result.value
    return values


def _population_size(
    task: Task, data: Splits, device: torch.device, k: int, population_batch: int | None
) -> int:
    """Members per vectorized population: ``population_batch`` if it fits, else what fits."""
    plan = plan_memory(task, data, device)
    mib = 2**20
    if population_batch is not None:
        if population_batch > plan.max_members:
            raise ValueError(
                f"`population_batch` is {population_batch}, but {device_name(device)} fits at "
                f"most {plan.max_members} members of task {task.name!r} (about "
                f"{plan.bytes_per_member / mib:.0f} MiB each, {plan.free_bytes / mib:.0f} MiB "
                f"free). Give a `population_batch` of at most {plan.max_members}, or none to "
                "choose automatically."
            )
        return min(k, population_batch)
    if plan.max_members < 1:
        raise ValueError(
            f"Not even one member of task {task.name!r} fits on {device_name(device)}: about "
            f"{plan.bytes_per_member / mib:.0f} MiB are needed, {plan.free_bytes / mib:.0f} MiB "
            "are free. Free memory on the device or use `path='sequential'`."
        )
    return min(k, plan.max_members)


def _train_with_retries(
    task: Task,
    losses: list[nn.Module],
    seeds: list[int],
    data: Splits,
    *,
    steps: int,
    data_seed: int,
    device: torch.device,
    abort_rule: AbortRule | None,
    **kwargs: object,
) -> list[TrainResult]:
    """:func:`train_population`, with ``train``'s abort-and-retry rule applied to the population.

    Members aborted by the rule are trained again together, with both seeds shifted as ``train``
    shifts them for a retry.
    """
    results: list[TrainResult | None] = [None] * len(seeds)
    pending = list(range(len(seeds)))
    seconds = [0.0] * len(seeds)
    attempts = 1 + (abort_rule.max_retries if abort_rule else 0)
    for attempt in range(attempts):
        offset = attempt * SEED_STRIDE
        out = train_population(
            task, [losses[i] for i in pending], [seeds[i] + offset for i in pending], data,
            steps=steps, data_seed=data_seed + offset, device=device, abort_rule=abort_rule,
            **kwargs,  # type: ignore[arg-type]
        )
        retry = []
        for i, result in zip(pending, out, strict=True):
            seconds[i] += result.seconds
            result.attempts = attempt + 1
            result.seconds = seconds[i]
            results[i] = result
            if result.aborted:
                retry.append(i)
        pending = retry
        if not pending:
            break
    return results  # type: ignore[return-value]


__all__ = [
    "AUTOTUNE_FILE",
    "MIN_SPEEDUP",
    "MemoryPlan",
    "PathChoice",
    "PathTiming",
    "Population",
    "PopulationLoss",
    "as_losses",
    "choose_path",
    "device_name",
    "evaluate_population",
    "evaluate_trials",
    "measure_paths",
    "plan_memory",
    "train_population",
]
