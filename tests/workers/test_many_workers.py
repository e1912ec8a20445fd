"""Many ``optuna-glo worker`` processes on one PostgreSQL study: the budget is met exactly."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from _pg import admin_connection as admin
from worker_helpers import assert_budget_exact, finish, trials, worker

from optuna_glo.samplers.cmaes import GENERATION_KEY


@pytest.mark.slow
@pytest.mark.postgres
def test_workers_complete_exactly_the_budget(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    # Three workers racing for slots of very short trials: without the budget lock, two of them
    # regularly count the same free slot and the study overshoots.
    budget = 9
    study = make_study(pg_url, n_trials=budget, steps=2)
    procs = [worker(pg_url, study) for _ in range(3)]
    dbname = pg_url.rsplit("/", 1)[1]
    peak: dict[str, int] = {}
    conn = admin()
    while any(p.poll() is None for p in procs):
        with conn.cursor() as cur:
            cur.execute(
                "SELECT application_name, count(*) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name LIKE 'optuna-glo worker%%' "
                "GROUP BY application_name",
                (dbname,),
            )
            for name, n in cur.fetchall():
                peak[name] = max(peak.get(name, 0), n)
        time.sleep(0.05)
    conn.close()
    outputs = [finish(p) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    all_trials = trials(pg_url, study)
    assert_budget_exact(all_trials, budget)
    assert len(all_trials) == budget, "no trial failed, so none should have been replaced"
    ran = sorted(int(out.split("ran ")[1].split(" trial")[0]) for out in outputs)
    assert sum(ran) == budget, outputs
    # Each worker holds at most three connections (main thread, heartbeats, budget lock).
    assert peak and len(peak) <= 3 and max(peak.values()) <= 3, peak


@pytest.mark.slow
def test_workers_on_sqlite_complete_exactly_the_budget(
    sqlite_url: str, make_study: Callable[..., str]
) -> None:
    # One machine, one SQLite file: the budget lock is an flock next to the database.
    budget = 6
    study = make_study(sqlite_url, n_trials=budget, steps=2)
    procs = [worker(sqlite_url, study) for _ in range(3)]
    outputs = [finish(p) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    all_trials = trials(sqlite_url, study)
    assert_budget_exact(all_trials, budget)
    assert len(all_trials) == budget


@pytest.mark.slow
def test_workers_wait_for_a_full_generation_instead_of_training_extras(
    sqlite_url: str, make_study: Callable[..., str]
) -> None:
    # Three workers, CMA-ES generations of 4: a worker that would draw a fifth candidate of a
    # generation still running (an extra, never told to CMA-ES) waits for the next one instead,
    # so the budget of 12 is exactly three generations of 4.
    study = make_study(sqlite_url, n_trials=12, steps=30)
    procs = [worker(sqlite_url, study) for _ in range(3)]
    outputs = [finish(p, timeout=240) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    all_trials = trials(sqlite_url, study)
    assert_budget_exact(all_trials, 12)
    generations = [t.system_attrs.get(GENERATION_KEY) for t in all_trials]
    assert sorted(generations) == [0] * 4 + [1] * 4 + [2] * 4, [
        (t.number, t.state.name, g) for t, g in zip(all_trials, generations, strict=True)
    ]
