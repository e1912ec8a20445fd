"""Helpers of the worker tests: real ``optuna-glo worker`` processes, trials read back."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO

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
population_size = {population_size}
# Every candidate trains: one skipped by the invariant check would finish at once and race the
# signals and kills these tests send to a running trial.
invariant_check = false

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

    def make(
        url: str, *, n_trials: int, steps: int = 20, name: str = "workers",
        population_size: int = 4,
    ) -> str:
        spec = tmp_path / f"{name}.toml"
        spec.write_text(SPEC.format(
            name=name, n_trials=n_trials, steps=steps, population_size=population_size
        ))
        proc = optuna_glo("create-study", str(spec), "--storage", url)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == 0, out
        password = make_url(url).password if "://" in url else None
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


class Output:
    """A process's output, read line by line in a background thread while it runs."""

    def __init__(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        self._proc = proc
        self._lines: list[str] = []
        self._thread = threading.Thread(target=self._read, args=(proc.stdout,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.append(line)

    def text(self) -> str:
        """The output so far."""
        return "".join(self._lines)

    def wait_for(self, pattern: str, timeout: float) -> str:
        """Wait until a line matches ``pattern``; that line. Fails the test if none does."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = next((x for x in list(self._lines) if re.search(pattern, x)), None)
            if line is not None:
                return line
            time.sleep(0.05)
        pytest.fail(f"no line matched {pattern!r} within {timeout} s:\n{self.text()}")

    def exit_code(self, timeout: float) -> int:
        """Wait for the process to exit; its exit code. Fails the test if it does not."""
        try:
            code = self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
            self._thread.join()
            pytest.fail(f"process {self._proc.pid} still ran {timeout} s later:\n{self.text()}")
        self._thread.join()
        return code


def trials(url: str, study: str) -> list[FrozenTrial]:
    """All trials of the study, read fresh from the database."""
    storage = open_storage(url)
    try:
        return optuna.load_study(study_name=study, storage=storage).get_trials(deepcopy=False)
    finally:
        close(storage)


def close(storage: optuna.storages.BaseStorage) -> None:
    """Close the storage's connections (a database pool, a gRPC channel)."""
    if isinstance(storage, optuna.storages.RDBStorage):
        storage.engine.dispose()
    elif hasattr(storage, "close"):
        storage.close()


#: The storages of the multi-worker tests: each runs them for real (``redis``/``postgres``).
ALL_STORAGES = [
    pytest.param("pg_url", marks=pytest.mark.postgres),
    "journal_path",
    pytest.param("redis_url", marks=pytest.mark.redis),
    "grpc_url",
]


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


def assert_rerun_once(all_trials: list[FrozenTrial], original: FrozenTrial, out: str) -> None:
    """``original`` was failed, and its candidate re-run exactly once (a retry) and completed."""
    assert {t.number: t for t in all_trials}[original.number].state == TrialState.FAIL
    retry = [t for t in all_trials if t.system_attrs.get("failed_trial") == original.number]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE, out
    assert retry[0].params == original.params
