"""Training a generation as model stacks against one-by-one training: candidates per second.

    python benchmarks/population.py --task digits-mlp --k 28
    python benchmarks/population.py --task fashion-mnist-basic-cnn --k 8 [--steps S] [--device D]

Trains the same k candidates (the same seeds and TaylorGLO losses) twice in one run: one after
another with ``train`` (what a worker without batch mode runs), and as the batch-mode worker runs
them, ``train_candidates(path="auto")``, which measures both paths once on this device and task
and takes the faster. Prints a JSON report, then one line with candidates trained per second
both ways, ``ratio=<batched/one-by-one>``, the device and whether the final validation accuracies
of both runs agree.

The candidates are a CMA-ES first generation as the TaylorGLO sampler draws it (third-order
thetas around 0 with sigma 1.2, TaylorGLO section 5), all with one training seed (common random
numbers, the worker's default). ``--steps`` defaults to the recipe's partial-training length on a
GPU and, on a CPU, to as many steps (at least 10) as keep the whole run under about a minute.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch
from _random_data import task_data

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.objectives import (
    PathChoice,
    Splits,
    Task,
    choose_path,
    device_name,
    get_task,
    resolve_device,
    train,
    train_candidates,
)

#: Seconds of training and evaluation the default CPU step count aims at (both runs together).
CPU_BUDGET_S = 35.0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--task", default="digits-mlp")
    parser.add_argument("--k", type=int, default=28, help="candidates (generation size)")
    parser.add_argument("--steps", type=int, default=None, help="training steps per candidate")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--seed", type=int, default=0, help="seed of the candidates and training")
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (CPU)")
    parser.add_argument("--amp", action="store_true", help="bf16 autocast in the model stack")
    parser.add_argument("--compile", action="store_true", help="torch.compile the model stack")
    parser.add_argument("--json", type=Path, default=None, help="also write the report here")
    parser.add_argument("--data", choices=("auto", "real", "random"), default="auto",
                        help="random tensors of the task's shapes when the data set is missing "
                        "(auto; the report says which)")
    args = parser.parse_args()
    if args.k < 1:
        parser.error(f"--k must be >= 1, got {args.k}")
    if args.threads is not None:
        torch.set_num_threads(args.threads)

    task = get_task(args.task)
    device = resolve_device(args.device)
    splits, data_source = task_data(task, args.data)
    data = splits.to(device)
    g = torch.Generator().manual_seed(args.seed)
    thetas = 1.2 * torch.randn(args.k, 8, generator=g)  # CMA-ES generation 0: mean 0, sigma 1.2
    seeds = [args.seed] * args.k

    # The automatic choice, measured once per device, task and k (a worker remembers it).
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "autotune.json"
        t0 = time.perf_counter()
        choice = choose_path(task, args.k, device, data, cache_file=cache, amp=args.amp,
                             compile=args.compile)
        autotune_s = time.perf_counter() - t0
        assert choice.timing is not None or choice.path == "sequential"
        steps = args.steps or default_steps(task, args.k, device, data, choice)

        # Warm-up, untimed: the first training and evaluation in a process pay one-off costs
        # (allocator growth, kernel selection) that would otherwise fall on the first run timed.
        train(task, TaylorGLOLoss(thetas[0]), steps=2, seed=args.seed, device=device, data=data)

        t0 = time.perf_counter()
        one_by_one = train_candidates(task, thetas, seeds, steps=steps, data_seed=args.seed,
                                      device=device, data=data, path="sequential")
        _sync(device)
        sequential_s = time.perf_counter() - t0

        chosen: list[PathChoice] = []
        t0 = time.perf_counter()
        batched = train_candidates(
            task, thetas, seeds, steps=steps, data_seed=args.seed, device=device, data=data,
            path="auto", autotune=cache, amp=args.amp, compile=args.compile,
            on_choice=chosen.append,
        )
        _sync(device)
        batched_s = time.perf_counter() - t0

    acc_seq = [r.value for r in one_by_one]
    acc_bat = [r.value for r in batched]
    diffs = [abs(a - b) for a, b in zip(acc_seq, acc_bat, strict=True)]
    one_sample = 1.0 / len(data.val_y)
    agree = max(diffs) <= 1.5 * one_sample
    report = {
        "task": task.name,
        "k": args.k,
        "steps": steps,
        "device": device_name(device),
        "data": data_source,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "amp": args.amp,
        "compile": args.compile,
        "path": sorted({c.path for c in chosen}),
        "choice": choice.reason,
        "speedup_measured_by_autotune": None if choice.timing is None else choice.timing.speedup,
        "autotune_seconds": autotune_s,
        "one_by_one_seconds": sequential_s,
        "batched_seconds": batched_s,
        "one_by_one_candidates_per_s": args.k / sequential_s,
        "batched_candidates_per_s": args.k / batched_s,
        "ratio": sequential_s / batched_s,
        "val_accuracy_one_by_one": acc_seq,
        "val_accuracy_batched": acc_bat,
        "accuracies_equal": sum(d == 0 for d in diffs),
        "accuracy_max_diff": max(diffs),
        "accuracies_agree": agree,
        "diverged": sum(r.diverged for r in batched),
    }
    print(json.dumps(report, indent=1))
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    print(
        f"{task.name} k={args.k} steps={steps} on {report['device']}: one-by-one "
        f"{report['one_by_one_candidates_per_s']:.3f} cand/s, batched "
        f"({'+'.join(report['path'])}) {report['batched_candidates_per_s']:.3f} cand/s, "
        f"ratio={report['ratio']:.2f}; val accuracies agree: {'yes' if agree else 'NO'} "
        f"({report['accuracies_equal']}/{args.k} equal, max diff {max(diffs):.4f})"
    )


def default_steps(
    task: Task, k: int, device: torch.device, data: Splits, choice: PathChoice
) -> int:
    """The recipe's partial steps on a GPU; on a CPU, what fits :data:`CPU_BUDGET_S`."""
    partial = task.recipe.partial_steps
    if device.type != "cpu" or choice.timing is None:
        return partial
    per_step = choice.timing.sequential + min(choice.timing.sequential, choice.timing.vectorized)
    # Evaluating a candidate on the validation set: forward passes only, about a third of a step
    # per training batch's worth of samples; twice (once per run).
    eval_s = 2 * k * (len(data.val_y) / task.recipe.batch_size) * choice.timing.sequential / 3
    steps = int((CPU_BUDGET_S - eval_s) / (k * per_step))
    return max(10, min(partial, steps))


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


if __name__ == "__main__":
    main()
