"""Stored text through the command line: it never drives the terminal and never stalls a command."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from optuna_glo.cli import main
from optuna_glo.cli._safe_text import printable
from optuna_glo.keys import BASELINE_ATTR
from optuna_glo.runtime.spec import StudySpec
from optuna_glo.runtime.study import create_study

#: What a hostile database might hold: a window title (OSC), a screen clear (CSI), an OSC 8
#: hyperlink, a C1 CSI, a bidi override and a line that pretends to be output.
ESCAPES = (
    "\x1b]0;owned\x07\x1b[2J\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\"
    "\x9b31m\u202e\nBest loss: trial 99, validation accuracy 1.0000"
)


def _spec(name: str) -> StudySpec:
    return StudySpec.from_dict({
        "study": {"name": name, "method": "glo", "task": "digits-mlp", "generations": 1},
    })


def _hostile_study(url: str, name: str) -> optuna.Study:
    study = create_study(_spec(name), url)
    study.add_trial(optuna.trial.create_trial(
        value=0.9, user_attrs={"loss_tree": "log(y) - x / y", "loss_formula": ESCAPES},
    ))
    return study


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain name", "plain name"),
        ("evil\x1b]0;owned\x07 name\n", "evil? name "),
        ("a\x1b[2J\x1b[31mred\x1b[0m", "a??red?"),
        ("\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\", "?link?"),
        ("c1\x9b31m\x9d0;t\x9c", "c1??"),
        ("\u202eevil\u202c \u2066x\u2069", "?evil? ?x?"),
        ("nul\x00 bell\x07 del\x7f", "nul? bell? del?"),
        ("tab\tnbsp\xa0ls\u2028ps\u2029", "tab nbsp ls ps "),
        ("\ud800 lone surrogate", "? lone surrogate"),
        ("ünïcode 日本", "ünïcode 日本"),
        ("x" * 300, "x" * 200 + "..."),
        ("\x1b]" + "x" * 10_000, "?..."),  # an OSC never closed: the rest is its body
    ],
)
def test_printable_strips_control_sequences(text: str, shown: str) -> None:
    assert printable(text) == shown


def test_best_prints_the_parsed_formula_and_no_stored_escapes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    study = _hostile_study(url, "tiny")
    study.set_user_attr(BASELINE_ATTR, {"value": ESCAPES, "lr": 1, "steps": 2, "seed": 3})
    result = subprocess.run(
        [sys.executable, "-m", "optuna_glo", "best", "--study", "tiny", "--storage", url],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[1:] == [
        "Best loss: trial 0, validation accuracy 0.9000",
        "  L(x, y) = -(1/n) Σᵢ [log(yᵢ) - xᵢ/yᵢ]",
        "  xᵢ: the one-hot target (1 for the true class i, else 0); yᵢ: the softmax prediction "
        "for class i; n: the number of classes. Terms that cannot change the gradient are left "
        "out.",
        "Cross-entropy, trained the same way: the stored record is unreadable.",
    ]
    assert all(line.isprintable() for line in lines)


def test_stored_names_and_trees_in_errors_and_tables(tmp_path: Path, capsys) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    # A name optuna-glo refuses (control characters) can still be in a shared storage, made by
    # another tool: optuna-glo lists it safely and refuses to open it, in one printable line.
    optuna.create_study(study_name=ESCAPES, storage=url)
    _hostile_study(url, "tiny")
    # The stored name, listed in "no study named": quoted, escapes visible, on one line.
    assert main(["best", "--study", "nope", "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "No study named 'nope'" in err and "'\\x1b]0;owned\\x07" in err
    assert err.endswith("\n") and err[:-1].isprintable()
    assert main(["best", "--study", ESCAPES, "--storage", url]) == 2
    err = capsys.readouterr().err
    assert "control characters" in err and err.endswith("\n") and err[:-1].isprintable()
    # `best` on a study whose stored formula holds escapes: the parsed formula, printable.
    assert main(["best", "--study", "tiny", "--storage", url]) == 0
    out = capsys.readouterr().out
    # header, best loss, formula, legend
    assert all(line.isprintable() for line in out.splitlines()) and len(out.splitlines()) == 4
    # A stored tree that is not one: the reason, not the text.
    study = optuna.load_study(study_name="tiny", storage=url)
    study.add_trial(optuna.trial.create_trial(value=0.95, user_attrs={"loss_tree": ESCAPES}))
    assert main(["best", "--study", "tiny", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "  (its loss cannot be read: Trial 1's stored loss tree ('loss_tree') is not a loss " \
           "tree: Unexpected character '\\x1b' at position 0." in out
    assert all(line.isprintable() for line in out.splitlines()) and len(out.splitlines()) == 3


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
