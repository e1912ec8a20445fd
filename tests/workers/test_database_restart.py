"""A PostgreSQL restart in the middle of a run: the worker waits, reconnects and finishes.

The shared test server cannot be restarted (other tests use it), so this test runs a private
PostgreSQL server of its own: ``initdb`` into a temporary folder, on a free port.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg2
import pytest
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


def _pg_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert candidates, "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    return candidates[-1].parent


class PrivateServer:
    """A throwaway PostgreSQL server (trust auth) that a test may stop and start."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.data = root / "data"
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.bin = _pg_bin()
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres")
        self.start()

    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self.bin / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    @property
    def admin_url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def create_database(self, name: str) -> str:
        """Create a database on this server; its URL."""
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"


@pytest.fixture
def private_server() -> Iterator[PrivateServer]:
    root = Path(tempfile.mkdtemp(prefix="optuna-glo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    server = PrivateServer(root)
    try:
        yield server
    finally:
        try:
            server.stop()
        finally:
            shutil.rmtree(root, ignore_errors=True)


@pytest.mark.slow
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
