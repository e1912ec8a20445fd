"""An EPBT worker SIGKILLed mid-segment: its trial is re-run from the same parent checkpoint."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from optuna.trial import FrozenTrial, TrialState
from worker_helpers import FAST_HEARTBEATS, finish, optuna_glo, trials, wait_for, worker

from optuna_glo.keys import PARENT_KEY
from optuna_glo.samplers.pbt import generation_of

SPEC = """
[study]
name = "crash"
method = "epbt"
task = "digits-mlp"
generations = 2
seed = 0

[epbt]
population_size = 2
n_elites = 1
segment_steps = 300
"""


def running_child(url: str) -> FrozenTrial | None:
    """A RUNNING trial of generation 1 whose segment has started (its params are suggested)."""
    for t in trials(url, "crash"):
        if t.state == TrialState.RUNNING and generation_of(t) == 1 and len(t.params) == 8:
            return t
    return None


@pytest.mark.slow
@pytest.mark.postgres
def test_sigkilled_worker_reruns_the_segment_from_the_same_parent(
    pg_url: str, tmp_path: Path
) -> None:
    spec = tmp_path / "crash.toml"
    spec.write_text(SPEC)
    proc = optuna_glo("create-study", str(spec), "--storage", pg_url)
    assert proc.wait(timeout=120) == 0
    artifacts = ["--artifact-dir", str(tmp_path / "artifacts")]
    victim = worker(pg_url, "crash", *FAST_HEARTBEATS, *artifacts)
    killed = wait_for(lambda: running_child(pg_url), 180, "a running child")
    assert isinstance(killed, FrozenTrial)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    rescuer = worker(pg_url, "crash", *FAST_HEARTBEATS, *artifacts)
    out = finish(rescuer, timeout=180)
    assert rescuer.returncode == 0, out
    by_number = {t.number: t for t in trials(pg_url, "crash")}
    assert by_number[killed.number].state == TrialState.FAIL
    [retry] = [t for t in by_number.values() if t.system_attrs.get("failed_trial") == killed.number]
    assert retry.state == TrialState.COMPLETE, out
    assert generation_of(retry) == 1
    assert retry.params == killed.params, "the same individual"
    parent = killed.system_attrs[PARENT_KEY]
    assert isinstance(parent, int) and retry.system_attrs[PARENT_KEY] == parent
    # Re-run from the same checkpoint: the weights it started from are the parent's final ones.
    assert retry.user_attrs["start_weights_sha256"] == by_number[parent].user_attrs[
        "weights_sha256"
    ]
    complete = [t for t in by_number.values() if t.state == TrialState.COMPLETE]
    assert len(complete) == 3, "2 + 1 trials: the budget is exact"
