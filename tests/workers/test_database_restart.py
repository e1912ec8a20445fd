"""A PostgreSQL restart in the middle of a run: the worker waits, reconnects and finishes.

The shared test server cannot be restarted (other tests use it), so this test runs a private
PostgreSQL server of its own: ``initdb`` into a temporary folder, on a free port.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import psycopg2
import pytest
from _pg import PrivateServer, private_server_root
from optuna.trial import TrialState
from worker_helpers import FAST_HEARTBEATS, assert_budget_exact, finish, trials, wait_for, worker


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    with private_server_root() as root:
        server = PrivateServer(root)
        try:
            yield server
        finally:
            server.stop()


@pytest.mark.slow
@pytest.mark.postgres  # a private server of its own
def test_worker_survives_a_database_restart(
    private_server: PrivateServer, make_study: Callable[..., str]
) -> None:
    conn = psycopg2.connect(private_server.admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute('CREATE DATABASE "restart_test"')
    conn.close()
    url = private_server.admin_url.rsplit("/", 1)[0] + "/restart_test"
    budget = 8
    study = make_study(url, n_trials=budget, steps=100)
    proc = worker(url, study, *FAST_HEARTBEATS)
    wait_for(
        lambda: sum(t.state == TrialState.COMPLETE for t in trials(url, study)) >= 2,
        90, "two complete trials",
    )
    private_server.stop()
    time.sleep(4)  # the worker finds the database gone
    assert proc.poll() is None, "the worker died while the database was down"
    private_server.start()
    out = finish(proc)
    assert proc.returncode == 0, out
    assert "database unreachable" in out, out
    assert_budget_exact(trials(url, study), budget)
