"""The command line's entry: ``--help`` without torch, ``--version``, global flags anywhere."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import optuna
import pytest

import optuna_glo
from optuna_glo.cli import build_parser, main

#: Modules that take seconds to import; answering ``--help`` must not need them.
HEAVY = ("torch", "torchvision", "matplotlib", "scipy")

_HELP_IN_A_FRESH_PROCESS = f"""
import contextlib, io, json, sys
from optuna_glo.cli import main

for argv in json.loads(sys.argv[1]):
    with contextlib.redirect_stdout(io.StringIO()) as out:
        try:
            main(argv)
        except SystemExit as stop:
            assert stop.code == 0, (argv, stop.code)
        else:
            raise AssertionError(f"{{argv}} did not exit")
    assert out.getvalue().startswith(("usage: optuna-glo", "optuna-glo ")), argv
print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))
"""


def _command_names() -> list[str]:
    """The commands, as argparse lists them when given an unknown one."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), pytest.raises(SystemExit):
        build_parser().parse_args(["no-such-command"])
    found = re.search(r"choose from (.*)\)", err.getvalue())
    assert found is not None, err.getvalue()
    return [name.strip(" '") for name in found.group(1).split(",")]


def test_help_of_every_command_imports_no_torch() -> None:
    names = _command_names()
    assert {"run", "worker", "evaluate", "plot", "export", "tasks"} <= set(names)
    argvs = [["--help"], ["--version"], *([name, "--help"] for name in names)]
    result = subprocess.run(
        [sys.executable, "-c", _HELP_IN_A_FRESH_PROCESS, json.dumps(argvs)],
        capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_version_is_the_package_version(capsys) -> None:
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"optuna-glo {optuna_glo.__version__}"
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    assert pyproject["project"]["version"] == optuna_glo.__version__


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "tasks"],
        ["tasks", "-v"],
        ["--verbose", "best", "--study", "s", "--storage", "sqlite://"],
        ["best", "--study", "s", "--verbose", "--storage", "sqlite://"],
        ["-v", "run", "spec.toml", "--verbose"],
    ],
)
def test_verbose_is_accepted_before_and_after_the_command(argv: list[str]) -> None:
    assert build_parser().parse_args(argv).verbose is True


def test_verbose_is_off_unless_given() -> None:
    assert build_parser().parse_args(["tasks"]).verbose is False


def test_verbose_after_the_command_shows_optunas_logs(sqlite_url: str) -> None:
    before = optuna.logging.get_verbosity()
    try:
        # No such study: the command stops with a user error, after the flag took effect.
        assert main(["best", "--study", "nope", "--storage", sqlite_url, "-v"]) == 2
        assert optuna.logging.get_verbosity() == logging.INFO
    finally:
        optuna.logging.set_verbosity(before)


def test_public_names_import_on_first_use() -> None:
    from optuna_glo.samplers import TaylorGLOSampler
    from optuna_glo.suggest import suggest_taylor_loss

    assert optuna_glo.suggest_taylor_loss is suggest_taylor_loss
    assert optuna_glo.TaylorGLOSampler is TaylorGLOSampler
    assert set(optuna_glo.__all__) <= set(dir(optuna_glo))
    for name in optuna_glo.__all__:
        assert getattr(optuna_glo, name) is not None
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = optuna_glo.nope


def test_import_optuna_glo_gives_its_subpackages_on_first_use() -> None:
    script = (
        "import sys, optuna_glo\n"
        "assert 'torch' not in sys.modules\n"
        "print(optuna_glo.samplers.gp.GeneticProgrammingSampler.__name__)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GeneticProgrammingSampler"
