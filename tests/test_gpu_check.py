"""benchmarks/gpu_check.sh: valid bash, and its --cpu-smoke run writes every step's result."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.sh"


def test_gpu_check_is_valid_bash() -> None:
    subprocess.run(["bash", "-n", str(SCRIPT)], check=True)


@pytest.mark.slow
def test_cpu_smoke_runs_every_step_and_writes_the_summary(tmp_path: Path) -> None:
    out = tmp_path / "gpu"
    env = {**os.environ, "PYTHON": sys.executable}
    result = subprocess.run(["bash", str(SCRIPT), str(out), "--cpu-smoke"], env=env,
                            capture_output=True, text=True, timeout=400)
    assert result.returncode == 0, result.stderr
    summary = json.loads((out / "summary.json").read_text())
    status = {row["step"]: row["status"] for row in summary["steps"]}
    expected = {"population-eager", "generation-sqlite", "generation-journal", "cifar-step-times",
                "epbt-generation"}
    assert {step: status.get(step) for step in expected} == dict.fromkeys(expected, "ok"), status
    reports = {row["step"]: row.get("report", {}) for row in summary["steps"]}
    assert reports["generation-sqlite"]["trials"] == 2
    assert reports["population-eager"]["data"] in ("real", "random")
    assert "| population-eager | ok |" in (out / "summary.md").read_text()
