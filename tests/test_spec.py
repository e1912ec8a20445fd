"""Study specs: every shipped spec is valid; bad specs name the key and the expected type."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from _specs import EVALUATE

from optuna_glo.losses import TaylorGLOLoss
from optuna_glo.runtime.methods import make_objective
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


def test_taylorglo_form_defaults_to_the_authors_code(tmp_path: Path) -> None:
    spec = load_spec(write(tmp_path, BASE))
    assert spec.method_settings.form == "code"
    eq5 = load_spec(write(tmp_path, BASE + '[taylorglo]\nform = "eq5"\n'))
    assert eq5.method_settings.form == "eq5"
    assert spec_from_json(eq5.to_json()) == eq5


def test_unknown_taylorglo_form_is_a_one_line_error(tmp_path: Path) -> None:
    match = r"\[taylorglo\] form must be one of 'code', 'eq5' .* got 'paper'"
    with pytest.raises(SpecError, match=match) as err:
        load_spec(write(tmp_path, BASE + '[taylorglo]\nform = "paper"\n'))
    assert "\n" not in str(err.value)


def test_a_stored_spec_without_form_predates_forms_and_is_eq5(tmp_path: Path) -> None:
    data = load_spec(write(tmp_path, BASE)).to_dict()
    del data["taylorglo"]["form"]
    assert spec_from_json(json.dumps(data)).method_settings.form == "eq5"


def test_taylorglo_form_reaches_the_trials_loss(tmp_path: Path) -> None:
    for form in ("code", "eq5"):
        spec = load_spec(write(tmp_path, BASE + f'[taylorglo]\nform = "{form}"\n'))
        study = optuna.create_study()
        loss = make_objective(spec).suggest_loss(study.ask())
        assert isinstance(loss, TaylorGLOLoss) and loss.form == form


def test_invariant_check_is_on_by_default_and_off_in_old_stored_specs(tmp_path: Path) -> None:
    # On in the authors' code unless turned off, and in their MNIST runs (losses._invariant).
    spec = load_spec(write(tmp_path, BASE))
    assert spec.method_settings.invariant_check is True
    data = spec.to_dict()
    del data["taylorglo"]["invariant_check"]
    assert spec_from_json(json.dumps(data)).method_settings.invariant_check is False


def test_glo_mnist_spec_has_glos_budget_as_taylorglo_reports_it() -> None:
    # TaylorGLO section 6.2: GLO took 11,120 partial evaluations, 100 x 100 GP + 32 x 35 CMA-ES.
    spec = load_spec(Path(__file__).parents[1] / "studies" / "glo-mnist.toml")
    s = spec.method_settings
    assert (spec.study.generations, s.population_size) == (100, 100)
    assert (s.coefficient_generations, s.coefficient_population_size) == (35, 32)
    assert spec.n_trials == 11_120


@pytest.mark.parametrize("task", ["mnist5k-mlp", "fashion-mnist-mlp"])
def test_cpu_mlp_search_specs_have_the_papers_budget(task: str) -> None:
    spec = load_spec(Path(__file__).parents[1] / "studies" / f"taylorglo-{task}.toml")
    s = spec.method_settings
    assert (spec.study.task, s.population_size, spec.study.generations) == (task, 28, 16)
    assert spec.n_trials == 448  # TaylorGLO section 6.2: the best MNIST loss took 448 evaluations
    assert (s.form, s.order, s.sigma0) == ("code", 3, 1.2)
    assert spec.training.population_batch == 28  # one generation trained as one population
