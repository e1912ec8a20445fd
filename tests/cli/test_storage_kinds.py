"""Every command on every kind of Optuna storage: journal file, Redis journal, gRPC proxy."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_glo.cli import main
from optuna_glo.runtime.storage import (
    StorageError,
    open_storage,
    opened,
    resolve_storage,
    storage_kind,
)

SPEC = """
[study]
name = "kinds"
method = "taylorglo"
task = "digits-mlp"
generations = 1
seed = 0

[taylorglo]
population_size = 4

[training]
steps = 20
"""

STORAGES = [
    "journal_path",
    pytest.param("redis_url", marks=[pytest.mark.redis, pytest.mark.slow]),
    pytest.param("grpc_url", marks=pytest.mark.slow),
]


@pytest.mark.parametrize("fixture", STORAGES)
def test_every_command_works_on_the_storage(
    fixture: str, request: pytest.FixtureRequest, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    url = request.getfixturevalue(fixture)
    spec = tmp_path / "kinds.toml"
    spec.write_text(SPEC)
    study_args = ["--study", "kinds", "--storage", url]
    assert main(["create-study", str(spec), "--storage", url]) == 0
    assert main(["worker", *study_args, "--no-progress", "--device", "cpu",
                 "--no-artifacts"]) == 0
    study = optuna.load_study(study_name="kinds", storage=open_storage(url))
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 4
    capsys.readouterr()
    assert main(["best", *study_args]) == 0
    assert f"trial {study.best_trial.number}" in capsys.readouterr().out
    assert main(["evaluate", *study_args, "--repeats", "1", "--steps", "20",
                 "--no-tune-baseline-lr", "--device", "cpu",
                 "--out", str(tmp_path / "evaluation")]) == 0
    assert main(["plot", *study_args, "--out", str(tmp_path / "plots")]) == 0
    assert list((tmp_path / "plots").glob("*.png"))
    assert main(["export", *study_args, "--out", str(tmp_path / "found.py")]) == 0
    assert "class FoundLoss" in (tmp_path / "found.py").read_text()


def test_storage_kind_follows_the_optuna_cli(tmp_path: Path) -> None:
    assert storage_kind("sqlite:///x.db") == "rdb"
    assert storage_kind("postgresql://u@h/db") == "rdb"
    assert storage_kind("./study.log") == "journal-file"
    assert storage_kind("runs/a.journal") == "journal-file"
    assert storage_kind("redis://127.0.0.1:6379/0") == "journal-redis"
    assert storage_kind("grpc://127.0.0.1:13000") == "grpc"
    existing = tmp_path / "journal.txt"
    existing.write_text("")
    assert storage_kind(str(existing)) == "journal-file"


def test_a_path_that_is_neither_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"sqlite:///optuna\.db for SQLite"):
        storage_kind("optuna.db")
    sqlite_file = tmp_path / "s.db"
    optuna.create_study(storage=f"sqlite:///{sqlite_file}")
    with pytest.raises(StorageError, match="neither a database URL nor a journal file"):
        storage_kind(str(sqlite_file))


def test_storage_class_hint_checks_the_url_and_makes_a_journal_file(tmp_path: Path) -> None:
    path = tmp_path / "study.txt"
    assert resolve_storage(str(path), "JournalFileBackend") == str(path)
    assert path.is_file() and storage_kind(str(path)) == "journal-file"
    assert resolve_storage("127.0.0.1:13000", "GrpcStorageProxy") == "grpc://127.0.0.1:13000"
    with pytest.raises(StorageError, match="names a rdb storage, but `--storage-class` is"):
        resolve_storage("sqlite:///x.db", "JournalRedisBackend")
    with pytest.raises(StorageError, match="must be one of RDBStorage"):
        resolve_storage("sqlite:///x.db", "SQLite")


def test_a_journal_file_opens_as_journal_storage(tmp_path: Path) -> None:
    storage = open_storage(str(tmp_path / "s.log"))
    assert isinstance(storage, optuna.storages.JournalStorage)
    assert opened(storage).kind == "journal-file"


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("grpc://127.0.0.1", "must be grpc://HOST:PORT"),
        (f"{Path('/nonexistent-dir') / 'x.log'}", "its directory does not exist"),
    ],
)
def test_bad_storages_get_one_line_errors(url: str, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        open_storage(url)


def test_storage_proxy_refuses_a_journal_file(tmp_path: Path, capsys) -> None:
    assert main(["storage-proxy", "--storage", str(tmp_path / "j.log"), "--port", "1"]) == 2
    assert "does not serve journal storages" in capsys.readouterr().err
