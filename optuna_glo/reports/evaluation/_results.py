"""The results file: one JSON line per finished training, read back so a rerun resumes.

Every training appends one JSON line to a results file as soon as it finishes. A rerun reads the
file and trains only what is missing, so a long evaluation survives being stopped.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def run_key(task: str, loss: str, lr: float, seed: int, steps: int, portion: float) -> str:
    """Identity of one training run in the results file: equal keys train identically."""
    return json.dumps([task, loss, float(lr), int(seed), int(steps), float(portion)])


class ResultsFile:
    """JSON lines, one per finished training, appended and flushed as each one ends.

    A line cut short by a crash is ignored when the file is read back.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.records: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if isinstance(record, dict) and "key" in record:
                    self.records[record["key"]] = record

    def get(self, key: str) -> dict[str, Any] | None:
        return self.records.get(key)

    def append(self, record: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(record) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records[record["key"]] = record

