"""Several processes share one EPBT study through ``study.optimize``; a waiting trial keeps
itself alive and fails a dead worker's trial.

The GP sampler handed one slot to several processes under ``study.optimize`` (issue 14, item
10). The population samplers claim slots through trial numbers: these run three real processes
on SQLite and on the real PostgreSQL server and check that every slot was run exactly once, and
that the run is the very run one process makes alone.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState
from pbt_helpers import objective

from optuna_glo.keys import TICKET_KEY
from optuna_glo.samplers.pbt import EPBTSampler, generation_of, parent_of

optuna.logging.set_verbosity(optuna.logging.WARNING)
P, K, GENERATIONS = 6, 3, 4  # 6 + 3 * 3 = 15 trials

HELPERS = str(Path(__file__).parent)
_WORKER = """
import sys, time
import optuna
sys.path.insert(0, sys.argv[4])
from pbt_helpers import objective
from optuna_glo.samplers.pbt import EPBTSampler

url, n_trials, delay = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
time.sleep(delay)  # workers join at different times
optuna.logging.set_verbosity(optuna.logging.WARNING)
sampler = EPBTSampler(population_size=6, n_elites=3, seed=0, poll_interval=0.2)
study = optuna.load_study(study_name="epbt", storage=url, sampler=sampler)
study.optimize(lambda t: objective(t, pause=0.05 * (t.number % 3)), n_trials=n_trials)
"""


def _alone() -> list[tuple[object, ...]]:
    """The run one process makes alone, in memory: (params, parent, value) per slot."""
    sampler = EPBTSampler(population_size=P, n_elites=K, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    study.optimize(objective, n_trials=sampler.n_trials(GENERATIONS))
    return [(t.params, parent_of(study, t), t.value) for t in study.trials]


@pytest.mark.parametrize(
    "backend",
    # Each process imports torch (through optuna_glo): seconds of CPU. SQLite in the quick pass.
    ["sqlite", pytest.param("postgres", marks=[pytest.mark.postgres, pytest.mark.slow])],
)
def test_three_processes_run_every_slot_once(backend: str, request: pytest.FixtureRequest) -> None:
    url = request.getfixturevalue("sqlite_url" if backend == "sqlite" else "pg_url")
    study = optuna.create_study(storage=url, study_name="epbt", direction="maximize")
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WORKER, url, str(n), str(delay), HELPERS],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for n, delay in [(5, 0.0), (5, 0.0), (5, 0.5)]
    ]
    for proc in procs:
        out, _ = proc.communicate(timeout=300)
        assert proc.returncode == 0, out

    trials = study.get_trials(deepcopy=False)
    assert len(trials) == EPBTSampler(population_size=P, n_elites=K).n_trials(GENERATIONS)
    assert all(t.state == TrialState.COMPLETE for t in trials)
    tickets = sorted(tuple(t.system_attrs[TICKET_KEY]) for t in trials)
    assert tickets == [(n, n) for n in range(len(trials))]  # every slot claimed exactly once
    sizes = [sum(1 for t in trials if generation_of(t) == g) for g in range(GENERATIONS)]
    assert sizes == [P, P - K, P - K, P - K]
    shared = [(t.params, parent_of(study, t), t.value) for t in trials]
    assert shared == _alone()  # each slot got exactly what it gets in a one-process run


@pytest.mark.filterwarnings("ignore:Heartbeat of storage is supposed to be used:UserWarning")
def test_a_waiting_trial_keeps_its_heartbeat_and_fails_a_dead_workers_trial(
    sqlite_url: str,
) -> None:
    with pytest.warns(optuna.exceptions.ExperimentalWarning):  # heartbeats are experimental
        storage = optuna.storages.RDBStorage(sqlite_url, heartbeat_interval=1, grace_period=1)
    sampler = EPBTSampler(population_size=2, n_elites=1, seed=0, poll_interval=0.1)
    study = optuna.create_study(storage=storage, direction="maximize", sampler=sampler)
    alive = study.ask()
    study.tell(alive, 1.0)
    dead = study.ask()  # generation 0, slot 1: its worker records one heartbeat and vanishes
    storage.record_heartbeat(dead._trial_id)

    asked: list[optuna.Trial] = []
    started = time.monotonic()
    # Generation 1 waits for slot 1 until the waiting trial fails it as stale.
    waiting = threading.Thread(target=lambda: asked.append(study.ask()), daemon=True)
    waiting.start()
    waiting.join(timeout=60.0)
    assert asked, "the waiting trial never saw the dead worker's trial fail"
    assert time.monotonic() - started >= 1.0  # the grace period
    child = asked[0]
    assert study.trials[dead.number].state == TrialState.FAIL
    assert parent_of(study, child) == alive.number  # P_0 is the one completed individual
    assert [t.number for t in sampler.population(study, 0)] == [alive.number]

    # The waiting trial recorded heartbeats too: if its own worker dies now, it goes stale.
    time.sleep(2.5)
    with pytest.warns(optuna.exceptions.ExperimentalWarning):
        optuna.storages.fail_stale_trials(study)
    assert study.trials[child.number].state == TrialState.FAIL


def test_threads_of_one_process_wait_for_each_other() -> None:
    sampler = EPBTSampler(population_size=4, n_elites=2, seed=0, poll_interval=0.01)
    study = optuna.create_study(direction="maximize", sampler=sampler)
    lock = threading.Lock()
    running: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        generation = generation_of(trial)  # a live trial: read from the storage
        with lock:
            running.append(generation or 0)
        time.sleep(0.02)
        return sum(trial.suggest_float(f"taylor_theta_{i}", -10, 10) for i in range(8))

    study.optimize(objective, n_trials=sampler.n_trials(4), n_jobs=3)
    assert len(study.trials) == 10 and all(t.state == TrialState.COMPLETE for t in study.trials)
    assert running == sorted(running)  # no trial started before its previous generation closed
