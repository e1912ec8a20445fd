"""The learning-rate search's cache: validation accuracies of cross-entropy runs, across studies.

Every study on a task tunes cross-entropy's rate on the same grid, seeds and length, so the
search's trainings are kept in one small JSON file in the user's cache directory
(``$XDG_CACHE_HOME/optuna-glo/lr-search.json``, else ``~/.cache/optuna-glo/``) and reused. An
entry is keyed by :func:`~optuna_glo.reports.evaluation.run_key` (task, loss, rate, seed, steps,
data portion): a grid and its seeds are the set of their keys, so two searches share what they
have in common.

The file is read as untrusted input: anything that is not a bounded map of short keys to
accuracies in [0, 1] is set aside with a one-line warning and the search trains again.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

#: Name of the cache file inside the cache directory.
LR_CACHE_FILE = "lr-search.json"
#: Format version written into the file; a file of another version is not read.
LR_CACHE_VERSION = 1
#: Most entries kept (the oldest are dropped first): a few hundred searches' trainings.
MAX_LR_CACHE_ENTRIES = 10_000
#: Longest key read back (a run key is about 100 characters).
MAX_LR_CACHE_KEY = 1_000
#: Largest file read (bytes); a larger one is set aside.
MAX_LR_CACHE_BYTES = 4 * 1024 * 1024


def default_lr_cache_path() -> Path:
    """``$XDG_CACHE_HOME/optuna-glo/lr-search.json`` (``~/.cache`` when the variable is unset or
    not an absolute path, as the XDG base directory specification says)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".cache"
    return root / "optuna-glo" / LR_CACHE_FILE


class LRCache:
    """Validation accuracy per run key, read from and written back to a JSON file.

    Args:
        path: The cache file (made on the first :meth:`save`).
        warn: Where a one-line warning goes when the file cannot be used.
    """

    def __init__(self, path: str | Path, warn: Callable[[str], object] = print) -> None:
        self.path = Path(path)
        self.entries: dict[str, float] = {}
        self._warn = warn
        self._read()

    def get(self, key: str) -> float | None:
        return self.entries.get(key)

    def put(self, key: str, val_accuracy: float) -> None:
        if _valid(key, val_accuracy):
            self.entries.pop(key, None)  # re-inserted as the newest
            self.entries[key] = float(val_accuracy)

    def save(self) -> None:
        """Write the newest :data:`MAX_LR_CACHE_ENTRIES` entries atomically (a crash leaves
        the old file)."""
        keep = list(self.entries.items())[-MAX_LR_CACHE_ENTRIES:]
        self.entries = dict(keep)
        text = json.dumps({"version": LR_CACHE_VERSION, "runs": self.entries})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".lr-search-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, self.path)
        except OSError as err:
            self._warn(
                f"Warning: the learning-rate cache {self.path} cannot be written ({err.strerror});"
                " the search is not kept for other studies."
            )

    def _read(self) -> None:
        try:
            if not self.path.exists():
                return
            if self.path.stat().st_size > MAX_LR_CACHE_BYTES:
                self._set_aside(f"it is over {MAX_LR_CACHE_BYTES:,} bytes")
                return
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError):
            self._set_aside("it is not readable JSON")
            return
        runs = data.get("runs") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("version") != LR_CACHE_VERSION:
            self._set_aside(f"it is not a version-{LR_CACHE_VERSION} cache")
            return
        if not isinstance(runs, dict):
            self._set_aside("its 'runs' is not a map")
            return
        for key, value in list(runs.items())[-MAX_LR_CACHE_ENTRIES:]:
            if _valid(key, value):
                self.entries[key] = float(value)

    def _set_aside(self, why: str) -> None:
        self._warn(
            f"Warning: the learning-rate cache {self.path} is not used ({why}); it is "
            "overwritten when the search ends. Delete it or pass --no-lr-cache to silence this."
        )


def _valid(key: object, value: object) -> bool:
    return (
        isinstance(key, str)
        and 0 < len(key) <= MAX_LR_CACHE_KEY
        and isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and 0.0 <= value <= 1.0
    )
