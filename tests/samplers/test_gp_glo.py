"""GLOSampler (discovery then coefficients in one study) and the `glo` spec method."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import optuna_glo
from optuna_glo.keys import COEFFICIENT_TREE_KEY, TREE_KEY
from optuna_glo.losses.trees import free_coefficient_paths, parse, size
from optuna_glo.runtime.methods import make_objective, make_sampler
from optuna_glo.runtime.spec import GLOSettings, SpecError, StudySettings, StudySpec, load_spec
from optuna_glo.runtime.study import validate_spec
from optuna_glo.samplers import GeneticProgrammingSampler, GLOSampler

optuna.logging.set_verbosity(optuna.logging.WARNING)
STUDIES = Path(__file__).resolve().parents[2] / "studies"


def _objective(trial: optuna.Trial) -> float:
    loss = optuna_glo.suggest_glo_loss(trial, untrainable="score")
    cached = getattr(loss, "cached_value", None)
    if cached is not None:
        return cached
    if COEFFICIENT_TREE_KEY in optuna_glo.samplers.gp.trial_system_attrs(trial):
        return 1.0 - sum((v - 2.0) ** 2 for v in trial.params.values()) / 100
    return 1.0 / size(loss.tree)


def test_discovery_then_coefficients_in_one_study() -> None:
    gp = GeneticProgrammingSampler(population_size=6, n_elites=1, seed=0)
    sampler = GLOSampler(discovery_generations=3, gp_sampler=gp, coefficient_population_size=5,
                         seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(_objective, n_trials=18 + 15)
    discovery = [t for t in study.trials if COEFFICIENT_TREE_KEY not in t.system_attrs]
    tuning = [t for t in study.trials if COEFFICIENT_TREE_KEY in t.system_attrs]
    assert len(discovery) == 18 and len(tuning) == 15
    assert all(TREE_KEY in t.system_attrs and not t.params for t in discovery)
    # The coefficient phase tunes the best trainable discovered tree.
    trainable = [t for t in discovery if "loss_untrainable" not in t.user_attrs]
    best = max(trainable, key=lambda t: (t.value, -t.number))
    trees = {t.system_attrs[COEFFICIENT_TREE_KEY] for t in tuning}
    assert trees == {best.system_attrs[TREE_KEY]}
    n = len(free_coefficient_paths(parse(best.system_attrs[TREE_KEY])))
    assert all(sorted(t.params) == [f"glo_c{i}" for i in range(n)] for t in tuning)
    assert all(any(k.startswith("cma:") for k in t.system_attrs) for t in tuning)
    assert all(t.user_attrs["loss_formula"].startswith("L(x, y)") for t in tuning)
    # CMA-ES moves towards the optimum at 2.0 from its start at 1.0.
    first, last = tuning[:5], tuning[-5:]
    assert max(t.value for t in last) > min(t.value for t in first)


def test_a_worker_waits_for_a_full_coefficient_generation() -> None:
    # The claim's question (runtime/worker/_claim.py), answered by the phase's sampler: no in
    # discovery (the GP sampler counts its own generations), CMA-ES's answer for coefficients.
    gp = GeneticProgrammingSampler(population_size=6, n_elites=1, seed=0)
    sampler = GLOSampler(discovery_generations=3, gp_sampler=gp, coefficient_population_size=5,
                         seed=0)
    study = optuna.create_study(direction="maximize", sampler=sampler)

    def full() -> bool:
        return sampler.generation_full(study, study.get_trials(deepcopy=False))

    running = [study.ask() for _ in range(3)]
    assert not full()  # discovery
    for trial in running:
        study.tell(trial, _objective(trial))
    study.optimize(_objective, n_trials=18 + 5 - 3)  # discovery, then coefficient generation 0
    running = [study.ask() for _ in range(4)]
    for trial in running:
        optuna_glo.suggest_glo_loss(trial, untrainable="score")
    study.tell(running[0], _objective(running[0]))
    assert not full()  # 4 of 5 taken
    last = study.ask()
    assert full()
    study.tell(last, _objective(last))
    for trial in running[1:]:
        study.tell(trial, _objective(trial))
    assert not full()


def test_glo_sampler_checks_its_settings() -> None:
    with pytest.raises(ValueError, match=r"`discovery_generations` must be an int >= 1\..* 0\."):
        GLOSampler(discovery_generations=0)
    with pytest.raises(ValueError, match="`bounds` must contain the start 1"):
        GLOSampler(discovery_generations=2, coefficient_bounds=(2.0, 3.0))


def test_glo_specs_load_and_validate() -> None:
    quick = load_spec(STUDIES / "glo-quickstart.toml")
    validate_spec(quick)
    assert isinstance(make_sampler(quick), GLOSampler)
    assert quick.n_trials == 4 * 16 + 2 * 6
    paper = load_spec(STUDIES / "glo-mnist.toml")
    settings = paper.method_settings
    assert isinstance(settings, GLOSettings)
    # Population 100, as TaylorGLO section 6.2 reports GLO's MNIST run (GLO III-A says 80).
    assert (settings.population_size, settings.n_elites, settings.crossover_prob) == (100, 6, 0.8)
    assert settings.coefficient_sigma0 == 1.5
    assert paper.training.steps == 2000


def test_glo_spec_without_coefficients_is_plain_gp_and_needs_generations_otherwise() -> None:
    study = StudySettings(name="g", method="glo", task="digits-mlp", n_trials=10)
    spec = StudySpec(study, method_settings=GLOSettings())
    assert isinstance(make_sampler(spec), GeneticProgrammingSampler)
    chained = dataclasses.replace(spec, method_settings=GLOSettings(coefficient_generations=1))
    with pytest.raises(SpecError, match="coefficient_generations needs \\[study\\] generations"):
        validate_spec(chained)


@pytest.mark.slow
def test_glo_objective_trains_candidates_and_skips_cached_ones() -> None:
    spec = StudySpec.from_dict({
        "study": {"name": "tiny", "method": "glo", "task": "digits-mlp", "generations": 2},
        "glo": {"population_size": 6, "n_elites": 1, "coefficient_generations": 1,
                "coefficient_population_size": 4},
        "training": {"steps": 5},
    })
    # The spec's pruner (none), not create_study's default MedianPruner, which would stop the
    # CMA-ES candidates at their first checkpoint against generation 0's few learning curves.
    study = optuna.create_study(
        direction="maximize", sampler=make_sampler(spec), pruner=spec.pruner.make()
    )
    study.optimize(make_objective(spec, device="cpu"), n_trials=spec.n_trials)
    trials = study.trials
    assert len(trials) == 16 and all(t.state == TrialState.COMPLETE for t in trials)
    trained = [t for t in trials if "steps" in t.user_attrs]
    skipped = [
        t for t in trials if "untrainable" in t.user_attrs or "loss_cached_from" in t.user_attrs
    ]
    assert trained and skipped
    assert not {t.number for t in trained} & {t.number for t in skipped}
    assert all(t.value == 0.0 for t in trials if "untrainable" in t.user_attrs)
