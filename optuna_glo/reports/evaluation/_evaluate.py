"""Full-length evaluation: each loss trained ``repeats`` times, test accuracy, Table 1 statistics.

TaylorGLO section 6.2 and Table 1: the best loss of a search and the cross-entropy baseline are
each trained to full length ten times with different seeds; the table shows mean (std) test
accuracy and the p-value of a one-tailed Welch t-test of each loss against cross-entropy, and
against cross-entropy at a learning rate tuned on the validation set (:mod:`._lr_search`). A
study that found its rate with its loss is also compared with cross-entropy whose rate was tuned
with as many trainings (:func:`._lr_search.search_lr_with_budget`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from pathlib import Path

from optuna_glo.objectives import PathName, Task, load_dataset
from optuna_glo.reports.evaluation._lr_cache import LRCache
from optuna_glo.reports.evaluation._lr_search import (
    LR_GRID_FACTORS,
    search_lr,
    search_lr_with_budget,
)
from optuna_glo.reports.evaluation._results import ResultsFile
from optuna_glo.reports.evaluation._rows import (
    BASELINE,
    TUNED_BASELINE,
    Candidate,
    EvaluationReport,
    LRBudget,
    LRSearch,
    Row,
    budget_label,
)
from optuna_glo.reports.evaluation._runner import Runner
from optuna_glo.reports.evaluation._stats import welch_greater

#: Seeds of the evaluation runs: ``EVAL_SEED_BASE + r`` for repeat ``r``. They differ from every
#: seed a search trains with (the study seed, 0 by default), so the winner is not judged on the
#: noise it was selected on. Every loss gets the same seeds.
EVAL_SEED_BASE = 1_000


def evaluate_losses(
    task: Task,
    candidates: Sequence[Candidate],
    *,
    results_path: str | Path,
    repeats: int = 10,
    steps: int | None = None,
    data_portion: float = 1.0,
    device: str | None = None,
    data_dir: str | None = None,
    download: bool = False,
    tune_baseline_lr: bool = True,
    lr_factors: Sequence[float] = LR_GRID_FACTORS,
    tune_repeats: int = 2,
    eval_every: int | None = None,
    progress: bool = True,
    announce: Callable[[str], object] = print,
    lr_cache: str | Path | None = None,
    lr_budget: LRBudget | None = None,
    population_batch: int = 1,
    path: PathName = "auto",
) -> EvaluationReport:
    """Train each candidate ``repeats`` times at full length and compare test accuracies.

    Args:
        task: The task (data set, model, recipe); ``candidates`` carry their learning rates.
        candidates: The rows. One labelled ``"cross_entropy"`` is the baseline of the p-values.
        results_path: JSON-lines file of finished trainings (appended; read back on a rerun).
        repeats: Trainings per loss, with seeds ``EVAL_SEED_BASE + r``.
        steps: Training steps (default: the recipe's ``full_steps``).
        data_portion: Train on this fixed random portion of the training set (GLO Fig. 4).
        device: Training device.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
        tune_baseline_lr: Add the row "cross_entropy, learning rate tuned".
        lr_factors: The learning-rate grid, as factors of the task's rate.
        tune_repeats: Seeds per grid point of the learning-rate search.
        eval_every: Record test accuracy every this many steps (default: 20 points per run).
        progress: Show progress bars (with the time remaining).
        announce: Where the learning-rate search prints its budget, its warnings and its choice.
        lr_cache: A JSON file of learning-rate searches shared across studies
            (:func:`~optuna_glo.reports.evaluation.default_lr_cache_path`); ``None``: none.
        lr_budget: The learning-rate range and trainings of a study that searched the rate with
            its loss: adds the row "cross_entropy, learning rate tuned with N trainings", tuned
            with that many trainings of the study's length over that range.
        population_batch: Losses of one seed and learning rate train together, this many at
            most (:func:`~optuna_glo.objectives.train_candidates`: one model stack where the
            device measured it faster than one model after another); 1: one at a time.
        path: With ``population_batch`` > 1: ``"auto"`` (measured), ``"vectorized"`` or
            ``"sequential"``.

    Repeat ``r`` of every loss trains before repeat ``r + 1`` of any, so a run stopped halfway
    has as many runs of each loss (and resumes from the results file).
    """
    steps = task.recipe.full_steps if steps is None else steps
    counts = (("repeats", repeats), ("steps", steps), ("tune_repeats", tune_repeats),
              ("population_batch", population_batch))
    for name, value in counts:
        if value < 1:
            raise ValueError(f"`{name}` must be >= 1. The specified `{name}` is {value}.")
    if not 0.0 < data_portion <= 1.0:
        raise ValueError(
            f"`data_portion` must be in (0, 1]. The specified `data_portion` is {data_portion}."
        )
    labels = [c.label for c in candidates]
    if len(set(labels)) != len(labels):
        raise ValueError(f"`candidates` must have distinct labels. The labels are {labels}.")
    eval_every = max(1, steps // 20) if eval_every is None else eval_every
    data = load_dataset(task.dataset, data_dir, download)
    if data_portion < 1.0:
        data = data.subset_train(data_portion)
    runner = Runner(
        task, data, steps=steps, portion=data_portion, device=device, eval_every=eval_every,
        results=ResultsFile(results_path), progress=progress, population_batch=population_batch,
        path=path, data_dir=data_dir,
    )
    candidates = list(candidates)
    lr_search: LRSearch | None = None
    budget_search: LRSearch | None = None
    baseline = next((c for c in candidates if c.label == BASELINE), None)
    searches = baseline is not None and (tune_baseline_lr or lr_budget is not None)
    cache = None if lr_cache is None or not searches else LRCache(lr_cache, warn=announce)
    if lr_budget is not None and baseline is not None:
        budget_search = search_lr_with_budget(runner, baseline, lr_budget, announce, cache)
        budget_row = Candidate(
            budget_label(lr_budget.trainings), baseline.loss, budget_search.best_lr
        )
        candidates.insert(candidates.index(baseline) + 1, budget_row)
    if tune_baseline_lr and baseline is not None:
        lr_search = search_lr(runner, baseline, lr_factors, tune_repeats, announce, cache)
        if lr_search.best_lr == baseline.lr:
            announce(
                f"The tuned rate is the task's rate {baseline.lr:g}: the {BASELINE} row is also "
                "the tuned baseline."
            )
        else:
            tuned = Candidate(TUNED_BASELINE, baseline.loss, lr_search.best_lr)
            candidates.insert(candidates.index(baseline) + 1, tuned)

    seeds = [EVAL_SEED_BASE + r for r in range(repeats)]
    jobs = {c.label: [runner.job(c, s, "evaluation") for s in seeds] for c in candidates}
    interleaved = [jobs[c.label][r] for r in range(repeats) for c in candidates]
    records = runner.run(interleaved, desc="evaluate")
    rows = []
    for c in candidates:
        recs = [records[j.key] for j in jobs[c.label]]
        rows.append(Row(
            c.label, c.formula, c.lr, [float(r["test_accuracy"]) for r in recs],
            sum(bool(r["diverged"]) for r in recs), mean_curve([r["curve"] for r in recs]),
        ))
    report = EvaluationReport(
        task.name, steps, repeats, data_portion, seeds, rows, lr_search,
        trained=runner.trained, reused=runner.reused, budget=lr_budget,
        budget_search=budget_search,
    )
    base_row, tuned_row, b_row = report.row(BASELINE), report.tuned_row(), report.budget_row()
    for row in rows:
        if base_row is not None and row is not base_row:
            row.p_vs_baseline = welch_greater(row.test_accuracy, base_row.test_accuracy)
        if tuned_row is not None and row not in (base_row, tuned_row):
            row.p_vs_tuned = welch_greater(row.test_accuracy, tuned_row.test_accuracy)
        if b_row is not None and not report.is_baseline(row):
            row.p_vs_budget = welch_greater(row.test_accuracy, b_row.test_accuracy)
    return report


def mean_curve(curves: Sequence[Sequence[Sequence[float]]]) -> list[tuple[int, float]]:
    """Mean accuracy per recorded step over the runs that reached that step."""
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for step, acc in curve:
            by_step.setdefault(int(step), []).append(float(acc))
    return [(step, math.fsum(v) / len(v)) for step, v in sorted(by_step.items())]
