"""``best`` for EPBT and PBT studies: the best individual's schedule and its accuracies."""

from __future__ import annotations

from typing import Any

import optuna

from optuna_glo.cli._safe_text import printable
from optuna_glo.keys import BASELINE_ATTR, SGD_LR_PARAM, SGD_MOMENTUM_PARAM, THETA_PREFIX
from optuna_glo.losses import readable_formula
from optuna_glo.reports.schedule import Segment, best_individual, lineage_schedule
from optuna_glo.suggest import load_loss


def describe_population(study: optuna.Study) -> list[str]:
    """The best individual (highest validation accuracy), the schedule of hyperparameters its
    lineage trained with, generation by generation, and cross-entropy trained alone as long."""
    best = best_individual(study)
    if best is None:
        return ["No completed trial yet: start a worker."]
    try:
        schedule = lineage_schedule(study, best)
    except ValueError as err:
        return [f"The best trial's lineage cannot be read: {printable(str(err))}"]
    last = schedule[-1]
    lines = [
        f"Best individual: trial {best.number} (generation {last.generation}), validation "
        f"accuracy {_acc(last.val_accuracy)}, test accuracy {_acc(last.test_accuracy)}, "
        f"{_epochs(last.epochs)} epochs trained.",
        f"Its schedule ({len(schedule)} segment(s), lineage of trial {schedule[0].trial}):",
        *_table(schedule),
    ]
    if any(k.startswith(THETA_PREFIX) for k in last.params):
        try:
            formula = readable_formula(load_loss(best), legend=True)
        except ValueError as err:
            formula = f"(its loss cannot be read: {err})"
        lines += ["Its last segment's loss:"]
        lines += [f"  {printable(line, limit=None)}" for line in formula.splitlines()]
    baseline = study.user_attrs.get(BASELINE_ATTR)
    if baseline is not None:
        lines += _baseline(baseline, last)
    return lines


def _table(schedule: list[Segment]) -> list[str]:
    names = sorted({n for s in schedule for n in s.params}, key=_order)
    header = "  gen  trial  epochs  val     test    " + " ".join(f"{_short(n):>8}" for n in names)
    rows = [header]
    for s in schedule:
        values = " ".join(
            f"{s.params[n]:>8.4g}" if n in s.params else f"{'-':>8}" for n in names
        )
        rows.append(
            f"  {s.generation if s.generation is not None else '-':<4} {s.trial:<6} "
            f"{_epochs(s.epochs):<7} {_acc(s.val_accuracy):<7} {_acc(s.test_accuracy):<7} "
            f"{values}"
        )
    return rows


def _baseline(baseline: Any, last: Segment) -> list[str]:
    try:
        value, lr, steps = float(baseline["value"]), float(baseline["lr"]), int(baseline["steps"])
        test = baseline.get("test_accuracy")
        test = None if test is None else float(test)
    except (TypeError, KeyError, ValueError, OverflowError, AttributeError):
        return ["Cross-entropy trained alone: the stored record is unreadable."]
    lines = [
        f"Cross-entropy trained alone for the same {steps} steps (lr {lr:g} and the task's "
        f"schedule): validation {value:.4f}, test {_acc(test)}."
    ]
    if last.val_accuracy is not None:
        diff = last.val_accuracy - value
        lines.append(
            f"Difference in validation accuracy: {diff:+.4f} (one run each; `optuna-glo "
            "evaluate` with repeats is the real test)."
        )
    return lines


def _order(name: str) -> tuple[int, str]:
    if name.startswith(THETA_PREFIX) and name[len(THETA_PREFIX):].isdigit():
        return int(name[len(THETA_PREFIX):]), ""
    return 1_000_000, name


def _short(name: str) -> str:
    if name.startswith(THETA_PREFIX):
        return "theta" + name[len(THETA_PREFIX):]
    return {SGD_LR_PARAM: "lr", SGD_MOMENTUM_PARAM: "momentum"}.get(name, printable(name)[:8])


def _acc(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}"


def _epochs(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
