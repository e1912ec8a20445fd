"""GeneticProgrammingSampler: generations, elites, selection, cache, failures, reproducibility."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

import optuna_glo
from optuna_glo.keys import (
    CACHED_FROM_ATTR,
    CANONICAL_KEY,
    FORMULA_ATTR,
    TREE_ATTR,
    TREE_KEY,
    UNTRAINABLE_ATTR,
)
from optuna_glo.losses import readable_formula
from optuna_glo.losses.trees import TreeLoss, fitness_key, parse, size, untrainable_reason
from optuna_glo.samplers import GeneticProgrammingSampler
from optuna_glo.samplers.gp import trial_system_attrs
from optuna_glo.samplers.gp._attrs import ORIGIN_KEY, SLOT_KEY

optuna.logging.set_verbosity(optuna.logging.WARNING)
GEN_KEY = "GeneticProgrammingSampler:generation"
SEED_KEY = "GeneticProgrammingSampler:seed"


def _fitness(trial: optuna.Trial) -> float:
    """A cheap stand-in for training: small trees with both x and y are fitter."""
    loss = optuna_glo.suggest_loss_tree(trial, untrainable="score")
    if loss.cached_value is not None:
        return loss.cached_value
    return 1.0 / size(loss.tree)


def _study(storage: str | None = None, **kwargs: object) -> optuna.Study:
    sampler = GeneticProgrammingSampler(**{"population_size": 10, "n_elites": 2, "seed": 0,
                                           **kwargs})  # type: ignore[arg-type]
    return optuna.create_study(storage=storage, direction="maximize", sampler=sampler)


def _parents(trial: optuna.trial.FrozenTrial) -> list[int]:
    """Numbers of the trials a trial's tree came from, read from its origin note."""
    return [int(n) for n in re.findall(r"\d+", trial.system_attrs[ORIGIN_KEY])]


def _by_generation(study: optuna.Study) -> dict[int, list[optuna.trial.FrozenTrial]]:
    out: dict[int, list[optuna.trial.FrozenTrial]] = {}
    for t in study.trials:
        out.setdefault(t.system_attrs[GEN_KEY], []).append(t)
    return out


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"population_size": 1}, r"`population_size` must be an int >= 2\. .* is 1\."),
        ({"n_elites": -1}, r"`n_elites` must be an int >= 0\. .* is -1\."),
        ({"n_elites": 80}, r"`n_elites` must be less than `population_size` \(80\)\. .* is 80\."),
        ({"crossover_prob": 1.2}, r"`crossover_prob` must be in \[0, 1\]\. .* is 1\.2\."),
        ({"integer_mutation_prob": -0.1}, r"`integer_mutation_prob` must be in \[0, 1\]"),
        ({"same_arity_mutation_prob": 2}, r"`same_arity_mutation_prob` must be in \[0, 1\]"),
        ({"shrink_mutation_prob": -1}, r"`shrink_mutation_prob` must be in \[0, 1\]"),
        ({"grow_mutation_prob": 1.01}, r"`grow_mutation_prob` must be in \[0, 1\]"),
        ({"init_max_depth": -1}, r"`init_max_depth` must be an int >= 0\. .* is -1\."),
        ({"max_depth": 1}, r"`max_depth` must be an int >= 2\. .* is 1\."),
        ({"max_depth": 65}, r"`max_depth` must be at most 64\. .* is 65\."),
        ({"node_weights": {"exp": 1.0}}, r"`node_weights` has unknown element"),
        ({"node_weights": {"x": -1.0}}, r"`node_weights` must be finite and >= 0"),
        ({"seed": -3}, r"`seed` must be None or an int >= 0\. .* is -3\."),
        ({"independent_sampler": "tpe"}, r"`independent_sampler` must be an Optuna sampler"),
    ],
)
def test_settings_are_checked(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        GeneticProgrammingSampler(**kwargs)  # type: ignore[arg-type]


def test_population_size_and_elites_per_generation() -> None:
    study = _study()
    study.optimize(_fitness, n_trials=50)
    generations = _by_generation(study)
    assert sorted(generations) == [0, 1, 2, 3, 4]
    for g, trials in generations.items():
        assert len(trials) == 10
        assert sorted(t.system_attrs[SLOT_KEY] for t in trials) == list(range(10))
        if g == 0:
            assert all(t.user_attrs["loss_origin"].endswith("random") for t in trials)
            continue
        parents = generations[g - 1]
        # The elites: the best two distinct canonical trees of the previous generation, unchanged.
        ranked = sorted(parents, key=lambda t: (-t.value, t.number))
        best: list[str] = []
        seen: set[str] = set()
        for t in ranked:
            if t.system_attrs[CANONICAL_KEY] not in seen:
                seen.add(t.system_attrs[CANONICAL_KEY])
                best.append(t.system_attrs[TREE_KEY])
        elites = sorted(trials, key=lambda t: t.system_attrs[SLOT_KEY])[:2]
        assert [t.system_attrs[TREE_KEY] for t in elites] == best[:2]
        assert all("elite" in t.user_attrs["loss_origin"] for t in elites)
        others = [t for t in trials if t.system_attrs[SLOT_KEY] >= 2]
        assert not any("elite" in t.user_attrs["loss_origin"] for t in others)
        # The best value never gets worse: elitism.
        assert max(t.value for t in trials) >= max(t.value for t in parents)


def test_roulette_favours_fitter_parents_in_the_sampler() -> None:
    # One good tree in a generation of otherwise weak ones: it must parent far more children than
    # its 1/20 share, in proportion to its fitness (0.9 of the fitness sum 0.9 + 19 * 0.005).
    good = "log(y) - x / y"

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_loss_tree(trial, untrainable="score")
        return 0.9 if loss.text == good and trial.number == 0 else 0.005

    study = _study(population_size=20, n_elites=0, seed=3)
    trial = study.ask()  # trial 0: its random tree is replaced by Baikal's
    study._storage.set_trial_system_attr(trial._trial_id, TREE_KEY, good)
    study._storage.set_trial_system_attr(trial._trial_id, CANONICAL_KEY, fitness_key(parse(good)))
    study.tell(trial, objective(trial))
    study.optimize(objective, n_trials=39)
    parent_counts: Counter[int] = Counter()
    for t in _by_generation(study)[1]:
        parent_counts.update(_parents(t))
    share = parent_counts[0] / sum(parent_counts.values())
    assert share > 0.6  # expected 0.9 / 0.995 = 0.90; uniform would give 0.05


def test_cache_hits_skip_training() -> None:
    trained: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_loss_tree(trial, untrainable="score")
        if loss.cached_value is not None:
            return loss.cached_value
        trained.append(trial_system_attrs(trial)[CANONICAL_KEY])
        return 1.0 / size(loss.tree)

    study = _study(seed=1)
    study.optimize(objective, n_trials=60)
    # Each canonical form was trained once at most; every other trial came from the cache.
    assert len(trained) == len(set(trained))
    hits = [t for t in study.trials if CACHED_FROM_ATTR in t.user_attrs]
    assert len(hits) >= 10  # elites alone give 2 per generation
    for t in hits:
        source = study.trials[t.user_attrs[CACHED_FROM_ATTR]]
        assert source.value == t.value
        assert source.system_attrs[CANONICAL_KEY] == t.system_attrs[CANONICAL_KEY]
    # Untrainable trees (no x or no y) get fitness 0 untrained.
    untrainable = [t for t in study.trials if "loss_untrainable" in t.user_attrs]
    assert untrainable and all(t.value == 0.0 for t in untrainable)
    assert not set(trained) & {t.system_attrs[CANONICAL_KEY] for t in untrainable}


def test_cache_compares_the_other_parameters() -> None:
    def objective(trial: optuna.Trial) -> float:
        trial.suggest_float("lr", 0.0, 1.0)
        loss = optuna_glo.suggest_loss_tree(trial, untrainable="score")
        return 0.5 if loss.cached_value is None else loss.cached_value

    study = _study(seed=1)
    study.optimize(objective, n_trials=30)
    assert not any(CACHED_FROM_ATTR in t.user_attrs for t in study.trials)


def test_failed_trials_are_not_parents_and_their_slots_are_reissued() -> None:
    def objective(trial: optuna.Trial) -> float:
        if trial.number % 4 == 3:
            raise RuntimeError("worker lost")
        return _fitness(trial)

    study = _study(seed=2)
    study.optimize(objective, n_trials=70, catch=(RuntimeError,))
    failed = {t.number for t in study.trials if t.state == TrialState.FAIL}
    assert failed
    generations = _by_generation(study)
    for g, trials in generations.items():
        complete = [t for t in trials if t.state == TrialState.COMPLETE]
        if g < max(generations):
            assert len(complete) == 10
            assert sorted(t.system_attrs[SLOT_KEY] for t in complete) == list(range(10))
    for key, ids in study._storage.get_study_system_attrs(study._study_id).items():
        if key.startswith("GeneticProgrammingSampler:parent:"):
            states = {study.trials[i].state for i in ids}  # trial ids are numbers here
            assert states == {TrialState.COMPLETE}
    assert not any(set(_parents(t)) & failed for t in study.trials)


def test_same_seed_same_trees() -> None:
    def trees(seed: int) -> list[str]:
        study = _study(seed=seed)
        study.optimize(_fitness, n_trials=30)
        return [t.system_attrs[TREE_KEY] for t in study.trials]

    assert trees(5) == trees(5)
    assert trees(5) != trees(6)


def test_trees_and_readable_attrs_survive_sqlite(tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'gp.db'}"
    study = _study(storage)
    study.optimize(_fitness, n_trials=12)
    loaded = optuna.load_study(study_name=study.study_name, storage=storage)
    for t in loaded.trials:
        tree = parse(t.system_attrs[TREE_KEY])
        assert t.user_attrs[TREE_ATTR] == str(tree)
        assert t.user_attrs[FORMULA_ATTR] == readable_formula(TreeLoss(tree))
    assert {t.system_attrs[GEN_KEY] for t in loaded.trials} == {0, 1}


def test_seedless_sampler_keeps_one_seed_in_the_storage() -> None:
    study = _study(seed=None)
    study.optimize(_fitness, n_trials=3)
    seed = study._storage.get_study_system_attrs(study._study_id)[SEED_KEY]
    other = GeneticProgrammingSampler(population_size=10, n_elites=2)
    study.sampler = other
    study.optimize(_fitness, n_trials=3)
    assert study._storage.get_study_system_attrs(study._study_id)[SEED_KEY] == seed
    replay = _study(seed=seed)
    replay.optimize(_fitness, n_trials=6)
    assert [t.system_attrs[TREE_KEY] for t in study.trials] == [
        t.system_attrs[TREE_KEY] for t in replay.trials
    ]


def test_other_parameters_come_from_the_independent_sampler() -> None:
    class Constant(optuna.samplers.RandomSampler):
        def sample_independent(self, study, trial, param_name, param_distribution):  # type: ignore[no-untyped-def]
            return 0.25

    sampler = GeneticProgrammingSampler(population_size=4, n_elites=1, seed=0,
                                        independent_sampler=Constant())
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(lambda t: t.suggest_float("lr", 0.0, 1.0) + _fitness(t), n_trials=6)
    assert {t.params["lr"] for t in study.trials} == {0.25}


def test_multi_objective_studies_are_refused() -> None:
    study = optuna.create_study(directions=["maximize", "maximize"],
                                sampler=GeneticProgrammingSampler(seed=0))
    with pytest.raises(ValueError, match="single-objective"):
        study.ask()


def test_suggest_loss_tree_needs_the_gp_sampler() -> None:
    study = optuna.create_study()
    with pytest.raises(ValueError, match="has no loss tree"):
        optuna_glo.suggest_loss_tree(study.ask())


def test_an_untrainable_tree_is_pruned_before_a_users_objective_trains_it() -> None:
    trained: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        loss = optuna_glo.suggest_loss_tree(trial)  # a user's objective: no cached_value check
        trained.append(loss.text)
        return 1.0  # stands in for training; any trained tree would score high

    study = _study(seed=1)
    study.optimize(objective, n_trials=30)
    pruned = [t for t in study.trials if t.state == TrialState.PRUNED]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert pruned and len(trained) == len(complete)  # random depth-2 trees often lack x or y
    for t in pruned:
        assert t.user_attrs[UNTRAINABLE_ATTR] == untrainable_reason(parse(t.system_attrs[TREE_KEY]))
    assert all(untrainable_reason(parse(t.system_attrs[TREE_KEY])) is None for t in complete)
    # The paper's own failure case: a constant tree, given by hand.
    trial = study.ask()
    study._storage.set_trial_system_attr(trial._trial_id, TREE_KEY, "-1")
    with pytest.raises(optuna.TrialPruned, match="The loss tree -1 cannot train: the tree has"):
        optuna_glo.suggest_loss_tree(trial)
    assert study._storage.get_trial(trial._trial_id).user_attrs[UNTRAINABLE_ATTR] == (
        "the tree has neither an x nor a y leaf (GLO III-A)"
    )
    with pytest.raises(ValueError, match="`untrainable` must be 'prune' or 'score'"):
        optuna_glo.suggest_loss_tree(trial, untrainable="zero")
