"""Choosing the path: a model stack or one model after another, measured once and remembered.

Vectorizing is not always faster (on a 2-core CPU the MNIST CNN stacked is about 2x slower than
one by one), so :func:`choose_path` measures both paths on the actual device and task the first
time (:func:`measure_paths`) and remembers the faster per (device, task, k) in a small JSON file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.objectives._data import Splits
from optuna_glo.objectives._device import cuda_devices, device_name
from optuna_glo.objectives._loop import batch_indices
from optuna_glo.objectives._tasks import Task
from optuna_glo.objectives._training import SingleModel
from optuna_glo.objectives.stack._model import ModelStack

#: Path names: ``"vectorized"`` (one model stack), ``"sequential"`` (one model after another with
#: :func:`~optuna_glo.objectives.train`), ``"auto"`` (the faster, measured).
PathName = Literal["auto", "vectorized", "sequential"]

#: Name of the autotune cache file in the data directory.
AUTOTUNE_FILE = "autotune.json"


@dataclass(frozen=True)
class PathTiming:
    """Measured cost of one candidate-step on each path.

    Attributes:
        vectorized: Seconds per candidate per step in a model stack of ``k``.
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
    """Which path trains a group of candidates, and why.

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
    """Time training steps of a ``k``-member model stack and of one model alone.

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

    with torch.random.fork_rng(devices=cuda_devices(device)):
        stack = ModelStack.from_seeds(
            task, _probe_losses(k, device), list(range(k)), device, amp=amp, compile=compile
        )
        vectorized = timed(lambda xb, yb: stack.step(stack.losses(xb, yb))) / k
        torch.manual_seed(0)
        single = SingleModel(task, _probe_losses(1, device)[0], device)
        sequential = timed(lambda xb, yb: single.step(single.losses(xb, yb)))
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
        k: Members trained together.
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
                f"Task {task.name!r} cannot be trained as a model stack: {reason}. "
                "Use `path='sequential'` (or 'auto')."
            )
        return PathChoice("sequential", f"task {task.name!r} is not vectorizable: {reason}")
    if path == "vectorized":
        return PathChoice("vectorized", "requested")
    if k == 1:
        return PathChoice("sequential", "a stack of one")
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
