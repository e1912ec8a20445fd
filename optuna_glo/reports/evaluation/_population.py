"""Evaluating an EPBT run as EPBT Table 2 does: the found schedule against its baselines.

EPBT section 4 and Table 2: the best individual's loss schedule against cross-entropy trained
alone (Baseline 1) and against PBT's best (section 4.1), by mean (std) test accuracy over repeated
runs, one-tailed Welch t-tests, and the epochs the schedule needs to exceed each baseline's final
mean test accuracy.

Here every row is retrained from scratch over the same fresh seeds (``EVAL_SEED_BASE + r``): the
EPBT schedule and PBT's (:mod:`._schedule_runs`), and cross-entropy for as many epochs as the
schedule trains, at the task's learning rate and at one tuned on the validation set
(:func:`~optuna_glo.reports.evaluation.evaluate_losses`, with its search, cache and grid
extension). Epochs to exceed are read off the schedule's mean test accuracy after each segment.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna_glo.losses import CrossEntropy
from optuna_glo.reports.evaluation._evaluate import EVAL_SEED_BASE, evaluate_losses, mean_curve
from optuna_glo.reports.evaluation._lr_search import LR_GRID_FACTORS
from optuna_glo.reports.evaluation._results import ResultsFile
from optuna_glo.reports.evaluation._rows import (
    BASELINE,
    TUNED_BASELINE,
    Candidate,
    LRSearch,
    accuracy_fields,
)
from optuna_glo.reports.evaluation._schedule_runs import Schedule, retrain_schedules
from optuna_glo.reports.evaluation._stats import Summary, format_p, summarize, welch_greater
from optuna_glo.reports.evaluation._table import lr_search_line


@dataclass
class MethodRow:
    """A row of EPBT Table 2: one method's test accuracies over the seeds.

    Attributes:
        label: Its name.
        epochs: Epochs each run trained.
        test_accuracy: Final test accuracy per seed.
        diverged: Runs (or, for a schedule, segments) that diverged.
        curve: Mean test accuracy by epochs trained.
        lr: Its learning rate (cross-entropy rows), else ``None``.
        p_schedule_better: One-tailed Welch p that the EPBT schedule's mean is greater.
        epochs_to_exceed: The first epoch at which the schedule's mean test accuracy exceeds this
            row's final mean; ``None``: it never does.
    """

    label: str
    epochs: float
    test_accuracy: list[float]
    diverged: int
    curve: list[tuple[float, float]] = field(default_factory=list)
    lr: float | None = None
    p_schedule_better: float = math.nan
    epochs_to_exceed: float | None = None

    @property
    def summary(self) -> Summary:
        return summarize(self.test_accuracy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.label, "epochs": self.epochs, "lr": self.lr,
            **accuracy_fields(self.test_accuracy), "diverged": self.diverged,
            "p_schedule_better": (
                None if math.isnan(self.p_schedule_better) else self.p_schedule_better
            ),
            "epochs_to_exceed": self.epochs_to_exceed,
            "curve": [list(point) for point in self.curve],
        }


@dataclass
class PopulationReport:
    """An EPBT schedule against its baselines (EPBT Table 2)."""

    task: str
    repeats: int
    seeds: list[int]
    schedule: MethodRow
    baselines: list[MethodRow]
    lr_search: LRSearch | None = None
    trained: int = 0
    reused: int = 0

    def summary(self) -> dict[str, Any]:
        """The statistics only (no runs or curves): small enough for a study user attr."""
        keep = ("method", "epochs", "lr", "n", "mean", "std", "diverged", "p_schedule_better",
                "epochs_to_exceed")
        rows = [self.schedule.to_dict(), *(b.to_dict() for b in self.baselines)]
        short = [{k: row[k] for k in keep} for row in rows]
        return {
            "task": self.task, "repeats": self.repeats, "seeds": self.seeds,
            "schedule": short[0], "baselines": short[1:],
            "tuned_lr": self.lr_search.best_lr if self.lr_search else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "repeats": self.repeats, "seeds": self.seeds,
            "schedule": self.schedule.to_dict(), "baselines": [b.to_dict() for b in self.baselines],
            "lr_search": self.lr_search.to_dict() if self.lr_search else None,
        }


def evaluate_population(
    schedule: Schedule,
    against: Sequence[Schedule] = (),
    *,
    results_path: str | Path,
    repeats: int = 10,
    data_dir: str | None = None,
    download: bool = False,
    tune_baseline_lr: bool = True,
    lr_factors: Sequence[float] = LR_GRID_FACTORS,
    tune_repeats: int = 2,
    lr_cache: str | Path | None = None,
    progress: bool = True,
    announce: Callable[[str], object] = print,
) -> PopulationReport:
    """Retrain ``schedule`` and each of ``against`` ``repeats`` times from scratch, train
    cross-entropy alone as many epochs (at the task's rate and a tuned one), and compare.

    Args:
        schedule: The EPBT run's best individual's schedule.
        against: Other schedules to compare with (PBT's best); the same task.
        results_path: JSON-lines file of finished trainings (appended; read back on a rerun).
        repeats: Runs per method, with seeds ``EVAL_SEED_BASE + r``.
        data_dir: Where data sets are read.
        download: Whether a missing data set may be downloaded.
        tune_baseline_lr: Add cross-entropy at a learning rate tuned on the validation set.
        lr_factors: The learning-rate grid, as factors of the task's rate.
        tune_repeats: Seeds per grid point of the learning-rate search.
        lr_cache: The learning-rate search's cache file; ``None``: none.
        progress: Show progress bars.
        announce: Where the learning-rate search prints its budget, warnings and choice.
    """
    if repeats < 1:
        raise ValueError(f"`repeats` must be >= 1. The specified `repeats` is {repeats}.")
    trainer = schedule.trainer
    task = trainer.task
    for other in against:
        if other.trainer.task.name != task.name:
            raise ValueError(
                f"{other.label} trained on task {other.trainer.task.name!r}, the EPBT run on "
                f"{task.name!r}: compare studies of one task."
            )
    per_epoch = trainer.steps_per_epoch
    schedules = [schedule, *against]
    trained = cached = 0
    for r in range(repeats):
        # Seed r of cross-entropy (after its learning-rate search) and of every schedule before
        # seed r + 1, so a stopped evaluation stays balanced; earlier seeds come from the file.
        ce = evaluate_losses(
            task, [Candidate(BASELINE, CrossEntropy(), task.recipe.lr)],
            results_path=results_path, repeats=r + 1,
            steps=len(schedule.segments) * trainer.segment_steps, device=str(trainer.device),
            data_dir=data_dir, download=download, tune_baseline_lr=tune_baseline_lr,
            lr_factors=lr_factors, tune_repeats=tune_repeats, eval_every=per_epoch,
            progress=progress, announce=announce if r == 0 else _quiet, lr_cache=lr_cache,
        )
        records, now = retrain_schedules(
            schedules, ce.seeds, ResultsFile(results_path), progress=progress
        )
        trained += ce.trained + now
        if r == 0 and ce.lr_search is not None:
            cached = ce.lr_search.cached  # later calls find the first call's trainings there too
    seeds = ce.seeds
    assert seeds == [EVAL_SEED_BASE + r for r in range(repeats)]
    rows = [_schedule_row(s, seeds, records) for s in (schedule, *against)]
    baselines = [
        MethodRow(
            f"{r.label} (lr {r.lr:g})", ce.steps / per_epoch, r.test_accuracy, r.diverged,
            [(step / per_epoch, acc) for step, acc in r.curve], lr=r.lr,
        )
        for r in ce.rows
    ] + rows[1:]
    best = rows[0]
    compare_to_schedule(best, baselines)
    searched = ce.lr_search.trainings if ce.lr_search is not None else 0
    used = searched + (len(ce.rows) + len(schedules)) * repeats
    return PopulationReport(
        task.name, repeats, seeds, best, baselines, ce.lr_search,
        trained=trained, reused=used - trained - cached,
    )


def _quiet(_: str) -> None:
    """Says nothing: the learning-rate search announces itself once."""


def compare_to_schedule(schedule: MethodRow, baselines: Sequence[MethodRow]) -> None:
    """Set each baseline's p-value (the schedule better, one-tailed Welch) and the first epoch
    of the schedule's mean curve above the baseline's final mean (EPBT Table 2)."""
    for row in baselines:
        row.p_schedule_better = welch_greater(schedule.test_accuracy, row.test_accuracy)
        final = row.summary.mean
        row.epochs_to_exceed = next((e for e, acc in schedule.curve if acc > final), None)


def _schedule_row(
    schedule: Schedule, seeds: Sequence[int], records: dict[str, dict[str, Any]]
) -> MethodRow:
    recs = [records[schedule.key(seed)] for seed in seeds]
    per_epoch = schedule.trainer.steps_per_epoch
    curve = mean_curve([r["curve"] for r in recs])
    return MethodRow(
        schedule.label, schedule.epochs, [float(r["test_accuracy"]) for r in recs],
        sum(int(r["diverged"]) for r in recs), [(step / per_epoch, acc) for step, acc in curve],
    )


def population_markdown(report: PopulationReport, title: str | None = None) -> str:
    """EPBT Table 2's form: mean (std) test accuracy, p-values and epochs to exceed."""
    best = report.schedule
    lines = [
        f"### {title or 'EPBT schedule against its baselines'}",
        "",
        f"Task `{report.task}`; every method retrained from scratch over {report.repeats} seeds "
        f"({report.seeds[0]}..{report.seeds[-1]}); test accuracy mean (std); p-values of one-"
        "tailed Welch t-tests that the schedule is better; epochs to exceed: the first epoch at "
        "which the schedule's mean test accuracy exceeds the baseline's final mean (EPBT "
        "Table 2), read after each segment. Epochs are epochs trained (a lineage that skipped "
        "generations as an elite trained fewer than the population's clock shows).",
        "",
        "| Method | Epochs | Mean test accuracy (std) | p (schedule better) | Epochs to exceed |",
        "|---|---|---|---|---|",
        f"| {_label(best)} | {best.epochs:g} | {best.summary} | | |",
    ]
    for row in report.baselines:
        exceed = "not reached" if row.epochs_to_exceed is None else f"{row.epochs_to_exceed:g}"
        p = "n/a" if math.isnan(row.p_schedule_better) else format_p(row.p_schedule_better)
        lines.append(f"| {_label(row)} | {row.epochs:g} | {row.summary} | {p} | {exceed} |")
    if report.lr_search is not None:
        lines += ["", lr_search_line(report.lr_search)]
        if not any(r.label.startswith(TUNED_BASELINE) for r in report.baselines):
            lines[-1] += " It is the task's rate: the cross_entropy row is also the tuned baseline."
    lines += ["", "Mean test accuracy of the schedule after each segment: " + ", ".join(
        f"epoch {e:g}: {acc:.4f}" for e, acc in best.curve
    ) + "."]
    return "\n".join(lines) + "\n"


def _label(row: MethodRow) -> str:
    return row.label if not row.diverged else f"{row.label} ({row.diverged} diverged)"
