"""Memory planning: how many members of a task fit on a device, estimated before allocating them."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from optuna_glo.objectives._data import Splits
from optuna_glo.objectives._device import device_name
from optuna_glo.objectives._tasks import Task

#: Part of the free device memory a model stack may plan to use (the rest is headroom for the
#: allocator, kernels' workspaces and the evaluation batches).
MEMORY_FRACTION = 0.7


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
    """Sum of every leaf module's output size for input ``x`` (one forward pass, no gradients)."""
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


def stack_size(
    task: Task, data: Splits, device: torch.device, k: int, population_batch: int | None
) -> int:
    """Members per model stack: ``population_batch`` if it fits, else what fits."""
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
