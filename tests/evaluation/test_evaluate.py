"""``optuna-glo evaluate`` on digits-mlp: table, statistics, resumption, the study's record."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import GOOD_THETA, add_taylor_trial, tiny_spec
from optuna_dashboard import get_note

from optuna_glo.cli import main
from optuna_glo.losses import Baikal, CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import get_task, train_candidates
from optuna_glo.reports.evaluation import (
    BASELINE,
    EVAL_SEED_BASE,
    TUNED_BASELINE,
    Candidate,
    csv_table,
    evaluate_losses,
    lr_grid,
    markdown_table,
)
from optuna_glo.runtime.study import create_study
from optuna_glo.suggest import resolve_loss

TASK = get_task("digits-mlp")


def _evaluate(results: Path, **kwargs):
    candidates = [
        Candidate("taylor", TaylorGLOLoss(GOOD_THETA), TASK.recipe.lr),
        Candidate(BASELINE, CrossEntropy(), TASK.recipe.lr),
        Candidate("baikal", Baikal(), TASK.recipe.lr),
    ]
    options = {"repeats": 2, "steps": 25, "tune_repeats": 1, "lr_factors": (0.3, 1.0),
               "eval_every": 10, "progress": False, "device": "cpu", "announce": lambda s: None}
    options.update(kwargs)
    return evaluate_losses(TASK, candidates, results_path=results, **options)


@pytest.mark.slow
def test_evaluate_trains_each_loss_and_resumes(tmp_path: Path) -> None:
    results = tmp_path / "results.jsonl"
    report = _evaluate(results)
    labels = [r.label for r in report.rows]
    search = report.lr_search
    assert search is not None and {0.3, 1.0} <= set(search.grid)
    assert search.trainings == len(search.grid) == 2 + search.extensions
    tuned = report.tuned_row()
    assert tuned is not None and tuned.lr == search.best_lr
    separate = tuned.lr != TASK.recipe.lr  # else the cross_entropy row is the tuned one
    assert labels == ["taylor", BASELINE, *([TUNED_BASELINE] * separate), "baikal"]
    assert report.seeds == [EVAL_SEED_BASE, EVAL_SEED_BASE + 1]
    for row in report.rows:
        assert len(row.test_accuracy) == 2 and all(0.0 <= a <= 1.0 for a in row.test_accuracy)
        assert [step for step, _ in row.curve] == [10, 20, 25]
    base = report.row(BASELINE)
    assert base is not None
    taylor = report.row("taylor")
    assert taylor is not None and 0.0 <= taylor.p_vs_baseline <= 1.0
    # One line per training: the lr search's + 2 seeds x 3 losses (+ 2 for the tuned rate
    # when it is not the task's rate).
    lines = results.read_text().splitlines()
    expected = search.trainings + 6 + 2 * separate
    assert len(lines) == expected == report.trained
    assert {json.loads(line)["purpose"] for line in lines} == {"lr search", "evaluation"}

    # A rerun trains nothing and reports the same numbers.
    again = _evaluate(results)
    assert again.trained == 0 and again.reused == expected
    assert [r.test_accuracy for r in again.rows] == [r.test_accuracy for r in report.rows]
    assert len(results.read_text().splitlines()) == expected

    # Interrupted after three trainings (and a half-written line): only the rest is trained.
    results.write_text("\n".join(lines[:3]) + '\n{"key": "cut sh')
    resumed = _evaluate(results)
    assert resumed.trained == expected - 3
    assert [r.test_accuracy for r in resumed.rows] == [r.test_accuracy for r in report.rows]


def test_tables_have_table_1_form(tmp_path: Path) -> None:
    report = _evaluate(tmp_path / "r.jsonl", tune_baseline_lr=False, repeats=2)
    md = markdown_table(report)
    assert "| Loss | Learning rate | Mean test accuracy (std) | p vs cross-entropy |" in md
    assert "one-tailed Welch t-tests" in md
    taylor = report.row("taylor")
    assert taylor is not None
    assert f"| taylor | 1 | {taylor.summary} |" in md
    rows = csv_table(report).splitlines()
    assert rows[0].startswith("task,steps,data_portion,loss,lr,n,mean_test_accuracy,std,")
    assert len(rows) == 4 and rows[1].startswith("digits-mlp,25,1.0,taylor,1.0,2,")


@pytest.mark.slow
def test_reduced_data_runs_differ_from_full_ones(tmp_path: Path) -> None:
    full = _evaluate(tmp_path / "full.jsonl", tune_baseline_lr=False, repeats=1)
    part = _evaluate(tmp_path / "part.jsonl", tune_baseline_lr=False, repeats=1,
                     data_portion=0.1)
    assert part.data_portion == 0.1
    assert [r.test_accuracy for r in part.rows] != [r.test_accuracy for r in full.rows]


def test_bad_arguments_name_the_argument(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"`repeats` must be >= 1\. The specified `repeats` is 0"):
        _evaluate(tmp_path / "r.jsonl", repeats=0)
    with pytest.raises(ValueError, match="`data_portion` must be in"):
        _evaluate(tmp_path / "r.jsonl", data_portion=1.5)
    with pytest.raises(ValueError, match="`population_batch` must be >= 1"):
        _evaluate(tmp_path / "r.jsonl", population_batch=0)
    with pytest.raises(ValueError, match="`base_lr` must be positive"):
        lr_grid(0.0)
    with pytest.raises(ValueError, match="neither 'best', 'trial:N', a named loss"):
        resolve_loss("log(y", None)
    with pytest.raises(ValueError, match="needs a study"):
        resolve_loss("best", None)


def test_resolve_loss_names() -> None:
    label, loss = resolve_loss("baikal")
    assert label == "baikal" and isinstance(loss, Baikal)
    label, loss = resolve_loss("log(y) - x / y")
    assert label == "log(y) - x / y" and loss.formula().endswith("[log(y) - x / y]")


@pytest.mark.slow
def test_evaluate_command_end_to_end(tmp_path: Path, sqlite_url: str, capsys) -> None:
    study = create_study(tiny_spec(), sqlite_url)
    add_taylor_trial(study, (0.0, 0.0, 1.5, 0.0, 0.0, 0.0, 0.0, 0.0), 0.6)
    best = add_taylor_trial(study, GOOD_THETA, 0.9)
    out = tmp_path / "eval"
    args = ["evaluate", "--study", "tiny", "--storage", sqlite_url, "--losses", "best,baikal",
            "--repeats", "2", "--steps", "20", "--tune-repeats", "1", "--lr-factors", "0.3,1",
            "--no-progress", "--device", "cpu", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Learning-rate search for cross-entropy on the validation set: 2 rates (0.3, 1) x 1 "\
        "seeds x 20 steps = 2 trainings (40 steps)." in printed
    assert f"| best (trial {best.number}) | 1 |" in printed
    stored = optuna.load_study(study_name="tiny", storage=sqlite_url).user_attrs
    report = stored["optuna_glo:evaluation"]
    search = report["lr_search"]
    # The task's lr 1 is the grid's upper edge: when it wins, the grid grows past it.
    assert search["trainings"] == 2 + search["extensions"]
    assert (search["best_lr"] == 1) == ("also the tuned baseline" in printed)
    n_rows = 3 + (search["best_lr"] != 1)  # best, baikal, CE (+ tuned CE at another rate)
    assert len(report["rows"]) == n_rows
    assert ("cross_entropy, learning rate tuned" in printed) == (n_rows == 4)
    md, csv = out / "evaluation.md", out / "evaluation.csv"
    curves = (out / "evaluation-curves.csv").read_text().splitlines()
    assert curves[0] == "loss,lr,step,mean_test_accuracy,runs"
    assert len(curves) == 1 + n_rows * 20  # 20 points per row (every step of 20)
    assert md.read_text().startswith("### Full-length evaluation")
    assert len(csv.read_text().splitlines()) == 1 + n_rows
    assert next(r["loss"] for r in report["rows"]) == f"best (trial {best.number})"
    note = get_note(optuna.load_study(study_name="tiny", storage=sqlite_url))
    assert "**Best loss**: trial 1" in note and "Full-length evaluation" in note
    # The rerun resumes: nothing is trained again.
    assert main(args) == 0
    assert "0 training(s) run now" in capsys.readouterr().out
    # Reduced data goes to its own file and attr.
    assert main([*args, "--data-portion", "0.25", "--no-tune-baseline-lr"]) == 0
    assert (out / "evaluation-portion0.25.md").exists()
    stored = optuna.load_study(study_name="tiny", storage=sqlite_url).user_attrs
    assert stored["optuna_glo:evaluation:portion=0.25"]["data_portion"] == 0.25


@pytest.mark.slow
def test_losses_of_one_seed_trained_as_one_stack_match_one_by_one(
    tmp_path: Path, monkeypatch
) -> None:
    from optuna_glo.reports.evaluation import _runner

    stacks: list[tuple[int, list[int]]] = []

    def spy(task, losses, seeds, **kwargs):
        stacks.append((len(losses), list(seeds)))
        return train_candidates(task, losses, seeds, **kwargs)

    monkeypatch.setattr(_runner, "train_candidates", spy)
    kwargs = {"tune_baseline_lr": False, "repeats": 2, "steps": 20}
    alone = _evaluate(tmp_path / "alone.jsonl", **kwargs)
    assert stacks == []
    together = _evaluate(tmp_path / "stack.jsonl", population_batch=3, path="vectorized", **kwargs)
    assert stacks == [(3, [EVAL_SEED_BASE] * 3), (3, [EVAL_SEED_BASE + 1] * 3)]
    assert together.trained == alone.trained == 6
    for a, b in zip(alone.rows, together.rows, strict=True):
        assert a.label == b.label and a.lr == b.lr
        assert b.test_accuracy == pytest.approx(a.test_accuracy, abs=1e-9)
        assert [s for s, _ in b.curve] == [s for s, _ in a.curve]
        assert [v for _, v in b.curve] == pytest.approx([v for _, v in a.curve], abs=1e-9)

    def records(name: str) -> dict[str, float]:
        lines = (tmp_path / name).read_text().splitlines()
        return {r["key"]: r["val_accuracy"] for r in map(json.loads, lines)}

    stacked = records("stack.jsonl")
    assert stacked == pytest.approx(records("alone.jsonl"), abs=1e-9)  # same runs, same keys
    # A stopped stacked evaluation resumes one by one from the same file.
    assert _evaluate(tmp_path / "stack.jsonl", **kwargs).trained == 0
