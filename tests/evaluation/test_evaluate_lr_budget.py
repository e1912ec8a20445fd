"""``evaluate`` on a study that searched the learning rate with its loss (``[taylorglo]
search_lr``): the found loss trains at its found rate, and cross-entropy's rate is tuned with as
many trainings of the study's length over the same range. Training is replaced by a stand-in."""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import GOOD_THETA, FakeTrain, add_taylor_trial, tiny_spec

from optuna_glo.cli import main
from optuna_glo.losses import CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import get_task
from optuna_glo.reports.evaluation import (
    BASELINE,
    EVAL_SEED_BASE,
    TUNE_SEED_BASE,
    TUNED_BASELINE,
    Candidate,
    LRBudget,
    _runner,
    budget_label,
    csv_table,
    evaluate_losses,
    markdown_table,
)
from optuna_glo.runtime.study import create_study

TASK = get_task("digits-mlp")
LOW, HIGH = 0.05, 5.0


def _budget_calls(fake: FakeTrain, steps: int) -> list[tuple[str, float, int]]:
    return [call for call, n in zip(fake.calls, fake.steps, strict=True) if n == steps]


def test_cross_entropy_rate_is_tuned_with_the_studys_trainings(
    tmp_path: Path, monkeypatch
) -> None:
    fake = FakeTrain(peak=2.5)
    monkeypatch.setattr(_runner, "train", fake)
    budget = LRBudget(LOW, HIGH, trainings=9, steps=3)
    lr = TASK.recipe.lr
    candidates = [
        Candidate("taylor", TaylorGLOLoss(GOOD_THETA), 0.42),  # the rate its search found
        Candidate(BASELINE, CrossEntropy(), lr),
    ]
    report = evaluate_losses(
        TASK, candidates, results_path=tmp_path / "r.jsonl", repeats=2, steps=5,
        tune_repeats=1, lr_factors=(0.3, 1.0, 3.0), progress=False, device="cpu",
        announce=lambda s: None, lr_budget=budget,
    )
    spent = _budget_calls(fake, 3)
    assert len(spent) == 9 == budget.trainings  # as many trainings as the study
    assert all(name == "CrossEntropy" and seed == TUNE_SEED_BASE for name, _, seed in spent)
    rates = sorted(rate for _, rate, _ in spent)
    assert rates[0] == pytest.approx(LOW) and rates[-1] == pytest.approx(HIGH)
    ratios = [b / a for a, b in itertools.pairwise(rates)]
    assert ratios == pytest.approx([(HIGH / LOW) ** (1 / 8)] * 8)  # log-spaced
    search = report.budget_search
    assert search is not None and search.trainings == 9 and search.steps == 3
    best = min(rates, key=lambda r: abs(math.log(r / 2.5)))
    assert search.best_lr == best
    # Every existing row is kept; the new one follows the tuned baseline.
    label = budget_label(9)
    assert [r.label for r in report.rows] == ["taylor", BASELINE, TUNED_BASELINE, label]
    row = report.budget_row()
    assert row is not None and row.lr == best and len(row.test_accuracy) == 2
    assert report.row("taylor").lr == 0.42  # type: ignore[union-attr]
    evaluation = [c for c, n in zip(fake.calls, fake.steps, strict=True) if n == 5]
    assert (("CrossEntropy", best, EVAL_SEED_BASE) in evaluation
            and ("TaylorGLOLoss", 0.42, EVAL_SEED_BASE + 1) in evaluation)
    taylor = report.row("taylor")
    assert taylor is not None and not math.isnan(taylor.p_vs_budget)
    assert math.isnan(row.p_vs_budget)
    md = markdown_table(report)
    assert f"| {label} | {best:g} |" in md and f"p vs {label}" in md
    assert f"in [{LOW:g}, {HIGH:g}] (log scale) with 9 trainings of 3 steps," in md
    assert "9 rates log-spaced over the same range, one seed each" in md
    assert any("tuned with the study's 9 trainings" in s for s in report.summary_lines())
    assert "p_vs_cross_entropy_lr_tuned_with_budget" in csv_table(report).splitlines()[0]
    stored = report.to_dict()["lr_budget_search"]
    assert stored["trainings"] == 9 and stored["low"] == LOW and stored["high"] == HIGH
    # A rerun trains nothing: the budget's runs are in the results file too.
    again = FakeTrain(peak=2.5)
    monkeypatch.setattr(_runner, "train", again)
    evaluate_losses(
        TASK, candidates, results_path=tmp_path / "r.jsonl", repeats=2, steps=5,
        tune_repeats=1, lr_factors=(0.3, 1.0, 3.0), progress=False, device="cpu",
        announce=lambda s: None, lr_budget=budget,
    )
    assert again.calls == []


def test_a_budget_of_fewer_than_two_trainings_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 2 trainings"):
        LRBudget(LOW, HIGH, trainings=1, steps=3)
    with pytest.raises(ValueError, match="0 < low < high"):
        LRBudget(HIGH, LOW, trainings=4, steps=3)


def test_evaluate_a_study_that_searched_the_rate(
    tmp_path: Path, sqlite_url: str, monkeypatch, capsys
) -> None:
    fake = FakeTrain(peak=0.5)
    monkeypatch.setattr(_runner, "train", fake)
    study = create_study(tiny_spec(steps=7, search_lr=(LOW, HIGH)), sqlite_url)
    other = (0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0)
    for k in range(5):
        add_taylor_trial(study, other, 0.5 + 0.01 * k, lr=0.1 * (k + 1))
    best = add_taylor_trial(study, GOOD_THETA, 0.9, lr=1.7)
    study.add_trial(optuna.trial.create_trial(state=optuna.trial.TrialState.FAIL))
    args = ["evaluate", "--study", "tiny", "--storage", sqlite_url, "--repeats", "2",
            "--steps", "11", "--tune-repeats", "1", "--lr-factors", "0.3,1", "--no-lr-cache",
            "--no-progress", "--device", "cpu", "--out", str(tmp_path / "eval")]
    assert main(args) == 0
    printed = capsys.readouterr().out
    spent = _budget_calls(fake, 7)  # the study's length
    assert len(spent) == 6  # its completed trials; the failed one trained nothing
    rates = sorted(rate for _, rate, _ in spent)
    assert rates[0] == pytest.approx(LOW) and rates[-1] == pytest.approx(HIGH)
    taylor = {lr for name, lr, _ in fake.calls if name == "TaylorGLOLoss"}
    assert taylor == {1.7}  # trained at the rate its search found
    label = budget_label(6)
    assert f"| best (trial {best.number}) | 1.7 |" in printed and f"| {label} |" in printed
    report = optuna.load_study(study_name="tiny", storage=sqlite_url).user_attrs[
        "optuna_glo:evaluation"]
    assert [r["loss"] for r in report["rows"]][-1] == label
    assert report["lr_budget_search"]["trainings"] == 6
