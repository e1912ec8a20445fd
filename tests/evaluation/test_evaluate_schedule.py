"""``evaluate_losses`` scheduling with the training replaced by a stand-in: seeds interleaved
across losses, the learning-rate grid extended past an edge, no duplicate cross-entropy row, the
learning-rate cache, the hint for a study without a completed trial."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from _evaluation_studies import GOOD_THETA, FakeTrain, tiny_spec

from optuna_glo.cli import main
from optuna_glo.losses import Baikal, CrossEntropy, TaylorGLOLoss
from optuna_glo.objectives import get_task
from optuna_glo.reports.evaluation import (
    BASELINE,
    EVAL_SEED_BASE,
    MAX_GRID_EXTENSIONS,
    TUNED_BASELINE,
    Candidate,
    LRCache,
    _runner,
    default_lr_cache_path,
    evaluate_losses,
    markdown_table,
    run_key,
)
from optuna_glo.runtime.study import create_study

TASK = get_task("digits-mlp")


def _candidates() -> list[Candidate]:
    lr = TASK.recipe.lr
    return [
        Candidate("taylor", TaylorGLOLoss(GOOD_THETA), lr),
        Candidate(BASELINE, CrossEntropy(), lr),
        Candidate("baikal", Baikal(), lr),
    ]


def _evaluate(results: Path, fake: FakeTrain, monkeypatch, **kwargs):
    monkeypatch.setattr(_runner, "train", fake)
    options: dict[str, Any] = {
        "repeats": 3, "steps": 5, "tune_repeats": 1, "lr_factors": (0.3, 1.0, 3.0),
        "progress": False, "device": "cpu", "announce": lambda s: None,
    }
    options.update(kwargs)
    return evaluate_losses(TASK, _candidates(), results_path=results, **options)


def test_seeds_interleaved_across_losses_and_an_interrupted_run_stays_balanced(
    tmp_path: Path, monkeypatch
) -> None:
    fake = FakeTrain()
    _evaluate(tmp_path / "r.jsonl", fake, monkeypatch, tune_baseline_lr=False)
    seeds = [seed for _, _, seed in fake.calls]
    assert seeds == [EVAL_SEED_BASE] * 3 + [EVAL_SEED_BASE + 1] * 3 + [EVAL_SEED_BASE + 2] * 3

    results = tmp_path / "cut.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _evaluate(results, FakeTrain(stop_after=4), monkeypatch, tune_baseline_lr=False)
    done = [json.loads(line)["loss"] for line in results.read_text().splitlines()]
    assert len(done) == 4
    counts = [done.count(label) for label in ("taylor", BASELINE, "baikal")]
    assert max(counts) - min(counts) <= 1
    resumed = FakeTrain()
    report = _evaluate(results, resumed, monkeypatch, tune_baseline_lr=False)
    assert len(resumed.calls) == 5 and report.reused == 4
    assert all(len(row.test_accuracy) == 3 for row in report.rows)


def test_lr_search_seeds_interleaved_across_rates(tmp_path: Path, monkeypatch) -> None:
    fake = FakeTrain()
    _evaluate(tmp_path / "r.jsonl", fake, monkeypatch, tune_repeats=2, repeats=1)
    search = fake.calls[:6]
    assert [seed for _, _, seed in search] == [2000] * 3 + [2001] * 3
    assert [lr for _, lr, _ in search[:3]] == [0.3, 1.0, 3.0]


def test_best_rate_on_the_upper_edge_extends_the_grid(tmp_path: Path, monkeypatch) -> None:
    said: list[str] = []
    report = _evaluate(tmp_path / "r.jsonl", FakeTrain(peak=4.0), monkeypatch,
                       announce=said.append, repeats=2)
    search = report.lr_search
    assert search is not None
    assert search.grid == [0.3, 1.0, 3.0, 9.0] and search.extensions == 1
    assert search.best_lr == 3.0
    assert sum("Warning: the best rate 3 is on the edge of the grid" in s for s in said) == 1
    assert not any("still on the edge" in s for s in said)
    tuned = report.row(TUNED_BASELINE)
    assert tuned is not None and tuned.lr == 3.0
    assert "| cross_entropy, learning rate tuned | 3 |" in markdown_table(report)
    assert "extended 1 time(s)" in markdown_table(report)


def test_grid_extension_is_bounded_and_says_so(tmp_path: Path, monkeypatch) -> None:
    said: list[str] = []
    report = _evaluate(tmp_path / "r.jsonl", FakeTrain(peak=0.001), monkeypatch,
                       announce=said.append, repeats=2)
    search = report.lr_search
    assert search is not None and search.extensions == MAX_GRID_EXTENSIONS == 2
    assert search.grid == [0.027, 0.09, 0.3, 1.0, 3.0]
    assert search.best_lr == 0.027
    assert any("still on the edge of the grid after 2 extensions" in s for s in said)
    row = report.row(TUNED_BASELINE)
    assert row is not None and row.lr == 0.027


def test_no_duplicate_row_when_the_tuned_rate_is_the_tasks(tmp_path: Path, monkeypatch) -> None:
    said: list[str] = []
    fake = FakeTrain(peak=TASK.recipe.lr)
    report = _evaluate(tmp_path / "r.jsonl", fake, monkeypatch, announce=said.append)
    assert [r.label for r in report.rows] == ["taylor", BASELINE, "baikal"]
    assert report.tuned_row() is report.row(BASELINE)
    taylor = report.row("taylor")
    assert taylor is not None and not math.isnan(taylor.p_vs_tuned)
    assert taylor.p_vs_tuned == taylor.p_vs_baseline
    md = markdown_table(report)
    assert "p vs cross-entropy, lr tuned" not in md
    assert "the cross_entropy row is also the tuned baseline" in md
    assert any("is also the tuned baseline" in s for s in said)
    assert len([c for c in fake.calls if c[2] >= EVAL_SEED_BASE and c[2] < 2000]) == 9


def test_lr_search_is_cached_across_studies(tmp_path: Path, monkeypatch) -> None:
    cache = tmp_path / "cache" / "lr-search.json"
    first = FakeTrain(peak=2.0)
    one = _evaluate(tmp_path / "a.jsonl", first, monkeypatch, lr_cache=cache, repeats=1)
    assert one.lr_search is not None and one.lr_search.cached == 0
    assert json.loads(cache.read_text())["version"] == 1
    said: list[str] = []
    second = FakeTrain(peak=2.0)
    two = _evaluate(tmp_path / "b.jsonl", second, monkeypatch, lr_cache=cache, repeats=1,
                    announce=said.append)
    assert two.lr_search is not None
    assert two.lr_search.cached == two.lr_search.trainings == one.lr_search.trainings
    assert two.lr_search.val_accuracy == one.lr_search.val_accuracy
    assert all(seed < 2000 for _, _, seed in second.calls)  # only evaluation runs trained
    assert any(f"taken from the cache {cache}" in s for s in said)
    # Another length is another search.
    third = FakeTrain(peak=2.0)
    _evaluate(tmp_path / "c.jsonl", third, monkeypatch, lr_cache=cache, repeats=1, steps=6)
    assert any(seed >= 2000 for _, _, seed in third.calls)


@pytest.mark.parametrize("text, why", [
    ("{not json", "not readable JSON"),
    ('{"version": 7, "runs": {}}', "not a version-1 cache"),
    ('{"version": 1, "runs": [1, 2]}', "'runs' is not a map"),
    ("[]", "not a version-1 cache"),
])
def test_a_bad_cache_file_is_set_aside_with_one_line(tmp_path: Path, text: str, why: str) -> None:
    path = tmp_path / "lr-search.json"
    path.write_text(text)
    said: list[str] = []
    cache = LRCache(path, warn=said.append)
    assert cache.entries == {} and len(said) == 1 and why in said[0]
    assert "\n" not in said[0]
    cache.put("k", 0.5)
    cache.save()
    assert LRCache(path).entries == {"k": 0.5}


def test_cache_entries_are_bounded_and_checked(tmp_path: Path, monkeypatch) -> None:
    from optuna_glo.reports.evaluation import _lr_cache

    monkeypatch.setattr(_lr_cache, "MAX_LR_CACHE_ENTRIES", 3)
    key = run_key("digits-mlp", "ce", 0.1, 2000, 5, 1.0)
    runs = {key: 0.9, "nan": float("nan"), "big": 1.5, "bool": True, "x" * 2000: 0.5,
            "a": 0.1, "b": 0.2, "c": 0.3}
    path = tmp_path / "lr-search.json"
    path.write_text(json.dumps({"version": 1, "runs": runs}))
    cache = LRCache(path, warn=pytest.fail)
    assert cache.entries == {"a": 0.1, "b": 0.2, "c": 0.3}  # the newest 3 valid ones
    cache.put(key, 0.9)
    cache.save()
    assert LRCache(path).entries == {"b": 0.2, "c": 0.3, key: 0.9}
    monkeypatch.setattr(_lr_cache, "MAX_LR_CACHE_BYTES", 10)
    said: list[str] = []
    assert LRCache(path, warn=said.append).entries == {} and "over 10 bytes" in said[0]


def test_cache_path_follows_xdg_cache_home(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_lr_cache_path() == tmp_path / "optuna-glo" / "lr-search.json"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/dir")  # not absolute: ignored (XDG spec)
    assert default_lr_cache_path() == Path.home() / ".cache" / "optuna-glo" / "lr-search.json"


def test_evaluate_best_of_a_study_without_trials_gives_a_hint(
    tmp_path: Path, sqlite_url: str, capsys
) -> None:
    create_study(tiny_spec(), sqlite_url)
    args = ["evaluate", "--study", "tiny", "--storage", sqlite_url, "--no-progress",
            "--device", "cpu", "--out", str(tmp_path / "eval")]
    assert main(args) != 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "has no completed trial" in err and "--losses cross_entropy" in err


def test_losses_of_one_theta_in_two_forms_are_two_runs() -> None:
    lr = TASK.recipe.lr
    code = Candidate("a", TaylorGLOLoss(GOOD_THETA, form="code"), lr)
    eq5 = Candidate("b", TaylorGLOLoss(GOOD_THETA, form="eq5"), lr)
    assert code.identity != eq5.identity
    theta = TaylorGLOLoss(GOOD_THETA).theta.tolist()
    assert eq5.identity == f"TaylorGLO{json.dumps(theta)}"  # the key from before forms
