"""Choose a task's learning rate: cross-entropy's validation accuracy over a log grid of rates.

    python benchmarks/tune_lr.py --task NAME [--steps N] [--seeds 5] [--lrs 0.01,0.03,...]
                                 [--threads 1] [--json FILE]

Trains standard cross-entropy (the baseline every found loss is compared with) with each rate
and seeds 0..seeds-1, for the task's partial-training length by default (the length at which a
search compares candidates), and prints mean (std) validation and test accuracy per rate and the
rate with the best mean validation accuracy: the task's recipe uses it. A best rate at an end of
the grid is flagged: extend the grid. ``--json`` also writes every figure to FILE.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import time

import torch

from optuna_glo.losses import CrossEntropy
from optuna_glo.objectives import get_task, load_dataset, train

#: Roughly 2x apart, from far too slow to far too fast for plain SGD on these tasks.
DEFAULT_LRS = "0.01,0.02,0.05,0.1,0.2,0.5,1.0,2.0"


def _rates(text: str) -> list[float]:
    rates = [float(v) for v in text.split(",")]
    if not rates or any(not math.isfinite(r) or r <= 0 for r in rates):
        raise argparse.ArgumentTypeError(f"--lrs must be positive finite numbers, got {text!r}.")
    return sorted(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--task", required=True)
    parser.add_argument("--steps", type=int, default=None, help="default: the task's partial steps")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lrs", type=_rates, default=_rates(DEFAULT_LRS))
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    base = get_task(args.task)
    steps = args.steps or base.recipe.partial_steps
    data = load_dataset(base.dataset)
    print(f"{args.task}, cross-entropy, {steps} steps, seeds 0..{args.seeds - 1}, "
          f"{platform.machine()} CPU, {args.threads} thread(s)")
    rows = []
    start = time.perf_counter()
    for lr in args.lrs:
        task = base.with_recipe(lr=lr)
        results = [
            train(task, CrossEntropy(), steps=steps, seed=s, data=data, evaluate_test=True)
            for s in range(args.seeds)
        ]
        val = [r.value for r in results]
        test = [r.test_accuracy or 0.0 for r in results]
        rows.append({"lr": lr, "val": val, "test": test})
        print(f"lr={lr:<6g} val {statistics.mean(val):.4f} ({statistics.stdev(val):.4f})  "
              f"test {statistics.mean(test):.4f} ({statistics.stdev(test):.4f})", flush=True)
    best = max(rows, key=lambda row: statistics.mean(row["val"]))
    edge = best["lr"] in (args.lrs[0], args.lrs[-1])
    print(f"best lr {best['lr']:g} (mean validation accuracy {statistics.mean(best['val']):.4f})"
          + ("  AT THE GRID'S EDGE: extend --lrs" if edge else "")
          + f"; {time.perf_counter() - start:.0f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"task": args.task, "steps": steps, "seeds": args.seeds, "rows": rows,
                       "best_lr": best["lr"], "best_at_edge": edge}, f, indent=1)


if __name__ == "__main__":
    main()
