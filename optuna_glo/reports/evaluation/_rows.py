"""The rows of an evaluation and its report: a loss at a learning rate, its test accuracies.

TaylorGLO section 6.2 and Table 1: the best loss of a search and the cross-entropy baseline are
each trained to full length ten times with different seeds; the table shows mean (std) test
accuracy and the p-value of a one-tailed Welch t-test of each loss against cross-entropy.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from typing import Any

from optuna_glo.losses import ClassificationLoss, readable_formula
from optuna_glo.reports.evaluation._stats import Summary, format_p, summarize

BASELINE = "cross_entropy"
TUNED_BASELINE = "cross_entropy, learning rate tuned"


def budget_label(trainings: int) -> str:
    """The row of cross-entropy whose rate was tuned with a study's number of trainings."""
    return f"{BASELINE}, learning rate tuned with {trainings} trainings"


@dataclass(frozen=True)
class LRBudget:
    """What a study that searched the learning rate with its loss spent on both: cross-entropy's
    rate is tuned with as much (``[taylorglo] search_lr``).

    Attributes:
        low: Lowest rate of the study's range.
        high: Highest rate of the study's range.
        trainings: The study's trainings (its completed trials).
        steps: Steps of each of them (the study's training length).
    """

    low: float
    high: float
    trainings: int
    steps: int

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high or not math.isfinite(self.high):
            raise ValueError(
                f"The learning-rate range must satisfy 0 < low < high. It is ({self.low}, "
                f"{self.high})."
            )
        if self.trainings < 2 or self.steps < 1:
            raise ValueError(
                "Tuning cross-entropy's rate with a study's budget needs at least 2 trainings of "
                f"at least 1 step. The study had {self.trainings} of {self.steps} steps."
            )


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
        return loss_identity(self.loss)


def loss_identity(loss: Any) -> str:
    """A loss's formula with full-precision parameters (TaylorGLO's theta and form, a tree's
    text). An eq. 5 TaylorGLO loss keeps the key it had before forms existed (results files
    written then still resume)."""
    theta = getattr(loss, "theta", None)
    if theta is not None:
        form = getattr(loss, "form", "eq5")
        return f"TaylorGLO{json.dumps(theta.tolist())}" + ("" if form == "eq5" else f":{form}")
    text = getattr(loss, "text", None)
    return f"tree:{text}" if isinstance(text, str) else str(loss.formula())


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
    p_vs_budget: float = math.nan

    @property
    def summary(self) -> Summary:
        return summarize(self.test_accuracy)

    def to_dict(self) -> dict[str, Any]:
        return {
            "loss": self.label, "formula": self.formula, "lr": self.lr,
            **accuracy_fields(self.test_accuracy), "diverged": self.diverged,
            "p_vs_cross_entropy": _none_if_nan(self.p_vs_baseline),
            "p_vs_cross_entropy_lr_tuned": _none_if_nan(self.p_vs_tuned),
            "p_vs_cross_entropy_lr_tuned_with_budget": _none_if_nan(self.p_vs_budget),
            "curve": [list(point) for point in self.curve],
        }


def _none_if_nan(x: float) -> float | None:
    return None if math.isnan(x) else x


def accuracy_fields(test_accuracy: list[float]) -> dict[str, Any]:
    """A row's accuracies as stored: every run's, their count, mean and std (``None``: n/a)."""
    s = summarize(test_accuracy)
    return {"test_accuracy": test_accuracy, "n": s.n, "mean": s.mean, "std": _none_if_nan(s.std)}


@dataclass
class LRSearch:
    """The baseline's learning-rate search: mean validation accuracy per rate.

    Attributes:
        grid: The rates trained, ascending (with the extensions past an edge).
        seeds: The seeds of each rate.
        steps: Training steps of each run.
        val_accuracy: Mean validation accuracy per rate.
        extensions: How many rates were added past an edge the best rate lay on.
        cached: Trainings taken from the learning-rate cache instead of trained.
    """

    grid: list[float]
    seeds: list[int]
    steps: int
    val_accuracy: dict[float, float]
    extensions: int = 0
    cached: int = 0

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
            "extensions": self.extensions, "cached": self.cached,
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
    budget: LRBudget | None = None
    budget_search: LRSearch | None = None

    def row(self, label: str) -> Row | None:
        return next((r for r in self.rows if r.label == label), None)

    def budget_row(self) -> Row | None:
        """Cross-entropy at the rate tuned with the study's number of trainings, if any."""
        return None if self.budget is None else self.row(budget_label(self.budget.trainings))

    def is_baseline(self, row: Row) -> bool:
        """Whether ``row`` is one of the cross-entropy rows the losses are compared with."""
        return row.label in (BASELINE, TUNED_BASELINE) or row is self.budget_row()

    def tuned_row(self) -> Row | None:
        """Cross-entropy at its tuned rate: its own row, or the baseline's row when the search
        chose the task's rate (then the two would be the same runs)."""
        tuned = self.row(TUNED_BASELINE)
        base = self.row(BASELINE)
        if tuned is None and base is not None and self.lr_search is not None:
            return base if base.lr == self.lr_search.best_lr else None
        return tuned

    def summary_lines(self) -> list[str]:
        """One line per searched or named loss: its gain over cross-entropy, with p-values."""
        base, tuned = self.row(BASELINE), self.tuned_row()
        lines = []
        budget = self.budget_row()
        for row in self.rows:
            if self.is_baseline(row) or base is None:
                continue
            verdict = (
                "significantly better" if row.p_vs_tuned < 0.05 else "not significantly better"
            )
            s = row.summary
            gain = s.mean - base.summary.mean
            parts = [
                f"{row.label}: {s.mean:.4f} vs cross-entropy {base.summary.mean:.4f} at lr "
                f"{base.lr:g} ({gain:+.4f}, p = {format_p(row.p_vs_baseline)})"
            ]
            if tuned is base:
                parts.append(f"the task's rate is also cross-entropy's tuned rate: {verdict}")
            elif tuned is not None:
                t = tuned.summary
                parts.append(
                    f"vs cross-entropy at its tuned lr {tuned.lr:g}: {t.mean:.4f} "
                    f"({s.mean - t.mean:+.4f}, p = {format_p(row.p_vs_tuned)}, {verdict})"
                )
            if budget is not None and self.budget is not None:
                b = budget.summary
                parts.append(
                    f"vs cross-entropy at lr {budget.lr:g}, tuned with the study's "
                    f"{self.budget.trainings} trainings: {b.mean:.4f} ({s.mean - b.mean:+.4f}, "
                    f"p = {format_p(row.p_vs_budget)})"
                )
            lines.append("; ".join(parts) + ".")
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "task": self.task, "steps": self.steps, "repeats": self.repeats,
            "data_portion": self.data_portion, "seeds": self.seeds,
            "rows": [r.to_dict() for r in self.rows],
            "lr_search": self.lr_search.to_dict() if self.lr_search else None,
            "lr_budget_search": (
                {**dataclasses.asdict(self.budget), **self.budget_search.to_dict()}
                if self.budget is not None and self.budget_search is not None else None
            ),
            "summary": self.summary_lines(),
        }

