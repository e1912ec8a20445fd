"""Helpers of the worker tests: real ``optuna-glo worker`` processes, trials read back."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import optuna
import pytest
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy.engine import make_url

from optuna_glo.runtime.storage import open_storage

REPO = Path(__file__).resolve().parents[2]

#: Short heartbeats so that a dead worker's trial is re-run within seconds.
FAST_HEARTBEATS = ["--heartbeat-interval", "1", "--grace-period", "3"]

SPEC = """
[study]
name = "{name}"
method = "taylorglo"
task = "digits-mlp"
n_trials = {n_trials}
seed = 0

[taylorglo]
population_size = 4

[training]
steps = {steps}
"""


def optuna_glo(
    *args: str, env: Mapping[str, str] | None = None, **kwargs: object
) -> subprocess.Popen[str]:
    """Start ``python -m optuna_glo ARGS`` (one torch thread: the CPU is shared), with ``env``
    added to this process's environment."""
    env = {**os.environ, **(env or {}), "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "optuna_glo", *args],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        **kwargs,  # type: ignore[call-overload]
    )


@pytest.fixture
def make_study(tmp_path: Path) -> Callable[..., str]:
    """Create a digits-mlp TaylorGLO study; returns its name."""

    def make(url: str, *, n_trials: int, steps: int = 20, name: str = "workers") -> str:
        spec = tmp_path / f"{name}.toml"
        spec.write_text(SPEC.format(name=name, n_trials=n_trials, steps=steps))
        proc = optuna_glo("create-study", str(spec), "--storage", url)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        password = make_url(url).password
        assert not password or str(password) not in out, "create-study printed the password"
        return name

    return make


def worker(url: str, study: str, *flags: str) -> subprocess.Popen[str]:
    """Start ``optuna-glo worker`` on the CPU without a progress bar or trial artifacts."""
    return optuna_glo(
        "worker", "--study", study, "--storage", url, "--device", "cpu", "--no-progress",
        "--no-artifacts", *flags,
    )


def finish(proc: subprocess.Popen[str], timeout: float = 120) -> str:
    """Wait for the process; its combined output. Fails the test if it hangs."""
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        pytest.fail(f"worker {proc.pid} did not finish within {timeout} s:\n{out}")
    return out


def trials(url: str, study: str) -> list[FrozenTrial]:
    """All trials of the study, read fresh from the database."""
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    finally:
        storage.engine.dispose()


def wait_for(
    condition: Callable[[], object], timeout: float, what: str, interval: float = 0.05
) -> object:
    """Poll ``condition`` until it is truthy; its value."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


def running_trial_with_params(url: str, study: str) -> FrozenTrial | None:
    """A RUNNING trial whose candidate (all TaylorGLO parameters) has been sampled."""
    for t in trials(url, study):
        if t.state == TrialState.RUNNING and len(t.params) == 8:
            return t
    return None


def assert_budget_exact(all_trials: list[FrozenTrial], budget: int) -> None:
    """Exactly ``budget`` complete trials, none left RUNNING or WAITING, and no candidate
    completed twice (a retry re-runs a *failed* trial's candidate, it never repeats a result)."""
    states = [t.state.name for t in all_trials]
    assert "RUNNING" not in states, states
    assert "WAITING" not in states, states
    complete = [t for t in all_trials if t.state == TrialState.COMPLETE]
    assert len(complete) == budget, states
    candidates = {tuple(sorted(t.params.items())) for t in complete}
    assert len(candidates) == budget, "a candidate was evaluated twice"
