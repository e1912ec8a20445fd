"""Workers that die, are stopped, or lose their database connection lose no candidate."""

from __future__ import annotations

import signal
import time
import warnings
from collections.abc import Callable

import optuna
import pytest
from _pg import admin_connection as admin
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import TrialState
from worker_helpers import (
    ALL_STORAGES,
    FAST_HEARTBEATS,
    assert_budget_exact,
    assert_rerun_once,
    finish,
    running_trial_with_params,
    trials,
    wait_for,
    worker,
)

from optuna_glo.keys import GIVEN_BACK_ATTR
from optuna_glo.runtime.storage import open_storage

pytestmark = pytest.mark.postgres


@pytest.mark.slow
@pytest.mark.parametrize("storage", ALL_STORAGES)
def test_sigkilled_worker_trial_is_failed_and_rerun(
    storage: str, request: pytest.FixtureRequest, make_study: Callable[..., str]
) -> None:
    # PostgreSQL keeps Optuna's heartbeats; journal files, Redis and the gRPC proxy keep
    # optuna-glo's (a trial system attr): the same recovery on every storage.
    pg_url = request.getfixturevalue(storage)
    budget = 5 if storage == "pg_url" else 3  # the others: fewer trials, same recovery
    study = make_study(pg_url, n_trials=budget, steps=400)
    victim = worker(pg_url, study, *FAST_HEARTBEATS)
    killed = wait_for(lambda: running_trial_with_params(pg_url, study), 90, "a running trial")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert victim.returncode == -signal.SIGKILL
    # The trial stays RUNNING until its heartbeat is older than the grace period (3 s).
    assert next(t for t in trials(pg_url, study) if t.number == killed.number).state == (
        TrialState.RUNNING
    )
    others = [worker(pg_url, study, *FAST_HEARTBEATS) for _ in range(2)]
    outputs = [finish(p) for p in others]
    assert [p.returncode for p in others] == [0, 0], outputs
    all_trials = trials(pg_url, study)
    assert_budget_exact(all_trials, budget)
    by_number = {t.number: t for t in all_trials}
    assert by_number[killed.number].state == TrialState.FAIL
    retries = [t for t in all_trials if t.system_attrs.get("failed_trial") == killed.number]
    assert len(retries) == 1, "the dead worker's candidate is re-run exactly once"
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == killed.params, "a retry re-runs the same candidate"


@pytest.mark.slow
def test_sigterm_gives_the_running_trial_back_and_exits_0(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    study = make_study(pg_url, n_trials=50, steps=400)
    proc = worker(pg_url, study, *FAST_HEARTBEATS)
    running = wait_for(lambda: running_trial_with_params(pg_url, study), 90, "a running trial")
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = finish(proc, timeout=60)
    assert proc.returncode == 0, out
    assert time.monotonic() - start < 30, "SIGTERM must not wait for the rest of the study"
    all_trials = trials(pg_url, study)
    assert TrialState.RUNNING not in [t.state for t in all_trials], out
    assert {t.number: t for t in all_trials}[running.number].state == TrialState.FAIL
    queued = [t for t in all_trials if t.state == TrialState.WAITING]
    assert len(queued) == 1, out
    assert queued[0].params == running.params
    assert queued[0].system_attrs["optuna_glo:given_back_from"] == running.number
    # The next worker picks the given-back candidate first.
    nxt = worker(pg_url, study, "--n-trials", "1", *FAST_HEARTBEATS)
    out = finish(nxt)
    assert nxt.returncode == 0, out
    rerun = [t for t in trials(pg_url, study) if t.number == queued[0].number]
    assert rerun[0].state == TrialState.COMPLETE and rerun[0].params == running.params


@pytest.mark.slow
@pytest.mark.postgres
def test_sigterm_while_a_batch_is_claimed_gives_the_claimed_trials_back_in_seconds(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    # A batch of 1,000 takes minutes to claim: the stop is honoured between two claims.
    study = make_study(pg_url, n_trials=1000, population_size=1000)
    proc = worker(pg_url, study, "--population-batch", "1000", *FAST_HEARTBEATS)
    wait_for(
        lambda: [t.state for t in trials(pg_url, study)].count(TrialState.RUNNING) >= 5,
        90, "five claimed trials",
    )
    start = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out = finish(proc, timeout=60)
    seconds = time.monotonic() - start
    assert proc.returncode == 0, out
    assert seconds < 15, f"exited {seconds:.1f} s after SIGTERM:\n{out}"
    all_trials = trials(pg_url, study)
    by_number = {t.number: t for t in all_trials}
    assert TrialState.RUNNING not in [t.state for t in all_trials], out
    claimed = [t for t in all_trials if t.state == TrialState.FAIL]
    queued = [t for t in all_trials if t.state == TrialState.WAITING]
    assert len(claimed) >= 5 and len(claimed) < 500, out
    assert sorted(q.system_attrs[GIVEN_BACK_ATTR] for q in queued) == [t.number for t in claimed]
    assert all(q.params == by_number[q.system_attrs[GIVEN_BACK_ATTR]].params for q in queued)


@pytest.mark.slow
def test_ctrl_c_finishes_the_running_trial_and_exits_0(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    study = make_study(pg_url, n_trials=50, steps=400)
    proc = worker(pg_url, study, *FAST_HEARTBEATS)
    running = wait_for(lambda: running_trial_with_params(pg_url, study), 90, "a running trial")
    proc.send_signal(signal.SIGINT)
    out = finish(proc, timeout=60)
    assert proc.returncode == 0, out
    all_trials = trials(pg_url, study)
    assert [t.state for t in all_trials].count(TrialState.RUNNING) == 0, out
    assert {t.number: t for t in all_trials}[running.number].state == TrialState.COMPLETE
    assert len(all_trials) <= running.number + 2  # it stopped asking for new trials


@pytest.mark.slow
def test_worker_carries_on_when_its_connections_are_terminated(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    budget = 10
    study = make_study(pg_url, n_trials=budget, steps=20)
    proc = worker(pg_url, study, *FAST_HEARTBEATS)
    wait_for(
        lambda: sum(t.state == TrialState.COMPLETE for t in trials(pg_url, study)) >= 2,
        90, "two complete trials",
    )
    dbname = pg_url.rsplit("/", 1)[1]
    conn = admin()
    terminated = 0
    for _ in range(5):
        with conn.cursor() as cur:
            cur.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s AND application_name LIKE 'optuna-glo worker%%'",
                (dbname,),
            )
            terminated += cur.fetchone()[0]
        time.sleep(0.3)
    conn.close()
    assert terminated >= 1, "the worker held no connection to terminate"
    out = finish(proc)
    assert proc.returncode == 0, out
    assert_budget_exact(trials(pg_url, study), budget)


@pytest.mark.slow
def test_frozen_worker_is_failed_as_stale_and_carries_on_without_duplicates(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    # A node that stops answering (SIGSTOP: a frozen VM, a network partition) and comes back
    # after its trial was failed as stale and queued again must not complete that candidate a
    # second time: its late result is dropped or goes to the retry, never to a new trial.
    budget = 2
    study = make_study(pg_url, n_trials=budget, steps=400)
    proc = worker(pg_url, study, *FAST_HEARTBEATS)
    frozen = wait_for(lambda: running_trial_with_params(pg_url, study), 90, "a running trial")
    proc.send_signal(signal.SIGSTOP)
    try:
        time.sleep(5)  # longer than the grace period of 3 s
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            storage = open_storage(
                pg_url, heartbeat_interval=1, grace_period=3,
                heartbeat_stale_trial_callback=RetryHeartbeatStaleTrialCallback(max_retry=3),
            )
            optuna.storages.fail_stale_trials(optuna.load_study(study_name=study, storage=storage))
        storage.engine.dispose()
    finally:
        proc.send_signal(signal.SIGCONT)
    out = finish(proc)
    assert proc.returncode == 0, out
    all_trials = trials(pg_url, study)
    assert_budget_exact(all_trials, budget)
    assert_rerun_once(all_trials, frozen, out)
