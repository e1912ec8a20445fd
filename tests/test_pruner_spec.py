"""The spec's [pruner] table: Optuna's pruners by name, checked with one-line errors."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest

from optuna_glo.runtime.spec import SpecError, load_spec, spec_from_json
from optuna_glo.runtime.study import create_study, load_study

BASE = """
[study]
name = "t"
method = "taylorglo"
task = "digits-mlp"
n_trials = 4
"""


def spec_with(tmp_path: Path, pruner: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(BASE + pruner)
    return path


@pytest.mark.parametrize(
    ("table", "cls", "checks"),
    [
        ("", optuna.pruners.NopPruner, {}),
        ('type = "median"\nn_startup_trials = 7\nn_warmup_steps = 30\n',
         optuna.pruners.MedianPruner, {"_n_startup_trials": 7, "_n_warmup_steps": 30}),
        ('type = "successive_halving"\nreduction_factor = 2\n',
         optuna.pruners.SuccessiveHalvingPruner, {"_reduction_factor": 2}),
        ('type = "hyperband"\nmin_resource = 30\nmax_resource = 300\n',
         optuna.pruners.HyperbandPruner, {"_min_resource": 30, "_max_resource": 300}),
    ],
)
def test_every_worker_gets_the_stored_specs_pruner(
    tmp_path: Path, table: str, cls: type, checks: dict[str, int]
) -> None:
    spec = load_spec(spec_with(tmp_path, f"[pruner]\n{table}" if table else ""))
    assert spec_from_json(spec.to_json()) == spec
    storage = f"sqlite:///{tmp_path / 'db.sqlite'}"
    create_study(spec, storage)
    study, _ = load_study("t", storage)  # what a worker loads: the pruner comes from the spec
    assert type(study.pruner) is cls
    for attr, value in checks.items():
        assert getattr(study.pruner, attr) == value


def test_a_spec_without_a_pruner_is_stored_as_before(tmp_path: Path) -> None:
    assert "pruner" not in load_spec(spec_with(tmp_path, "")).to_dict()


@pytest.mark.parametrize(
    ("table", "match"),
    [
        ('type = "medain"\n', r"\[pruner\] type must be one of 'none', 'median', "
         r"'successive_halving', 'hyperband'\. The specified type is 'medain'\."),
        ('type = "median"\nstartup = 3\n', r"key\(s\) `startup` are not keywords of "
         r"optuna\.pruners\.MedianPruner\. Its keywords: `n_startup_trials`"),
        ('type = "median"\nn_startup_trials = -1\n', r"\[pruner\] optuna\.pruners\.MedianPruner:"
         r" Number of startup trials cannot be negative, but got n_startup_trials=-1\."),
        ('type = "hyperband"\nreduction_factor = [2]\n', r"\[pruner\] reduction_factor must be"),
        ('type = "none"\nn_startup_trials = 3\n', r"are not keywords of optuna\.pruners\.Nop"),
    ],
)
def test_bad_pruners_are_one_line_errors(tmp_path: Path, table: str, match: str) -> None:
    with pytest.raises(SpecError, match=match) as err:
        load_spec(spec_with(tmp_path, "[pruner]\n" + table))
    assert "\n" not in str(err.value)


def test_a_pruner_that_is_not_a_table_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "spec.toml"
    path.write_text('pruner = "median"\n' + BASE)
    with pytest.raises(SpecError, match=r"\[pruner\] must be a table, got 'median'\."):
        load_spec(path)


def test_eval_every_must_not_be_negative(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match=r"\[training\] eval_every must be >= 0, got -5\."):
        load_spec(spec_with(tmp_path, "[training]\neval_every = -5\n"))


def test_candidates_report_ten_checkpoints_unless_the_spec_says_otherwise(tmp_path: Path) -> None:
    from optuna_glo.runtime.methods import make_objective

    def every(training: str) -> int | None:
        objective = make_objective(load_spec(spec_with(tmp_path, f"[training]\n{training}")))
        return objective.eval_every  # type: ignore[union-attr]

    assert every("steps = 300\n") == 30
    assert every("steps = 5\n") == 1
    assert every("steps = 300\neval_every = 7\n") == 7
    assert every("steps = 300\neval_every = 0\n") is None  # only the final value is reported
