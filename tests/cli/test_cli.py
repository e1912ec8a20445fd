"""The command line end to end, on SQLite and on the real PostgreSQL server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest
from _specs import TINY
from optuna.trial import TrialState

from optuna_glo.cli import main
from optuna_glo.keys import SPEC_ATTR


def write_spec(tmp_path: Path, name: str = "tiny", steps: int = 40, extra: str = "") -> Path:
    path = tmp_path / f"{name}.toml"
    path.write_text(TINY.format(name=name, steps=steps) + extra)
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "optuna_glo", *args], capture_output=True, text=True, timeout=300
    )


def test_run_finds_a_loss_and_compares_it_with_cross_entropy(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 'q.db'}"
    spec = write_spec(tmp_path)
    # Train every candidate: no invariant skips (tested in tests/test_taylorglo_method.py).
    spec.write_text(spec.read_text().replace("size = 4\n", "size = 4\ninvariant_check = false\n"))
    assert main(["run", str(spec), "--storage", storage, "--no-progress", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "Best loss: trial" in out and "L(x, y) = -Σᵢ [" in out  # the authors' form
    assert "Cross-entropy, trained the same way (lr 1, 40 steps, seed 0)" in out
    study = optuna.load_study(study_name="tiny", storage=storage)
    assert len(study.trials) == 8
    assert all(t.state == TrialState.COMPLETE for t in study.trials)
    assert all("val_accuracy" in t.user_attrs for t in study.trials)
    # `best` tells the same trial.
    assert main(["best", "--study", "tiny", "--storage", storage]) == 0
    assert f"Best loss: trial {study.best_trial.number}," in capsys.readouterr().out
    # A second run on a finished study trains nothing more.
    assert main(["run", str(spec), "--storage", storage, "--no-progress"]) == 0
    assert len(optuna.load_study(study_name="tiny", storage=storage).trials) == 8


def test_create_study_is_idempotent_and_refuses_a_changed_spec(tmp_path: Path, capsys) -> None:
    storage = f"sqlite:///{tmp_path / 's.db'}"
    spec = write_spec(tmp_path)
    assert main(["create-study", str(spec), "--storage", storage]) == 0
    assert main(["create-study", str(spec), "--storage", storage]) == 0
    stored = optuna.load_study(study_name="tiny", storage=storage).user_attrs[SPEC_ATTR]
    changed = write_spec(tmp_path, steps=41)
    assert main(["create-study", str(changed), "--storage", storage]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "[training] steps: stored 40, new 41" in err
    assert optuna.load_study(study_name="tiny", storage=storage).user_attrs[SPEC_ATTR] == stored


def test_worker_respects_its_own_trial_limit(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'w.db'}"
    assert main(["create-study", str(write_spec(tmp_path)), "--storage", storage]) == 0
    args = ["worker", "--study", "tiny", "--storage", storage, "--no-progress"]
    assert main([*args, "--n-trials", "3"]) == 0
    assert len(optuna.load_study(study_name="tiny", storage=storage).trials) == 3
    assert main(args) == 0
    assert len(optuna.load_study(study_name="tiny", storage=storage).trials) == 8


def _assert_user_error(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_bad_inputs_get_one_line_errors(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'b.db'}"
    unknown_task = write_spec(tmp_path, name="bad_task")
    unknown_task.write_text(unknown_task.read_text().replace("digits-mlp", "imagenet"))
    _assert_user_error(
        cli("create-study", str(unknown_task), "--storage", storage), "Unknown task", "digits-mlp"
    )
    wrong_type = write_spec(tmp_path, name="bad_type", extra="[taylorglo]\nsigma0 = 'big'\n")
    wrong_type.write_text(wrong_type.read_text().replace("[taylorglo]\npopulation_size = 4\n", ""))
    _assert_user_error(
        cli("create-study", str(wrong_type), "--storage", storage), "[taylorglo] sigma0 must be"
    )
    unknown_key = write_spec(tmp_path, name="bad_key")
    unknown_key.write_text(unknown_key.read_text().replace("seed = 0", "seed = 0\ncolour = 1"))
    _assert_user_error(cli("create-study", str(unknown_key), "--storage", storage), "`colour`")
    _assert_user_error(
        cli("worker", "--study", "nope", "--storage", storage), "No study named 'nope'"
    )


def test_unreachable_storage_names_the_host_and_hides_the_password(tmp_path: Path) -> None:
    spec = write_spec(tmp_path)
    url = "postgresql://alice:s3cr3t-pw@127.0.0.1:1/optuna"
    result = cli("create-study", str(spec), "--storage", url)
    _assert_user_error(result, "127.0.0.1:1")
    assert "s3cr3t-pw" not in result.stderr + result.stdout


def test_missing_data_set_says_how_to_get_it(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'm.db'}"
    spec = write_spec(tmp_path, name="mnist")
    spec.write_text(spec.read_text().replace("digits-mlp", "mnist-basic-cnn"))
    assert cli("create-study", str(spec), "--storage", storage).returncode == 0
    result = cli("worker", "--study", "mnist", "--storage", storage, "--no-progress",
                 "--data-dir", str(tmp_path / "empty"))
    _assert_user_error(result, "MNIST is not in", "--download")
    # Nothing is lost: the trial that could not run is FAIL (to be re-run), not RUNNING.
    study = optuna.load_study(study_name="mnist", storage=storage)
    assert [t.state for t in study.trials] == [TrialState.FAIL]


def test_tasks_lists_the_registry(capsys) -> None:
    assert main(["tasks"]) == 0
    out = capsys.readouterr().out
    for name in ("digits-mlp", "mnist-basic-cnn", "fashion-mnist-basic-cnn", "mnist5k-basic-cnn"):
        assert name in out
    assert "3,274,634" in out  # the basic CNN's parameter count


@pytest.mark.slow
@pytest.mark.postgres
def test_two_worker_processes_share_one_postgresql_study(tmp_path: Path, pg_url: str) -> None:
    spec = write_spec(tmp_path, name="pg_tiny", extra="")
    spec.write_text(spec.read_text().replace("generations = 2", "generations = 3"))
    assert cli("create-study", str(spec), "--storage", pg_url).returncode == 0
    args = [sys.executable, "-m", "optuna_glo", "worker", "--study", "pg_tiny", "--storage",
            pg_url, "--no-progress", "--device", "cpu"]
    workers = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    outputs = [w.communicate(timeout=300) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], outputs
    # Both workers did work, and together they met the budget of 3 x 4 trials.
    assert all("This worker ran" in out for out, _ in outputs)
    study = optuna.load_study(study_name="pg_tiny", storage=pg_url)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) >= 12
    assert TrialState.RUNNING not in states
    best = cli("best", "--study", "pg_tiny", "--storage", pg_url)
    assert best.returncode == 0 and f"trial {study.best_trial.number}," in best.stdout


def test_an_evaluate_study_compares_fixed_losses(tmp_path: Path, capsys) -> None:
    spec = tmp_path / "cmp.toml"
    spec.write_text(
        '[study]\nname = "cmp"\nmethod = "evaluate"\ntask = "digits-mlp"\n'
        '[evaluate]\nlosses = ["baikal", "cross_entropy"]\nsteps = [30]\nseeds = 2\n'
    )
    storage = f"sqlite:///{tmp_path / 'cmp.db'}"
    assert main(["run", str(spec), "--storage", storage, "--no-progress", "--no-artifacts"]) == 0
    out = capsys.readouterr().out
    assert "4 of 4 trials complete" in out
    study = optuna.load_study(study_name="cmp", storage=storage)
    combos = sorted((t.params["loss"], t.params["repeat"]) for t in study.trials)
    assert combos == [("baikal", 0), ("baikal", 1), ("cross_entropy", 0), ("cross_entropy", 1)]
    for t in study.trials:  # the value is the test accuracy of that run
        assert t.value == t.user_attrs["test_accuracy"]
    assert "baikal" in out and "cross_entropy" in out and "mean (std)" in out


@pytest.mark.slow
@pytest.mark.postgres
def test_run_on_postgresql_never_prints_the_password(tmp_path: Path, pg_url: str) -> None:
    # The test server trusts local connections, so any password is accepted: it must not show.
    url = pg_url.replace("postgres@", "postgres:pw-8f3k2@", 1)
    spec = write_spec(tmp_path, name="pg_run", steps=20)
    spec.write_text(spec.read_text().replace("generations = 2", "generations = 1"))
    result = cli("run", str(spec), "--storage", url, "--no-progress", "--no-artifacts")
    assert result.returncode == 0, result.stderr
    assert "Best loss: trial" in result.stdout and "optuna-dashboard postgresql://" in result.stdout
    assert "pw-8f3k2" not in result.stdout + result.stderr
