"""The evaluation table in the form of TaylorGLO Table 1, as Markdown and CSV."""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from optuna_glo.reports.evaluation._rows import (
    TUNED_BASELINE,
    EvaluationReport,
    LRBudget,
    LRSearch,
    budget_label,
)
from optuna_glo.reports.evaluation._stats import format_p


def markdown_table(report: EvaluationReport, title: str | None = None) -> str:
    """Mean (std) test accuracy per loss and one-tailed Welch p-values against cross-entropy."""
    has_tuned = report.row(TUNED_BASELINE) is not None
    budget = report.budget_row()
    portion = (
        "" if report.data_portion == 1.0 else f", {report.data_portion:g} of the training data"
    )
    lines = [
        f"### {title or 'Full-length evaluation'}",
        "",
        f"Task `{report.task}`, {report.steps:,} steps{portion}; test accuracy over "
        f"{report.repeats} runs per loss (seeds {report.seeds[0]}..{report.seeds[-1]}), standard "
        "deviation in parentheses; p-values of one-tailed Welch t-tests (TaylorGLO Table 1).",
        "",
    ]
    header = ["Loss", "Learning rate", "Mean test accuracy (std)", "p vs cross-entropy"]
    if has_tuned:
        header.append("p vs cross-entropy, lr tuned")
    if budget is not None:
        header.append(f"p vs {budget.label}")
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join(["---"] * len(header)) + "|")
    for row in report.rows:
        label = row.label if not row.diverged else f"{row.label} ({row.diverged} diverged)"
        cells = [label, f"{row.lr:g}", str(row.summary), _p(row.p_vs_baseline)]
        if has_tuned:
            cells.append(_p(row.p_vs_tuned))
        if budget is not None:
            cells.append(_p(row.p_vs_budget))
        lines.append("| " + " | ".join(cells) + " |")
    if report.lr_search is not None:
        lines += ["", lr_search_line(report.lr_search)]
        if not has_tuned and report.tuned_row() is not None:
            lines[-1] += " It is the task's rate: the cross_entropy row is also the tuned baseline."
    if report.budget is not None and report.budget_search is not None:
        lines += ["", budget_search_line(report.budget, report.budget_search)]
    summary = report.summary_lines()
    if summary:
        lines += ["", *[f"- {line}" for line in summary]]
    losses = [f"- {row.label}: `{row.formula}`" for row in report.rows]
    lines += ["", "Losses:", *losses]
    return "\n".join(lines) + "\n"


def lr_search_line(s: LRSearch) -> str:
    """The learning-rate search in one sentence: validation accuracy per rate, the best."""
    return (
        f"Learning-rate search for cross-entropy (validation accuracy, {len(s.seeds)} seeds x "
        f"{s.steps:,} steps per rate, {s.trainings} trainings): "
        + ", ".join(f"{lr:g}: {s.val_accuracy[lr]:.4f}" for lr in s.grid)
        + f"; best {s.best_lr:g}"
        + (f" (the grid extended {s.extensions} time(s) past its edge)" if s.extensions else "")
        + "."
    )


def budget_search_line(budget: LRBudget, s: LRSearch) -> str:
    """How cross-entropy's rate was tuned with the study's budget, in one sentence."""
    return (
        f"The study searched its learning rate with its loss in [{budget.low:g}, "
        f"{budget.high:g}] (log scale) with {budget.trainings} trainings of {s.steps:,} steps, "
        "and its losses train here at the rates it found; "
        f"the row {budget_label(budget.trainings)!r} had as many: {len(s.grid)} rates "
        f"log-spaced over the same range, one seed each, the same length, the best by validation "
        f"accuracy: {s.best_lr:.4g} ({s.val_accuracy[s.best_lr]:.4f}), then trained on the "
        "evaluation seeds."
        + (f" {s.cached} of these trainings came from the learning-rate cache." if s.cached else "")
    )


def _p(p: float) -> str:
    return "" if math.isnan(p) else format_p(p)


def _p_csv(p: float) -> str:
    return "" if math.isnan(p) else f"{p:.6g}"


def csv_table(report: EvaluationReport) -> str:
    """One CSV line per loss: mean, std, n, p-values, diverged runs, formula."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([
        "task", "steps", "data_portion", "loss", "lr", "n", "mean_test_accuracy", "std",
        "p_vs_cross_entropy", "p_vs_cross_entropy_lr_tuned",
        "p_vs_cross_entropy_lr_tuned_with_budget", "diverged", "formula",
    ])
    for row in report.rows:
        s = row.summary
        writer.writerow([
            report.task, report.steps, report.data_portion, row.label, row.lr, s.n,
            f"{s.mean:.6f}", "" if math.isnan(s.std) else f"{s.std:.6f}",
            *(_p_csv(p) for p in (row.p_vs_baseline, row.p_vs_tuned, row.p_vs_budget)),
            row.diverged, row.formula,
        ])
    return out.getvalue()


def curves_csv(report: EvaluationReport) -> str:
    """The training curves (GLO Fig. 3's data): mean test accuracy per loss and recorded step.

    Each run's own curve is in the results file (JSON lines, ``"curve"``).
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["loss", "lr", "step", "mean_test_accuracy", "runs"])
    for row in report.rows:
        for step, acc in row.curve:
            writer.writerow([row.label, row.lr, step, f"{acc:.6f}", len(row.test_accuracy)])
    return out.getvalue()


def write_tables(report: EvaluationReport, out_dir: str | Path, stem: str) -> tuple[Path, Path]:
    """Write ``STEM.md``, ``STEM.csv`` and ``STEM-curves.csv`` into ``out_dir``; return the
    table's two paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, cs = out / f"{stem}.md", out / f"{stem}.csv"
    md.write_text(markdown_table(report), encoding="utf-8")
    cs.write_text(csv_table(report), encoding="utf-8")
    (out / f"{stem}-curves.csv").write_text(curves_csv(report), encoding="utf-8")
    return md, cs
