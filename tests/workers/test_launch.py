"""``optuna-glo launch``: workers for every GPU (or the CPU), combined progress, clean Ctrl-C."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable

import pytest
from optuna.trial import TrialState
from worker_helpers import (
    FAST_HEARTBEATS,
    Output,
    assert_budget_exact,
    finish,
    optuna_glo,
    running_trial_with_params,
    trials,
    wait_for,
)

pytestmark = pytest.mark.postgres


def _launch_two_cpu_workers(pg_url: str, study: str, *flags: str) -> subprocess.Popen[str]:
    """``optuna-glo launch`` of two CPU workers (no artifacts, short heartbeats) on ``study``."""
    return optuna_glo(
        "launch", "--study", study, "--storage", pg_url, "--cpu-workers", "2", "--no-artifacts",
        *flags, *FAST_HEARTBEATS,
    )


@pytest.mark.slow
def test_launch_without_gpus_runs_the_cpu_workers_asked_for(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    budget = 8
    study = make_study(pg_url, n_trials=budget, steps=10)
    proc = _launch_two_cpu_workers(pg_url, study)
    out = finish(proc, timeout=150)
    assert proc.returncode == 0, out
    assert "No CUDA GPU found on this machine: running 2 CPU worker(s)." in out
    assert "[cpu0]" in out and "[cpu1]" in out, out
    assert_budget_exact(trials(pg_url, study), budget)


@pytest.mark.slow
def test_launch_ctrl_c_stops_every_worker_cleanly(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    study = make_study(pg_url, n_trials=100, steps=400)
    proc = _launch_two_cpu_workers(pg_url, study)
    wait_for(lambda: running_trial_with_params(pg_url, study), 90, "a running trial")
    proc.send_signal(signal.SIGINT)
    out = finish(proc, timeout=90)
    assert proc.returncode == 0, out
    states = [t.state for t in trials(pg_url, study)]
    assert TrialState.RUNNING not in states, out
    assert states.count(TrialState.COMPLETE) < 100


@pytest.mark.slow
def test_launch_ctrl_c_while_the_workers_start_stops_them_cleanly(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    # The SIGINT reaches the workers while they import: it waits until their handlers take it
    # (instead of a KeyboardInterrupt in an import, as before), and each stops before claiming.
    study = make_study(pg_url, n_trials=100, steps=400)
    proc = _launch_two_cpu_workers(pg_url, study, "--no-progress")
    out = Output(proc)
    out.wait_for(r"^Launching 2 worker", 60)
    proc.send_signal(signal.SIGINT)
    assert out.exit_code(90) == 0, out.text()
    assert "Traceback" not in out.text() and "exited with status" not in out.text(), out.text()
    assert out.text().count("SIGINT: finishing the running trial, then stopping") == 2, out.text()
    assert trials(pg_url, study) == [], out.text()


def test_launch_refuses_gpus_this_machine_lacks(
    pg_url: str, make_study: Callable[..., str]
) -> None:
    study = make_study(pg_url, n_trials=2, steps=5)
    proc = optuna_glo("launch", "--study", study, "--storage", pg_url, "--gpus", "0,99")
    out = finish(proc)
    assert proc.returncode == 2, out
    assert "`--gpus` asks for GPU(s)" in out and "99" in out
