"""Common random numbers: which candidates of a search share initial weights and batches."""

from __future__ import annotations

import json

import optuna
import pytest

from optuna_glo.objectives import LossSearchObjective, training_seed
from optuna_glo.runtime.methods import make_objective, make_sampler
from optuna_glo.runtime.spec import SpecError, StudySpec, spec_from_json

POPULATION = 4


def _spec(crn: str | bool | None = None) -> StudySpec:
    training: dict[str, object] = {"steps": 2}
    if crn is not None:
        training["common_random_numbers"] = crn
    return StudySpec.from_dict({
        "study": {"name": "t", "method": "taylorglo", "task": "digits-mlp", "generations": 3},
        "taylorglo": {"population_size": POPULATION},
        "training": training,
    })


def _seeds_by_generation(spec: StudySpec) -> list[list[int]]:
    """The training seeds of two CMA-ES generations, read as the worker reads them."""
    objective = make_objective(spec, device="cpu")
    assert isinstance(objective, LossSearchObjective)
    study = optuna.create_study(direction="maximize", sampler=make_sampler(spec))
    out = []
    for generation in range(2):
        trials = [study.ask() for _ in range(POPULATION)]
        for trial in trials:
            objective.suggest_loss(trial)
        out.append([objective.seed_of(trial) for trial in trials])
        for i, trial in enumerate(trials):
            study.tell(trial, 0.1 * (i + generation))
    return out


def test_searches_share_seeds_within_a_generation_and_draw_new_ones_per_generation() -> None:
    assert _spec().training.common_random_numbers == "generation"  # the default
    first, second = _seeds_by_generation(_spec())
    assert len(set(first)) == 1 and len(set(second)) == 1
    assert first[0] != second[0]


def test_per_study_and_no_common_random_numbers_stay_available() -> None:
    first, second = _seeds_by_generation(_spec("study"))
    assert set(first) == set(second) == {0}
    first, second = _seeds_by_generation(_spec("none"))
    assert len(set(first + second)) == 2 * POPULATION


def test_the_boolean_of_stored_specs_reads_as_a_mode() -> None:
    stored = _spec().to_dict()
    stored["training"]["common_random_numbers"] = True
    assert spec_from_json(json.dumps(stored)).training.common_random_numbers == "study"
    stored["training"]["common_random_numbers"] = False
    assert spec_from_json(json.dumps(stored)).training.common_random_numbers == "none"


def test_an_unknown_mode_is_refused_by_name() -> None:
    with pytest.raises(SpecError, match=r"common_random_numbers must be one of .*'per-trial'"):
        _spec("per-trial")
    with pytest.raises(ValueError, match=r"The specified `common_random_numbers` is 'x'"):
        training_seed(0, 1, "x")


def test_a_trial_without_a_generation_gets_the_study_seed() -> None:
    assert training_seed(7, 3, "generation", None) == 7
    assert training_seed(7, 3, "generation", 0) != training_seed(7, 3, "generation", 1)
