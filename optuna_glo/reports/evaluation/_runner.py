"""Full-length evaluation: each loss trained ``repeats`` times, test accuracy, Table 1 statistics.

TaylorGLO section 6.2 and Table 1: the best loss of a search and the cross-entropy baseline are
each trained to full length ten times with different seeds; the table shows mean (std) test
accuracy and the p-value of a one-tailed Welch t-test of each loss against cross-entropy.

A fair baseline (docs/design.md, "The fair baseline"): a loss search at a fixed learning rate partly
rediscovers a larger effective learning rate, so a row "cross_entropy, learning rate tuned" adds
cross-entropy at the best rate of a small log grid, chosen on the validation set.

Every training appends one JSON line to a results file as soon as it finishes. A rerun reads the
file and trains only what is missing, so a long evaluation survives being stopped.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from optuna_glo.losses import ClassificationLoss, readable_formula
from optuna_glo.objectives import (
    DIVERGED_FITNESS,
    Splits,
    Task,
    load_dataset,
    resolve_device,
    train,
)
from optuna_glo.reports.evaluation._stats import Summary, format_p, summarize, welch_greater

#: Seeds of the evaluation runs: ``EVAL_SEED_BASE + r`` for repeat ``r``. They differ from every
#: seed a search trains with (the study seed, 0 by default), so the winner is not judged on the
#: noise it was selected on. Every loss gets the same seeds.
EVAL_SEED_BASE = 1_000
#: Seeds of the learning-rate search, distinct from the evaluation seeds (no double dipping).
TUNE_SEED_BASE = 2_000
#: Factors of the task's learning rate tried by the baseline's learning-rate search: a log grid
#: in half decades, wide upwards because a search at a small fixed rate is the case to catch
#: (docs/design.md: cross-entropy at lr 0.01 was best at 100 times that rate on digits).
LR_GRID_FACTORS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)

BASELINE = "cross_entropy"
TUNED_BASELINE = "cross_entropy, learning rate tuned"


@dataclass(frozen=True)
class Candidate:
    """One row of the table: a loss at a learning rate.

    Attributes:
        label: The row's name (``"best (trial 12)"``, ``"cross_entropy"``, ...).
        loss: The loss module.
        lr: Learning rate it trains with.
    """

    label: str
    loss: ClassificationLoss
    lr: float

    @property
    def formula(self) -> str:
        """The loss's readable formula (rounded: for people, not for telling losses apart)."""
        return readable_formula(self.loss)

    @property
    def identity(self) -> str:
        """What makes two losses the same loss: the formula, with full-precision parameters."""
        theta = getattr(self.loss, "theta", None)
        if theta is not None:
            return f"TaylorGLO{json.dumps(theta.tolist())}"
        text = getattr(self.loss, "text", None)
        return f"tree:{text}" if isinstance(text, str) else self.loss.formula()


@dataclass
class Row:
    """A row of the results table."""

    label: str
    formula: str
    lr: float
    test_accuracy: list[float]
    diverged: int
    curve: list[tuple[int, float]] = field(default_factory=list)
    p_vs_baseline: float = math.nan
    p_vs_tuned: float = math.nan

    @property
    def summary(self) -> Summary:
        return summarize(self.test_accuracy)

    def to_dict(self) -> dict[str, Any]:
        s = self.summary
        return {
            "loss": self.label, "formula": self.formula, "lr": self.lr,
            "test_accuracy": self.test_accuracy, "n": s.n, "mean": s.mean,
            "std": _none_if_nan(s.std), "diverged": self.diverged,
            "p_vs_cross_entropy": _none_if_nan(self.p_vs_baseline),
            "p_vs_cross_entropy_lr_tuned": _none_if_nan(self.p_vs_tuned),
            "curve": [list(point) for point in self.curve],
        }


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


@dataclass
class LRSearch:
    """The baseline's learning-rate search: mean validation accuracy per rate."""

    grid: list[float]
    seeds: list[int]
    steps: int
    val_accuracy: dict[float, float]

    @property
    def best_lr(self) -> float:
        return max(self.grid, key=lambda lr: self.val_accuracy[lr])

    @property
    def trainings(self) -> int:
        return len(self.grid) * len(self.seeds)

    def to_dict(self) -> dict[str, Any]:
        return {
            "grid": self.grid, "seeds": self.seeds, "steps": self.steps,
            "val_accuracy": [[lr, self.val_accuracy[lr]] for lr in self.grid],
            "best_lr": self.best_lr, "trainings": self.trainings,
        }


@dataclass
class EvaluationReport:
    """Everything an evaluation measured, ready for the table, the plots and the study."""

    task: str
    steps: int
    repeats: int
    data_portion: float
    seeds: list[int]
    rows: list[Row]
    lr_search: LRSearch | None = None
    trained: int = 0
    reused: int = 0

    def row(self, label: str) -> Row | None:
        return next((r for r in self.rows if r.label == label), None)

    def summary_lines(self) -> list[str]:
        """One line per searched or named loss: its gain over cross-entropy, with p-values."""
        base, tuned = self.row(BASELINE), self.row(TUNED_BASELINE)
        lines = []
        for row in self.rows:
            if row.label in (BASELINE, TUNED_BASELINE) or base is None:
                continue
            s = row.summary
            gain = s.mean - base.summary.mean
            parts = [
                f"{row.label}: {s.mean:.4f} vs cross-entropy {base.summary.mean:.4f} at lr "
                f"{base.lr:g} ({gain:+.4f}, p = {format_p(row.p_vs_baseline)})"
            ]
            if tuned is not None:
                t = tuned.summary
                verdict = (
                    "significantly better" if row.p_vs_tuned < 0.05 else "not significantly better"
                )
                parts.append(
                    f"vs cross-entropy at its tuned lr {tuned.lr:g}: {t.mean:.4f} "
                    f"({s.mean - t.mean:+.4f}, p = {format_p(row.p_vs_tuned)}, {verdict})"
                )
            lines.append("; ".join(parts) + ".")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "steps": self.steps, "repeats": self.repeats,
            "data_portion": self.data_portion, "seeds": self.seeds,
            "rows": [r.to_dict() for r in self.rows],
            "lr_search": self.lr_search.to_dict() if self.lr_search else None,
            "summary": self.summary_lines(),
        }


# ------------------------------------------------------------------------------- results file


def run_key(task: str, loss: str, lr: float, seed: int, steps: int, portion: float) -> str:
    """Identity of one training run in the results file: equal keys train identically."""
    return json.dumps([task, loss, float(lr), int(seed), int(steps), float(portion)])


class ResultsFile:
    """JSON lines, one per finished training, appended and flushed as each one ends.

    A line cut short by a crash is ignored when the file is read back.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and "key" in record:
                    self.records[record["key"]] = record

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[record["key"]] = record


# ------------------------------------------------------------------------------------ running


@dataclass(frozen=True)
class _Job:
    key: str
    candidate: Candidate
    seed: int
    purpose: str  # "evaluation" or "lr search"


class _Runner:
    def __init__(
        self,
        task: Task,
        data: Splits,
        *,
        steps: int,
        portion: float,
        device: str | None,
        eval_every: int | None,
        results: ResultsFile,
        progress: bool,
    ) -> None:
        self.task, self.steps, self.portion = task, steps, portion
        self.device = resolve_device(device)
        self.data = data.to(self.device)
        self.eval_every = eval_every
        self.results = results
        self.progress = progress
        self.trained = 0
        self.reused = 0

    def job(self, candidate: Candidate, seed: int, purpose: str) -> _Job:
        key = run_key(
            self.task.name, candidate.identity, candidate.lr, seed, self.steps, self.portion
        )
        return _Job(key, candidate, seed, purpose)

    def run(self, jobs: Sequence[_Job], desc: str) -> dict[str, dict[str, Any]]:
        """Train every job without a stored result; return the records of all jobs."""
        from tqdm.auto import tqdm

        unique: dict[str, _Job] = {}
        for job in jobs:
            unique.setdefault(job.key, job)
        pending = [j for j in unique.values() if self.results.get(j.key) is None]
        self.reused += len(unique) - len(pending)
        bar = tqdm(
            total=len(pending) * self.steps, desc=desc, unit="step", disable=not self.progress,
            dynamic_ncols=True, smoothing=0.05,
        )
        try:
            for job in pending:
                c = job.candidate
                bar.set_postfix_str(f"{c.label} (lr {c.lr:g}), seed {job.seed}", refresh=False)
                self.results.append(self._train(job, bar.update))
                self.trained += 1
        finally:
            bar.close()
        return {k: r for k in unique if (r := self.results.get(k)) is not None}

    def _train(self, job: _Job, advance: Callable[[int], object]) -> dict[str, Any]:
        c = job.candidate
        task = self.task.with_recipe(lr=c.lr) if c.lr != self.task.recipe.lr else self.task
        done = 0

        def on_step(step: int) -> None:
            nonlocal done
            advance(step - done)
            done = step

        result = train(
            task, c.loss, steps=self.steps, seed=job.seed, device=self.device, data=self.data,
            eval_every=self.eval_every if job.purpose == "evaluation" else None,
            eval_on="test", evaluate_test=True, on_step=on_step,
        )
        advance(self.steps - done)  # a diverged run stops early
        test = DIVERGED_FITNESS if result.diverged else result.test_accuracy
        return {
            "key": job.key, "purpose": job.purpose, "task": self.task.name, "loss": c.label,
            "formula": c.formula, "lr": c.lr, "seed": job.seed, "steps": self.steps,
            "data_portion": self.portion, "val_accuracy": result.value,
            "test_accuracy": test, "diverged": result.diverged,
            "curve": [list(p) for p in result.curve], "seconds": round(result.seconds, 3),
        }


def lr_grid(base_lr: float, factors: Sequence[float] = LR_GRID_FACTORS) -> list[float]:
    """The learning rates of the baseline's search: ``base_lr`` times each factor."""
    if base_lr <= 0:
        raise ValueError(f"`base_lr` must be positive. The specified `base_lr` is {base_lr}.")
    return [float(f"{base_lr * f:.6g}") for f in factors]


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
        announce: Where the learning-rate search prints its budget and choice.
    """
    steps = task.recipe.full_steps if steps is None else steps
    for name, value in (("repeats", repeats), ("steps", steps), ("tune_repeats", tune_repeats)):
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
    runner = _Runner(
        task, data, steps=steps, portion=data_portion, device=device, eval_every=eval_every,
        results=ResultsFile(results_path), progress=progress,
    )
    candidates = list(candidates)
    lr_search = None
    baseline = next((c for c in candidates if c.label == BASELINE), None)
    if tune_baseline_lr and baseline is not None:
        lr_search = _search_lr(runner, baseline, lr_factors, tune_repeats, announce)
        tuned = Candidate(TUNED_BASELINE, baseline.loss, lr_search.best_lr)
        candidates.insert(candidates.index(baseline) + 1, tuned)

    seeds = [EVAL_SEED_BASE + r for r in range(repeats)]
    jobs = {c.label: [runner.job(c, s, "evaluation") for s in seeds] for c in candidates}
    records = runner.run([j for js in jobs.values() for j in js], desc="evaluate")
    rows = []
    for c in candidates:
        recs = [records[j.key] for j in jobs[c.label]]
        rows.append(Row(
            c.label, c.formula, c.lr, [float(r["test_accuracy"]) for r in recs],
            sum(bool(r["diverged"]) for r in recs), _mean_curve([r["curve"] for r in recs]),
        ))
    base_row = next((r for r in rows if r.label == BASELINE), None)
    tuned_row = next((r for r in rows if r.label == TUNED_BASELINE), None)
    for row in rows:
        if base_row is not None and row is not base_row:
            row.p_vs_baseline = welch_greater(row.test_accuracy, base_row.test_accuracy)
        if tuned_row is not None and row not in (base_row, tuned_row):
            row.p_vs_tuned = welch_greater(row.test_accuracy, tuned_row.test_accuracy)
    return EvaluationReport(
        task.name, steps, repeats, data_portion, seeds, rows, lr_search,
        trained=runner.trained, reused=runner.reused,
    )


def _search_lr(
    runner: _Runner,
    baseline: Candidate,
    factors: Sequence[float],
    tune_repeats: int,
    announce: Callable[[str], object],
) -> LRSearch:
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


def _mean_curve(curves: Sequence[Sequence[Sequence[float]]]) -> list[tuple[int, float]]:
    """Mean accuracy per recorded step over the runs that reached that step."""
    by_step: dict[int, list[float]] = {}
    for curve in curves:
        for step, acc in curve:
            by_step.setdefault(int(step), []).append(float(acc))
    return [(step, math.fsum(v) / len(v)) for step, v in sorted(by_step.items())]
