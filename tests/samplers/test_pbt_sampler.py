"""EPBTSampler over real storages: generations, parents, elites, lineages, populations, re-runs.

The objective is ``pbt_helpers.objective``, a stand-in for training whose "progress" is carried
from parent to child.
"""

from __future__ import annotations

import numpy as np
import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from pbt_helpers import NAMES, objective

from optuna_glo.keys import (
    ASSIGNED_KEY,
    EPBT_GENERATION_KEY,
    LINEAGE_KEY,
    PBT_GENERATION_KEY,
    POPULATION_ORIGIN_ATTR,
    TICKET_KEY,
)
from optuna_glo.samplers.pbt import (
    EPBTSampler,
    PBTSampler,
    generation_of,
    lineage_of,
    parent_of,
    start_epoch,
)

optuna.logging.set_verbosity(optuna.logging.WARNING)
P, K, GENERATIONS = 8, 4, 5


def _run(
    storage: str | None = None, generations: int = GENERATIONS, **kwargs: object
) -> tuple[optuna.Study, EPBTSampler]:
    settings = {"population_size": P, "n_elites": K, "seed": 0, "poll_interval": 0.01, **kwargs}
    sampler = EPBTSampler(**settings)  # type: ignore[arg-type]
    study = optuna.create_study(storage=storage, direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_trials(generations))
    return study, sampler


def _generations(study: optuna.Study) -> dict[int, list[FrozenTrial]]:
    out: dict[int, list[FrozenTrial]] = {}
    for t in study.trials:
        generation = generation_of(t)
        assert generation is not None
        out.setdefault(generation, []).append(t)
    return out


def _populations(study: optuna.Study, k: int = K) -> list[list[FrozenTrial]]:
    """P_g recomputed from EPBT section 3.2: P_0 = generation 0; P_g = the top k of P_{g-1}
    (ties: the earlier trial) and the completed children of generation g."""
    by_generation = _generations(study)
    populations: list[list[FrozenTrial]] = []
    for g in sorted(by_generation):
        children = [t for t in by_generation[g] if t.state == TrialState.COMPLETE]
        previous = populations[-1] if populations else []
        elites = sorted(previous, key=lambda t: (-t.value, t.number))[:k] if g else []
        populations.append(sorted(elites + children, key=lambda t: t.number))
    return populations


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"population_size": 1}, r"`population_size` must be an int >= 2\. .* is 1\."),
        ({"n_elites": -1}, r"`n_elites` must be an int >= 0\. .* is -1\."),
        ({"n_elites": 40}, r"`n_elites` must be less than `population_size` \(40\)\. .* is 40\."),
        ({"tournament_size": 0}, r"`tournament_size` must be an int >= 1\. .* is 0\."),
        ({"mutation_sigma": float("nan")}, r"`mutation_sigma` must be finite and >= 0\. .* nan\."),
        ({"reinit_prob": 1.5}, r"`reinit_prob` must be in \[0, 1\]\. .* is 1\.5\."),
        ({"crossover_prob": -0.1}, r"`crossover_prob` must be in \[0, 1\]"),
        ({"space": "theta"}, r"`space` must be a SearchSpace\. The specified one is 'theta'\."),
        ({"seed": -3}, r"`seed` must be None or an int >= 0\. .* is -3\."),
        ({"independent_sampler": "tpe"}, r"`independent_sampler` must be an Optuna sampler"),
        ({"poll_interval": 0}, r"`poll_interval` must be a finite number of seconds > 0\. .* 0\."),
    ],
)
def test_settings_are_checked(kwargs: dict[str, object], pattern: str) -> None:
    with pytest.raises(ValueError, match=pattern):
        EPBTSampler(**kwargs)  # type: ignore[arg-type]


def test_generation_keys_are_base_ga_sampler_keys() -> None:
    # keys.py names the keys BaseGASampler writes (a private classmethod of Optuna, which its
    # own NSGA-II sampler calls the same way).
    assert EPBTSampler._get_generation_key() == EPBT_GENERATION_KEY
    assert PBTSampler._get_generation_key() == PBT_GENERATION_KEY


# SQLite commits cost ~20 ms each on a busy 2-core machine: a smaller run there.
@pytest.mark.parametrize(
    ("storage", "p", "k", "generations"), [("memory", P, K, 5), ("sqlite", 4, 2, 3)]
)
def test_generations_parents_elites_and_lineages(
    storage: str, p: int, k: int, generations: int, sqlite_url: str
) -> None:
    study, sampler = _run(
        None if storage == "memory" else sqlite_url, generations, population_size=p, n_elites=k
    )
    assert len(study.trials) == p + (generations - 1) * (p - k) == sampler.n_trials(generations)
    by_generation = _generations(study)
    # Generation 0 trains all p initial individuals; later ones only the p - k children.
    assert {g: len(ts) for g, ts in by_generation.items()} == {
        g: p if g == 0 else p - k for g in range(generations)
    }
    populations = _populations(study, k)
    for g, population in enumerate(populations):
        assert [t.number for t in sampler.population(study, g)] == [t.number for t in population]
        assert len(population) == p
    for t in by_generation[0]:
        assert parent_of(study, t) is None
        assert lineage_of(study, t) == t.number
        assert t.user_attrs["progress"] == 1  # fresh weights
        assert all(-10.0 <= t.params[n] <= 10.0 for n in NAMES)
    for g in range(1, generations):
        parents = {t.number: t for t in populations[g - 1]}
        for child in by_generation[g]:
            parent = parent_of(study, child)
            assert parent in parents  # inherits from the previous population
            assert child.user_attrs["progress"] == parents[parent].user_attrs["progress"] + 1
            assert lineage_of(study, child) == lineage_of(study, parents[parent])
            assert all(-10.0 <= child.params[n] <= 10.0 for n in NAMES)
            assert f"generation {g}: child of trial {parent}" in child.user_attrs[
                POPULATION_ORIGIN_ATTR
            ]
        # Elites: the k best of the previous population, carried over with their own trial.
        elites = [t for t in populations[g] if generation_of(t) < g]
        best = sorted(populations[g - 1], key=lambda t: (-t.value, t.number))[:k]
        assert {t.number for t in elites} == {t.number for t in best}
        assert [t.number for t in sampler.elites(study, g)] == sorted(t.number for t in best)
    # Selection works: the population's best fitness never drops and ends above generation 0's.
    bests = [max(t.value for t in p) for p in populations]
    assert bests == sorted(bests) and bests[-1] > bests[0]


def test_same_seed_same_run_on_any_storage(sqlite_url: str) -> None:
    def record(study: optuna.Study) -> list[tuple[object, ...]]:
        return [(t.params, parent_of(study, t), t.value) for t in study.trials]

    small = {"generations": 3, "population_size": 4, "n_elites": 2}
    in_memory, _ = _run(**small)  # type: ignore[arg-type]
    on_sqlite, _ = _run(sqlite_url, **small)  # type: ignore[arg-type]
    assert record(in_memory) == record(on_sqlite)
    other, _ = _run(**small, seed=1)  # type: ignore[arg-type]
    assert record(other) != record(in_memory)


def test_children_are_mutated_and_crossed_parents() -> None:
    # No mutation, no crossover: a child has exactly its parent's values.
    study, _ = _run(mutation_sigma=0.0, reinit_prob=0.0, crossover_prob=0.0)
    numbers = {t.number: t for t in study.trials}
    for child in study.trials[P:]:
        assert child.params == numbers[parent_of(study, child)].params
    # Crossover alone: every variable is the parent's or, the same variable, of one other
    # parent of the same generation (EPBT 3.2: "swapped ... with the same variable from another
    # individual in M^_g").
    study, _ = _run(mutation_sigma=0.0, reinit_prob=0.0, crossover_prob=0.5)
    numbers = {t.number: t for t in study.trials}
    swapped = 0
    for g, children in _generations(study).items():
        if g == 0:
            continue
        parents = [numbers[parent_of(study, c)] for c in children]
        for child, parent in zip(children, parents, strict=True):
            taken = {n for n in NAMES if child.params[n] != parent.params[n]}
            swapped += len(taken)
            partners = [
                p for p in parents
                if p is not parent and all(child.params[n] == p.params[n] for n in taken)
            ]
            assert partners or not taken
    assert swapped > 0
    # Mutation alone: every variable moves by a multiplicative factor near 1 (unless clipped).
    study, _ = _run(mutation_sigma=0.2, reinit_prob=0.0, crossover_prob=0.0)
    numbers = {t.number: t for t in study.trials}
    factors = [
        child.params[n] / numbers[parent_of(study, child)].params[n]
        for child in study.trials[P:]
        for n in NAMES
        if abs(child.params[n]) < 10.0
    ]
    assert len(factors) > 50
    assert all(f != 1.0 for f in factors) and 0.9 < float(np.mean(factors)) < 1.1


def test_individuals_alive_is_the_population_at_each_boundary() -> None:
    sampler = EPBTSampler(population_size=4, n_elites=2, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    assert sampler.individuals_alive(study) == []
    study.optimize(objective, n_trials=4)
    assert sampler.individuals_alive(study) == [0, 1, 2, 3]
    for g in range(1, 4):
        asked = study.ask()  # one child of generation g is running
        population = [t.number for t in sampler.population(study, g - 1)]
        assert sampler.individuals_alive(study) == sorted([*population, asked.number])
        assert not sampler.generation_closed(study, g)
        study.tell(asked, objective(asked))
        study.optimize(objective, n_trials=1)
        assert sampler.generation_closed(study, g)
        now = [t.number for t in sampler.population(study, g)]
        assert sampler.individuals_alive(study) == now
        dropped = set(population) - set(now)
        assert len(dropped) == 2  # the two non-elites of P_{g-1}: their checkpoints can go
    with pytest.raises(ValueError, match="Generation 4 has not closed"):
        sampler.population(study, 4)


def test_failed_children_are_never_parents_and_leave_their_slot_empty() -> None:
    def flaky(trial: optuna.Trial) -> float:
        value = objective(trial)
        if trial.number in (9, 13):  # a child of generation 1, one of generation 2
            raise RuntimeError("worker lost its GPU")
        return value

    sampler = EPBTSampler(population_size=P, n_elites=K, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(flaky, n_trials=sampler.n_trials(GENERATIONS), catch=(RuntimeError,))
    failed = {t.number for t in study.trials if t.state == TrialState.FAIL}
    assert failed == {9, 13}
    assert not failed & {parent_of(study, t) for t in study.trials}
    assert len(sampler.population(study, 1)) == P - 1
    assert [len(sampler.population(study, g)) for g in range(GENERATIONS)] == [8, 7, 7, 8, 8]


def test_a_rerun_copy_keeps_slot_parent_and_values() -> None:
    # The optuna-glo worker gives a trial back as a WAITING copy of its system attributes
    # (RetryFailedTrialCallback does the same): the copy re-runs the same slot.
    sampler = EPBTSampler(population_size=4, n_elites=2, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=4)
    lost = study.ask()
    study.tell(lost, state=TrialState.FAIL)
    frozen = study.trials[lost.number]
    study.add_trial(
        optuna.trial.create_trial(state=TrialState.WAITING, system_attrs=frozen.system_attrs)
    )
    study.optimize(objective, n_trials=2)
    copy, after = study.trials[-2:]
    assert copy.params == frozen.system_attrs[ASSIGNED_KEY]  # the values the lost trial had
    assert parent_of(study, copy) == parent_of(study, frozen) is not None
    assert copy.system_attrs[TICKET_KEY] == frozen.system_attrs[TICKET_KEY] == [4, lost.number]
    assert after.system_attrs[TICKET_KEY] == [5, after.number]  # the next slot, none skipped
    assert copy.number in [t.number for t in sampler.population(study, 1)]


def test_minimizing_studies_keep_the_lowest_values() -> None:
    sampler = EPBTSampler(population_size=6, n_elites=3, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="minimize", sampler=sampler)
    study.optimize(lambda t: -objective(t), n_trials=sampler.n_trials(3))
    for g in (1, 2):
        previous = sampler.population(study, g - 1)
        best = sorted(previous, key=lambda t: (t.value, t.number))[:3]
        elites = [t for t in sampler.population(study, g) if generation_of(t) < g]
        assert {t.number for t in elites} == {t.number for t in best}


def test_every_worker_must_run_the_same_settings() -> None:
    study = optuna.create_study(direction="maximize", sampler=EPBTSampler(seed=0))
    study.optimize(objective, n_trials=1)
    study.sampler = EPBTSampler(seed=0, n_elites=10)
    pattern = r"runs with the settings .*'n_elites': 20.* this sampler has .*'n_elites': 10"
    with pytest.raises(ValueError, match=pattern):
        study.optimize(objective, n_trials=1)


def test_objective_bounds_that_exclude_the_value_are_a_clear_error() -> None:
    study = optuna.create_study(direction="maximize", sampler=EPBTSampler(seed=0))
    with pytest.raises(ValueError, match=r"`taylor_theta_0` is .* objective suggests it from"):
        study.optimize(lambda t: t.suggest_float("taylor_theta_0", 100.0, 200.0), n_trials=1)


def test_values_are_ordinary_params_and_attrs_say_where_they_came_from() -> None:
    study, _ = _run()
    frame = study.trials_dataframe()
    assert {f"params_{n}" for n in NAMES} <= set(frame.columns)
    child = study.trials[-1]
    assert child.system_attrs[ASSIGNED_KEY] == child.params
    assert child.system_attrs[LINEAGE_KEY] == lineage_of(study, child)
    assert generation_of(child) == GENERATIONS - 1


def test_start_epoch_follows_the_population_schedule() -> None:
    # EPBT 4.1: 25 generations of 8 epochs, "for a total of 200 epochs".
    assert [start_epoch(g, 8) for g in (0, 1, 24)] == [0, 8, 192]
    with pytest.raises(ValueError, match=r"`segment_epochs` must be an int >= 1\. .* is 0\."):
        start_epoch(3, 0)
    with pytest.raises(ValueError, match=r"`generation` must be an int >= 0\. .* is -1\."):
        start_epoch(-1, 8)


def test_added_and_enqueued_trials_take_slots_of_the_plan() -> None:
    # A finished trial added with study.add_trial, and a trial enqueued with fixed params, each
    # take the next slot like any new trial; their params are their individuals' values.
    sampler = EPBTSampler(population_size=4, n_elites=2, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    known = {n: 3.0 for n in NAMES}
    distributions = {n: optuna.distributions.FloatDistribution(-10.0, 10.0) for n in NAMES}
    study.add_trial(
        optuna.trial.create_trial(
            params=known, distributions=distributions, value=10.0, user_attrs={"progress": 1}
        )
    )
    study.enqueue_trial({n: -3.0 for n in NAMES})
    study.optimize(objective, n_trials=sampler.n_trials(3) - 1)
    assert study.trials[1].params == {n: -3.0 for n in NAMES}
    assert [generation_of(t) for t in study.trials[1:4]] == [0, 0, 0]
    assert [t.number for t in sampler.population(study, 0)] == [0, 1, 2, 3]
    assert 0 in {t.number for t in sampler.elites(study, 1)}  # the added one is the best
