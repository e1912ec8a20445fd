"""Study specs: every shipped spec is valid; bad specs name the key and the expected type."""

from __future__ import annotations

from pathlib import Path

import pytest
from _specs import EVALUATE

from optuna_glo.runtime.spec import METHOD_SETTINGS, SpecError, StudySpec, load_spec, spec_from_json
from optuna_glo.runtime.study import validate_spec

STUDIES = sorted((Path(__file__).parents[1] / "studies").glob("*.toml"))

BASE = """
[study]
name = "t"
method = "taylorglo"
task = "digits-mlp"
n_trials = 4
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.toml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", STUDIES, ids=[p.name for p in STUDIES])
def test_shipped_specs_are_valid(path: Path) -> None:
    spec = load_spec(path)
    if spec.method in METHOD_SETTINGS:
        validate_spec(spec)
        assert spec_from_json(spec.to_json()) == spec


def test_taylorglo_mnist_spec_has_the_papers_settings() -> None:
    spec = load_spec(Path(__file__).parents[1] / "studies" / "taylorglo-mnist.toml")
    s = spec.method_settings
    assert (spec.study.task, s.order, s.population_size, s.sigma0) == (
        "mnist-basic-cnn", 3, 28, 1.2,
    )
    assert spec.training.steps == 2_000


def test_generations_times_population_is_the_budget(tmp_path: Path) -> None:
    text = BASE.replace("n_trials = 4", "generations = 3") + "[taylorglo]\npopulation_size = 5\n"
    assert load_spec(write(tmp_path, text)).n_trials == 15


@pytest.mark.parametrize(
    ("text", "match"),
    [
        (BASE + "[taylorglo]\npopulation = 28\n", r"key\(s\) `population` in \[taylorglo\]"),
        (BASE + "[taylorglo]\norder = 'three'\n", r"\[taylorglo\] order must be an integer"),
        (BASE + "[training]\nsteps = 1.5\n", r"\[training\] steps must be an integer"),
        (BASE.replace('task = "digits-mlp"\n', ""), r"missing key `task` in \[study\]"),
        (BASE.replace("taylorglo", "magic"), "method = 'magic' is unknown"),
        (BASE + "[glo]\npopulation_size = 3\n", r"unknown table\(s\) \[glo\]"),
        (BASE.replace("n_trials = 4", "n_trials = 0"), "n_trials must be >= 1"),
        (BASE + "n_trials = 5\n", "not valid TOML"),
        ("[training]\nsteps = 3\n", r"missing table \[study\]"),
    ],
)
def test_bad_specs_name_the_problem(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, text))


def test_unknown_task_lists_the_known_ones(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE.replace("digits-mlp", "imagenet-vit")))
    with pytest.raises(SpecError, match=r"Known tasks: .*digits-mlp"):
        validate_spec(spec)


def test_missing_file_is_a_spec_error(tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="does not exist"):
        load_spec(tmp_path / "nope.toml")


def test_round_trip_through_json(tmp_path: Path) -> None:
    text = BASE + "[training]\nlr = 0.5\nabort_retry = { check_step = 10 }\n"
    spec = load_spec(write(tmp_path, text))
    assert spec.training.abort_retry is not None
    assert spec.training.abort_retry.min_accuracy == 0.15
    assert StudySpec.from_dict(spec.to_dict()) == spec


def test_evaluate_spec_budget_is_the_grid(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, EVALUATE))
    assert spec.n_trials == 2 * 2 * 3
    assert spec.method_settings.losses == ("baikal", "cross_entropy")
    assert StudySpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (('task = "digits-mlp"', 'task = "digits-mlp"\nn_trials = 3'), "takes no `n_trials`"),
        (("steps = [20, 40]", "steps = 20"), r"\[evaluate\] steps must be a list"),
        (("steps = [20, 40]", "steps = [20, 'x']"), "steps item must be an integer"),
        (('seeds = 3', 'seeds = 3\nsplit = "train"'), "split must be 'test' or 'val'"),
    ],
)
def test_bad_evaluate_specs(tmp_path: Path, change: tuple[str, str], match: str) -> None:
    with pytest.raises(SpecError, match=match):
        load_spec(write(tmp_path, EVALUATE.replace(*change)))


def test_evaluate_spec_with_an_unknown_loss_is_refused(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, EVALUATE.replace('"baikal"', '"focal"')))
    with pytest.raises(SpecError, match="Unknown loss 'focal'"):
        validate_spec(spec)
