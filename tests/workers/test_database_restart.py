"""A PostgreSQL restart in the middle of a run: the worker waits, reconnects and finishes.

The shared test server cannot be restarted (other tests use it), so this test runs a private
PostgreSQL server of its own: ``initdb`` into a temporary folder, on a free port.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator

import pytest
from _pg import PrivateServer, private_server_root
from optuna.trial import TrialState
from worker_helpers import (
    FAST_HEARTBEATS,
    Output,
    assert_budget_exact,
    assert_rerun_once,
    finish,
    running_trial_with_params,
    trials,
    wait_for,
    worker,
)


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
    url = private_server.create_database("restart_test")
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


@pytest.mark.slow
@pytest.mark.postgres  # a private server of its own
def test_sigterm_while_the_database_is_down_exits_in_seconds_and_the_trial_goes_back(
    private_server: PrivateServer, make_study: Callable[..., str]
) -> None:
    # Nothing can be written while the server is down: the worker stops retrying, exits 0, and
    # its trial, whose heartbeats stop, goes back to the study once the server is back (it is
    # failed as stale and re-run with the same parameters).
    url = private_server.create_database("stop_test")
    budget = 1  # the held trial's slot: the next worker runs only its retry
    study = make_study(url, n_trials=budget, steps=400)
    proc = worker(url, study, *FAST_HEARTBEATS)
    output = Output(proc)
    held = wait_for(lambda: running_trial_with_params(url, study), 90, "a running trial")
    private_server.stop()
    output.wait_for(r"database unreachable while (telling|giving back) trial", 120)
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = output.exit_code(timeout=60)
    seconds = time.monotonic() - start
    assert code == 0, output.text()
    assert seconds < 10, f"exited {seconds:.1f} s after SIGTERM:\n{output.text()}"
    assert "Stopped while" in output.text()
    private_server.start()
    nxt = worker(url, study, *FAST_HEARTBEATS)
    out = finish(nxt)
    assert nxt.returncode == 0, out
    all_trials = trials(url, study)
    assert_budget_exact(all_trials, budget)
    assert_rerun_once(all_trials, held, out)
