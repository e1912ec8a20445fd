"""The baseline's learning-rate search: cross-entropy on a log grid, chosen on the validation set.

A fair baseline (docs/design.md, "The fair baseline"): a loss search at a fixed learning rate partly
rediscovers a larger effective learning rate, so a row "cross_entropy, learning rate tuned" adds
cross-entropy at the best rate of a small log grid, chosen on the validation set.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from optuna_glo.reports.evaluation._rows import BASELINE, Candidate, LRSearch
from optuna_glo.reports.evaluation._runner import Runner
from optuna_glo.reports.evaluation._stats import summarize

#: Seeds of the learning-rate search, distinct from the evaluation seeds (no double dipping).
TUNE_SEED_BASE = 2_000
#: Factors of the task's learning rate tried by the baseline's learning-rate search: a log grid
#: in half decades, wide upwards because a search at a small fixed rate is the case to catch
#: (docs/design.md: cross-entropy at lr 0.01 was best at 100 times that rate on digits).
LR_GRID_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def lr_grid(base_lr: float, factors: Sequence[float] = LR_GRID_FACTORS) -> list[float]:
    """The learning rates of the baseline's search: ``base_lr`` times each factor."""
    if base_lr <= 0:
        raise ValueError(f"`base_lr` must be positive. The specified `base_lr` is {base_lr}.")
    return [float(f"{base_lr * f:.6g}") for f in factors]


def search_lr(
    runner: Runner,
    baseline: Candidate,
    factors: Sequence[float],
    tune_repeats: int,
    announce: Callable[[str], object],
) -> LRSearch:
    """Cross-entropy at each rate of the grid, ``tune_repeats`` seeds each; the best mean
    validation accuracy wins."""
    grid = lr_grid(baseline.lr, factors)
    seeds = [TUNE_SEED_BASE + r for r in range(tune_repeats)]
    announce(
        f"Learning-rate search for cross-entropy on the validation set: {len(grid)} rates "
        f"({', '.join(f'{lr:g}' for lr in grid)}) x {len(seeds)} seeds x {runner.steps:,} steps = "
        f"{len(grid) * len(seeds)} trainings ({len(grid) * len(seeds) * runner.steps:,} steps)."
    )
    jobs = {
        lr: [runner.job(Candidate(BASELINE, baseline.loss, lr), s, "lr search") for s in seeds]
        for lr in grid
    }
    records = runner.run([j for js in jobs.values() for j in js], desc="lr search")
    val = {
        lr: summarize([records[j.key]["val_accuracy"] for j in js]).mean
        for lr, js in jobs.items()
    }
    search = LRSearch(grid, seeds, runner.steps, val)
    announce(
        "Validation accuracy per rate: "
        + ", ".join(f"{lr:g}: {val[lr]:.4f}" for lr in grid)
        + f". Best rate: {search.best_lr:g}."
    )
    return search

