"""Stored text through the command line: it never drives the terminal and never stalls a command."""

from __future__ import annotations

from pathlib import Path

import pytest

from optuna_glo.cli import main
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study


def _spec(name: str) -> StudySpec:
    return StudySpec.from_dict({
        "study": {"name": name, "method": "glo", "task": "digits-mlp", "generations": 1},
    })


@pytest.mark.parametrize(
    ("loss", "fragment"),
    [
        ("1" * 400, "Integer '111111111111111111111111111111...' is out of range"),
        ("{1e400}x", "Coefficient '1e400' is out of range"),
        ("x * " + "9" * 5000, "an integer leaf is at most 16,777,216 in absolute value"),
        ("{" + "1" * 19_999, "Malformed coefficient"),
    ],
)
def test_evaluate_refuses_loss_texts_out_of_range(tmp_path: Path, capsys, loss: str,
                                                  fragment: str) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    create_study(_spec("tiny"), url)
    args = ["evaluate", "--study", "tiny", "--storage", url, "--losses", loss, "--out",
            str(tmp_path / "out")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert fragment in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()
