"""Choose `digits-mlp`'s learning rate: cross-entropy's validation accuracy on a log grid.

    python benchmarks/tune_digits_lr.py [--steps 300] [--seeds 5]

Prints mean (std) validation and test accuracy per learning rate; the task's recipe uses the rate
with the best mean validation accuracy.
"""

from __future__ import annotations

import argparse
import statistics

from optuna_glo.losses import CrossEntropy
from optuna_glo.objectives import get_task, train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--lrs", default="0.01,0.03,0.1,0.3,1.0")
    args = parser.parse_args()
    base = get_task("digits-mlp")
    print(f"digits-mlp, cross-entropy, {args.steps} steps, {args.seeds} seeds")
    for lr in [float(v) for v in args.lrs.split(",")]:
        task = base.with_recipe(lr=lr)
        results = [
            train(task, CrossEntropy(), steps=args.steps, seed=s, evaluate_test=True)
            for s in range(args.seeds)
        ]
        val = [r.value for r in results]
        test = [r.test_accuracy or 0.0 for r in results]
        print(
            f"lr={lr:<6g} val {statistics.mean(val):.4f} ({statistics.stdev(val):.4f})  "
            f"test {statistics.mean(test):.4f} ({statistics.stdev(test):.4f})"
        )


if __name__ == "__main__":
    main()
