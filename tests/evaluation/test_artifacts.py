"""Workers attach a loss-shape PNG to every trial and keep the study's dashboard note, on SQLite
and on the real PostgreSQL server."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from _evaluation_studies import evaluation_report, is_png, study_with_generations, tiny_spec
from optuna.artifacts import get_all_artifact_meta
from optuna.trial import TrialState
from optuna_dashboard import get_note

from optuna_glo import load_loss
from optuna_glo.cli import main
from optuna_glo.keys import EVALUATION_ATTR
from optuna_glo.losses import readable_formula
from optuna_glo.reports.artifacts import ATTR_LIMIT, attr_size, load_evaluations, store_evaluation
from optuna_glo.reports.dashboard import default_artifact_dir, study_note
from optuna_glo.reports.evaluation import markdown_table, write_tables
from optuna_glo.reports.plots import plot_study
from optuna_glo.runtime.study import create_study


def _work(url: str, *extra: str) -> optuna.Study:
    create_study(tiny_spec(), url)
    args = ["worker", "--study", "tiny", "--storage", url, "--n-trials", "2", "--no-progress",
            "--device", "cpu", "--heartbeat-interval", "0", *extra]
    assert main(args) == 0
    return optuna.load_study(study_name="tiny", storage=url)


def _check_artifacts(study: optuna.Study, artifact_dir: Path) -> None:
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) == 2
    for trial in trials:
        metas = get_all_artifact_meta(trial, storage=study._storage)
        assert len(metas) == 1
        meta = metas[0]
        assert meta.mimetype == "image/png"
        assert meta.filename == f"trial-{trial.number}-loss-shape.png"
        assert is_png(artifact_dir / meta.artifact_id)
        note = get_note(optuna.Trial(study, trial._trial_id))
        assert readable_formula(load_loss(trial)) in note
        assert f"/artifacts/{study._study_id}/{trial._trial_id}/{meta.artifact_id}" in note
    note = get_note(study)
    best = study.best_trial
    assert f"**Best loss**: trial {best.number}" in note
    assert readable_formula(load_loss(best)) in note


@pytest.mark.slow
def test_sqlite_worker_attaches_artifacts_by_default(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = _work(url)
    assert default_artifact_dir(url) == tmp_path / "study-artifacts"
    _check_artifacts(study, tmp_path / "study-artifacts")


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_worker_attaches_artifacts(tmp_path: Path, pg_url: str) -> None:
    study = _work(pg_url, "--artifact-dir", str(tmp_path / "shared"))
    _check_artifacts(study, tmp_path / "shared")


@pytest.mark.slow
def test_no_artifacts_flag(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'study.db'}"
    study = _work(url, "--no-artifacts")
    assert all(not get_all_artifact_meta(t, storage=study._storage) for t in study.trials)
    assert not (tmp_path / "study-artifacts").exists()
    assert get_note(study) == ""


def test_default_artifact_dir_and_note_without_trials(sqlite_url: str) -> None:
    assert default_artifact_dir("postgresql://u:p@h/db") == Path("optuna-glo-artifacts")
    assert default_artifact_dir("sqlite:///a/b.db") == Path("a/b-artifacts")
    study = create_study(tiny_spec(), sqlite_url)
    assert "No completed trial yet." in study_note(study)


def test_an_evaluation_goes_to_artifacts_and_a_small_summary(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    study = study_with_generations(sqlite_url)
    report = evaluation_report(curve_points=400)  # --eval-every 5 on a 2,000-step run
    whole = {**report.to_dict(), "markdown": markdown_table(report)}
    assert attr_size(whole) > ATTR_LIMIT  # what used to be a study user attr
    md, cs = write_tables(report, tmp_path, "evaluation")
    (tmp_path / "evaluation.json").write_text(json.dumps(whole))
    files = [tmp_path / "evaluation.json", md, cs, tmp_path / "evaluation-curves.csv"]
    store = tmp_path / "artifacts"
    summary = store_evaluation(study, whole, key=EVALUATION_ATTR, files=files, artifact_dir=store)

    assert study.user_attrs[EVALUATION_ATTR] == summary
    assert all(attr_size(v) < ATTR_LIMIT for v in study.user_attrs.values())
    assert summary["rows"][0] == {  # the statistics; the runs and the curve are artifacts
        "loss": "best (trial 3)", "lr": 1.0, "n": 3, "mean": pytest.approx(0.95),
        "std": pytest.approx(0.01), "diverged": 0, "p_vs_cross_entropy": None,
        "p_vs_cross_entropy_lr_tuned": None, "p_vs_cross_entropy_lr_tuned_with_budget": None,
    }
    metas = get_all_artifact_meta(study)
    assert sorted(m.filename for m in metas) == sorted(p.name for p in files)
    assert {m.filename: m.artifact_id for m in metas} == summary["artifacts"]
    assert load_evaluations(study, store)[EVALUATION_ATTR] == whole
    # Stored again unchanged (a resumed evaluation that trained nothing): nothing new.
    store_evaluation(study, whole, key=EVALUATION_ATTR, files=files, artifact_dir=store)
    assert len(get_all_artifact_meta(study)) == len(files)
    note = study_note(study)
    assert "### Full-length evaluation" in note and "study artifacts evaluation.json" in note

    # plot reads the runs and curves from the artifacts; without them it says why it cannot.
    pictures = {p.name for p in plot_study(study, tmp_path / "pics", artifact_dir=store)}
    assert {"evaluation.png", "training_curves.png"} <= pictures
    pictures = {p.name for p in plot_study(study, tmp_path / "pics2", artifact_dir=None)}
    assert "evaluation.png" not in pictures
    assert "no runs here to plot" in caplog.text


def _schedule_evaluation(tmp_path: Path) -> tuple[dict[str, object], list[Path]]:
    """A hand-made EPBT schedule evaluation, as ``evaluate`` writes it (summary and files)."""
    from optuna_glo.reports.evaluation import (
        MethodRow,
        PopulationReport,
        compare_to_schedule,
        population_markdown,
    )

    schedule = MethodRow("EPBT schedule (trial 9)", 4, [0.9, 0.92], 0, [(2.0, 0.8), (4.0, 0.91)])
    ce = MethodRow("cross_entropy (lr 1)", 4, [0.85, 0.86], 0, lr=1.0)
    compare_to_schedule(schedule, [ce])
    report = PopulationReport("digits-mlp", 2, [1000, 1001], schedule, [ce])
    md = population_markdown(report, "EPBT schedule (trial 9) against its baselines")
    whole, table = tmp_path / "schedule-evaluation.json", tmp_path / "schedule-evaluation.md"
    whole.write_text(json.dumps({**report.to_dict(), "markdown": md}))
    table.write_text(md)
    return {**report.summary(), "markdown": md}, [whole, table]


def test_the_study_note_shows_the_schedule_evaluation(tmp_path: Path, sqlite_url: str) -> None:
    from optuna_glo.keys import SCHEDULE_EVALUATION_ATTR

    study = study_with_generations(sqlite_url)
    summary, files = _schedule_evaluation(tmp_path)
    md = str(summary["markdown"])
    store = tmp_path / "artifacts"
    store_evaluation(study, summary, key=SCHEDULE_EVALUATION_ATTR, files=files, artifact_dir=store)
    assert "optuna_glo:evaluation" not in "".join(study.user_attrs)  # not a loss table
    note = study_note(study)
    assert md in note and "| EPBT schedule (trial 9) | 4 |" in note
    assert "study artifacts schedule-evaluation.json, schedule-evaluation.md" in note
    assert note.index("**Best loss**") < note.index(md)
    # A table too large for its summary attr: the note reads its Markdown artifact.
    attr = dict(study.user_attrs[SCHEDULE_EVALUATION_ATTR])
    del attr["markdown"]
    study.set_user_attr(SCHEDULE_EVALUATION_ATTR, attr)
    assert md not in study_note(study)  # no artifact directory: only the artifacts' names
    assert "schedule-evaluation.md" in study_note(study)
    assert md in study_note(study, store)
    # A table stored by someone else is bounded.
    study.set_user_attr(SCHEDULE_EVALUATION_ATTR, {"markdown": "x" * 200_000})
    assert "x" * 1000 not in study_note(study)
