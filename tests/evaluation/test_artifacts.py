"""Workers attach a loss-shape PNG to every trial and keep the study's dashboard note, on SQLite
and on the real PostgreSQL server."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from _evaluation_studies import is_png, tiny_spec
from optuna.artifacts import get_all_artifact_meta
from optuna.trial import TrialState
from optuna_dashboard import get_note

from optuna_glo.cli import main
from optuna_glo.reports.dashboard import default_artifact_dir, readable_math, study_note
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
    note = get_note(study)
    best = study.best_trial
    assert f"**Best loss**: trial {best.number}" in note
    assert readable_math(best.user_attrs["loss_formula"]) in note


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
    assert readable_math("-(1/n) * sum_i (y_i - 0.5)^2") == "-(1/n) · Σᵢ (yᵢ - 0.5)²"
