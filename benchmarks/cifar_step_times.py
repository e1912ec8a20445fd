"""Time one training step of each CIFAR-10 / SVHN task at its recipe's batch size.

A step is what ``train_once`` does per batch: index the batch on the device, the task's on-device
augmentation, forward, the loss, backward and the recipe's SGD update. Inputs are uniform random
pixels already on the device: this measures speed only (no accuracy), so it needs no data set.
On a GPU the time is taken with CUDA events after warm-up steps; the output is a Markdown table
for ``benchmarks/README.md``.

    python benchmarks/cifar_step_times.py                 # every CIFAR-10 / SVHN task, auto device
    python benchmarks/cifar_step_times.py --device cpu --batch-size 16 --tasks cifar10-resnet32
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import torch
from torch import nn

from optuna_glo.objectives import TASKS, count_parameters, get_task, resolve_device


def time_task(
    name: str, device: torch.device, batch_size: int | None, warmup: int, steps: int
) -> tuple[int, float]:
    """``(batch size, median seconds per step)`` of task ``name`` on ``device``."""
    task = get_task(name)
    bs = batch_size or task.recipe.batch_size
    torch.manual_seed(0)
    model = task.model().to(device).train()
    optimizer = task.recipe.make_optimizer(list(model.parameters()))
    loss_fn = nn.CrossEntropyLoss()
    pool = 4 * bs
    x = torch.rand(pool, 3, 32, 32, device=device)
    y = torch.randint(0, 10, (pool,), device=device)
    gen = torch.Generator().manual_seed(0)

    def step() -> None:
        idx = torch.randint(0, pool, (bs,), generator=gen).to(device, non_blocking=True)
        xb, yb = x[idx], y[idx]
        if task.augment is not None:
            xb = task.augment(xb, gen)
        loss = loss_fn(model(xb), yb)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    for _ in range(warmup):
        step()
    times = []
    for _ in range(steps):
        if device.type == "cuda":
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            step()
            end.record()
            torch.cuda.synchronize(device)
            times.append(start.elapsed_time(end) / 1000)
        else:
            t = time.perf_counter()
            step()
            times.append(time.perf_counter() - t)
    return bs, statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = sorted(n for n in TASKS if n.startswith(("cifar10-", "svhn-")))
    parser.add_argument("--tasks", nargs="*", default=default)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch-size", type=int, default=None, help="default: the recipe's")
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    device = resolve_device(args.device)
    where = (
        torch.cuda.get_device_name(device) if device.type == "cuda"
        else f"CPU ({platform.processor() or platform.machine()}, "
        f"{torch.get_num_threads()} threads)"
    )
    print(f"Device: {where}; torch {torch.__version__}; float32, eager\n")
    print("| task | parameters | batch | ms per step | steps per candidate | s per candidate |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for name in args.tasks:
        task = get_task(name)
        bs, sec = time_task(name, device, args.batch_size, args.warmup, args.steps)
        partial = task.recipe.partial_steps
        print(
            f"| {name} | {count_parameters(task.model()):,} | {bs} | {sec * 1000:.1f} | "
            f"{partial:,} | {partial * sec:,.0f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
