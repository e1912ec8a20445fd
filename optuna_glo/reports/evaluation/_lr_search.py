"""The baseline's learning-rate search: cross-entropy on a log grid, chosen on the validation set.

A fair baseline (docs/design.md, "The fair baseline"): a loss search at a fixed learning rate partly
rediscovers a larger effective learning rate, so a row "cross_entropy, learning rate tuned" adds
cross-entropy at the best rate of a small log grid, chosen on the validation set.

A study that searched the rate with its loss (``[taylorglo] search_lr``) found both with its
trainings; :func:`search_lr_with_budget` tunes cross-entropy's rate with as many trainings of the
same length over the same range.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from optuna_glo.reports.evaluation._lr_cache import LRCache
from optuna_glo.reports.evaluation._rows import BASELINE, Candidate, LRBudget, LRSearch
from optuna_glo.reports.evaluation._runner import Runner
from optuna_glo.reports.evaluation._stats import summarize

#: Seeds of the learning-rate search, distinct from the evaluation seeds (no double dipping).
TUNE_SEED_BASE = 2_000
#: Factors of the task's learning rate tried by the baseline's learning-rate search: a log grid
#: in half decades, wide upwards because a search at a small fixed rate is the case to catch
#: (docs/design.md: cross-entropy at lr 0.01 was best at 100 times that rate on digits).
LR_GRID_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
#: Most times the grid is extended past the edge the best rate lies on.
MAX_GRID_EXTENSIONS = 2


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
    cache: LRCache | None = None,
) -> LRSearch:
    """Cross-entropy at each rate of the grid, ``tune_repeats`` seeds each; the best mean
    validation accuracy wins.

    A best rate on an edge of the grid means a better one may lie beyond it: the grid is then
    extended by one rate past that edge, at the grid's own spacing there, and searched again, at
    most :data:`MAX_GRID_EXTENSIONS` times. Trainings found in ``cache`` are not repeated; new
    ones are added to it.
    """
    grid = sorted(set(lr_grid(baseline.lr, factors)))
    seeds = [TUNE_SEED_BASE + r for r in range(tune_repeats)]
    announce(
        f"Learning-rate search for cross-entropy on the validation set: {len(grid)} rates "
        f"({', '.join(f'{lr:g}' for lr in grid)}) x {len(seeds)} seeds x {runner.steps:,} steps = "
        f"{len(grid) * len(seeds)} trainings ({len(grid) * len(seeds) * runner.steps:,} steps)."
    )
    val: dict[float, float] = {}
    cached = _measure(runner, baseline, grid, seeds, val, cache)
    extensions = 0
    while (beyond := _beyond_edge(grid, val)) is not None and extensions < MAX_GRID_EXTENSIONS:
        extensions += 1
        best = max(grid, key=lambda lr: val[lr])
        announce(
            f"Warning: the best rate {best:g} is on the edge of the grid; the grid is extended "
            f"to {beyond:g} ({extensions} of at most {MAX_GRID_EXTENSIONS} extensions)."
        )
        grid = sorted([*grid, beyond])
        cached += _measure(runner, baseline, grid, seeds, val, cache)
    search = LRSearch(grid, seeds, runner.steps, val, extensions=extensions, cached=cached)
    if cached and cache is not None:
        announce(f"{cached} of these trainings were taken from the cache {cache.path}.")
    announce(
        "Validation accuracy per rate: "
        + ", ".join(f"{lr:g}: {val[lr]:.4f}" for lr in grid)
        + f". Best rate: {search.best_lr:g}."
    )
    if _beyond_edge(grid, val) is not None:
        announce(
            f"Warning: the best rate {search.best_lr:g} is still on the edge of the grid after "
            f"{MAX_GRID_EXTENSIONS} extensions; the tuned baseline may be weaker than it could "
            "be (widen --lr-factors)."
        )
    return search


def search_lr_with_budget(
    runner: Runner,
    baseline: Candidate,
    budget: LRBudget,
    announce: Callable[[str], object],
    cache: LRCache | None = None,
) -> LRSearch:
    """Cross-entropy at ``budget.trainings`` rates log-spaced over ``[low, high]``, one seed and
    ``budget.steps`` steps each: as many trainings of the same length as the study spent finding
    its loss and rate. The best validation accuracy wins; the grid is never extended (that would
    spend more than the study did)."""
    import numpy as np

    grid = [float(lr) for lr in np.geomspace(budget.low, budget.high, budget.trainings)]
    seeds = [TUNE_SEED_BASE]
    announce(
        f"The study searched the learning rate in [{budget.low:g}, {budget.high:g}] with its "
        f"loss, with {budget.trainings} trainings of {budget.steps:,} steps: cross-entropy's rate "
        f"is tuned with as many ({budget.trainings} rates log-spaced over that range, one seed "
        "each, chosen on the validation set)."
    )
    val: dict[float, float] = {}
    cached = _measure(runner, baseline, grid, seeds, val, cache, budget.steps)
    search = LRSearch(grid, seeds, budget.steps, val, cached=cached)
    announce(
        f"Best rate of the {budget.trainings} trainings: {search.best_lr:.4g} (validation "
        f"accuracy {val[search.best_lr]:.4f})"
        + (f"; {cached} taken from the cache {cache.path}." if cached and cache else ".")
    )
    return search


def _beyond_edge(grid: Sequence[float], val: Mapping[float, float]) -> float | None:
    """The rate one step past the edge the best rate lies on, or ``None`` (an inner best, or a
    grid of one rate, which has no spacing to extend by)."""
    if len(grid) < 2:
        return None
    best = max(grid, key=lambda lr: val[lr])
    if best == grid[0]:
        return float(f"{grid[0] * grid[0] / grid[1]:.6g}")
    if best == grid[-1]:
        return float(f"{grid[-1] * grid[-1] / grid[-2]:.6g}")
    return None


def _measure(
    runner: Runner,
    baseline: Candidate,
    grid: Sequence[float],
    seeds: Sequence[int],
    val: dict[float, float],
    cache: LRCache | None,
    steps: int | None = None,
) -> int:
    """Mean validation accuracy of the rates of ``grid`` not yet in ``val``, seed ``r`` of every
    rate before seed ``r + 1``, ``steps`` steps each (default: the runner's); returns how many
    trainings came from ``cache``."""
    rates = [lr for lr in grid if lr not in val]
    jobs = {
        lr: [
            runner.job(Candidate(BASELINE, baseline.loss, lr), s, "lr search", steps)
            for s in seeds
        ]
        for lr in rates
    }
    interleaved = [jobs[lr][r] for r in range(len(seeds)) for lr in rates]
    pending = [j for j in interleaved if cache is None or cache.get(j.key) is None]
    records = runner.run(pending, desc="lr search")
    cached = 0
    for lr, js in jobs.items():
        accuracies = []
        for job in js:
            record = records.get(job.key)
            if record is not None:
                accuracies.append(float(record["val_accuracy"]))
                if cache is not None:
                    cache.put(job.key, float(record["val_accuracy"]))
            else:
                assert cache is not None
                value = cache.get(job.key)
                assert value is not None
                accuracies.append(value)
                cached += 1
        val[lr] = summarize(accuracies).mean
    if cache is not None and records:
        cache.save()
    return cached
