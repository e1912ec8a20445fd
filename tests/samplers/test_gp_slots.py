"""Four processes run ``study.optimize`` on one GP study: each slot of a generation goes to one
trial, and every slot of every filled generation is handed out (issue 14, item 10)."""

from __future__ import annotations

import multiprocessing
import random
import time
from collections import Counter
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from optuna_glo.samplers import GeneticProgrammingSampler
from optuna_glo.samplers.gp._attrs import SLOT_KEY

GEN_KEY = "GeneticProgrammingSampler:generation"
POPULATION, PROCESSES, TRIALS = 6, 4, 10

def _optimize(url: str, n_trials: int) -> None:
    """One process of the README's own-objective route: plain study.optimize, no optuna-glo
    worker and no lock."""
    sampler = GeneticProgrammingSampler(population_size=POPULATION, n_elites=2, seed=0)
    study = optuna.load_study(study_name="slots", storage=url, sampler=sampler)
    rng = random.Random()

    def objective(trial: optuna.Trial) -> float:
        time.sleep(rng.uniform(0.0, 0.02))
        if trial.number % 7 == 3:
            raise RuntimeError("lost the GPU")  # a failed slot is handed out again
        return rng.random()

    study.optimize(objective, n_trials=n_trials, catch=(RuntimeError,))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def storage_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'slots.db'}"
    return str(request.getfixturevalue("pg_url"))


def test_processes_never_share_a_slot_and_hand_out_every_slot(storage_url: str) -> None:
    optuna.create_study(storage=storage_url, study_name="slots", direction="maximize")
    # Forked after the imports: four real processes, each with its own connections, without
    # four more seconds-long imports of torch.
    fork = multiprocessing.get_context("fork")
    procs = [fork.Process(target=_optimize, args=(storage_url, TRIALS)) for _ in range(PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=300)
        assert proc.exitcode == 0

    trials = optuna.load_study(study_name="slots", storage=storage_url).get_trials()
    assert len(trials) == PROCESSES * TRIALS
    assert {t.state for t in trials} == {TrialState.COMPLETE, TrialState.FAIL}
    held = Counter(
        (t.system_attrs[GEN_KEY], t.system_attrs[SLOT_KEY])
        for t in trials
        if t.state != TrialState.FAIL
    )
    shared = {key: n for key, n in held.items() if n > 1}
    assert not shared, f"(generation, slot) held by several trials: {shared}"

    last = max(t.system_attrs[GEN_KEY] for t in trials)
    assert last >= 3
    for g in range(last):  # every generation the study moved past
        members = [t for t in trials if t.system_attrs[GEN_KEY] == g]
        handed_out = {t.system_attrs[SLOT_KEY] for t in members}
        evaluated = {t.system_attrs[SLOT_KEY] for t in members if t.state == TrialState.COMPLETE}
        # Every slot was handed out, lowest first; a slot whose trial failed may have been
        # replaced by a later one (the generation is full after POPULATION complete trials).
        assert set(range(POPULATION)) <= handed_out, f"generation {g}: {sorted(handed_out)}"
        assert len(evaluated) >= POPULATION, f"generation {g}: {sorted(evaluated)}"
