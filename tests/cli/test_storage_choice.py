"""Which storage a command uses: --storage, else $OPTUNA_STORAGE, else sqlite:///optuna-glo.db."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from test_cli import write_spec

from optuna_glo.cli import build_parser, main
from optuna_glo.cli._arguments import STORAGE_ENV, resolve_storage

#: Every command that opens a study, with the arguments it needs besides the storage.
COMMANDS = {
    "create-study": ["SPEC"],
    "worker": ["--study", "s"],
    "run": ["SPEC"],
    "best": ["--study", "s"],
    "launch": ["--study", "s"],
    "evaluate": ["--study", "s"],
    "plot": ["--study", "s", "--out", "d"],
    "export": ["--study", "s", "--out", "m.py"],
}


def test_the_flag_wins_then_the_environment_then_the_default(tmp_path: Path) -> None:
    env = {STORAGE_ENV: "sqlite:///from-env.db"}
    assert resolve_storage("sqlite:///flag.db", environ=env) == ("sqlite:///flag.db", "--storage")
    assert resolve_storage(None, environ=env) == ("sqlite:///from-env.db", "$OPTUNA_STORAGE")
    assert resolve_storage(None, creates=True, environ={}) == (
        "sqlite:///optuna-glo.db", "the default"
    )


@pytest.mark.parametrize(
    ("given", "env", "creates", "message"),
    [
        ("", {}, True, "The storage URL from --storage is empty"),
        (None, {STORAGE_ENV: " "}, True, "The storage URL from $OPTUNA_STORAGE is empty"),
        (None, {}, False, "the default storage sqlite:///optuna-glo.db does not exist in"),
    ],
)
def test_bad_or_missing_storage_is_one_clear_error(
    given: str | None, env: dict[str, str], creates: bool, message: str,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match=message.replace("$", r"\$")):
        resolve_storage(given, creates=creates, environ=env)
    assert not (tmp_path / "optuna-glo.db").exists()  # a command that reads never creates it


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_takes_the_storage_from_the_environment(
    command: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(STORAGE_ENV, "postgresql://u:pw-9x@db/s")
    args = build_parser().parse_args([command, *COMMANDS[command]])
    assert args.storage is None  # not given, and not required: main() resolves it
    with pytest.raises(SystemExit):
        build_parser().parse_args([command, "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "default: $OPTUNA_STORAGE, else sqlite:///optuna-glo.db" in help_text
    assert "now: postgresql://u:***@db/s from $OPTUNA_STORAGE" in help_text
    assert "pw-9x" not in help_text


def test_commands_find_the_study_through_the_environment_and_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, name="a")
    env_db = tmp_path / "env.db"
    monkeypatch.setenv(STORAGE_ENV, f"sqlite:///{env_db}")
    assert main(["create-study", "a.toml"]) == 0
    assert optuna.get_all_study_names(f"sqlite:///{env_db}") == ["a"]
    assert "Start workers with: optuna-glo worker --study a\n" in capsys.readouterr().out
    assert main(["best", "--study", "a"]) == 0  # the same study, not yet worked on
    assert "Study 'a': taylorglo on digits-mlp, 0 of 8 trials" in capsys.readouterr().out
    # The flag wins over the environment.
    assert main(["best", "--study", "a", "--storage", "sqlite:///other.db"]) == 2
    assert "No study named 'a' in sqlite:///other.db" in capsys.readouterr().err

    # Neither: the default file in the current directory, which only create-study makes.
    monkeypatch.delenv(STORAGE_ENV)
    assert main(["best", "--study", "a"]) == 2
    assert "sqlite:///optuna-glo.db does not exist in" in capsys.readouterr().err
    assert not (tmp_path / "optuna-glo.db").exists()
    assert main(["create-study", "a.toml"]) == 0
    assert optuna.get_all_study_names(f"sqlite:///{tmp_path / 'optuna-glo.db'}") == ["a"]
    assert main(["best", "--study", "a"]) == 0
