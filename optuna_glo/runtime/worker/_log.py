"""The worker's log lines: on stderr, above the progress bar, with the process id."""

from __future__ import annotations

import os
import sys

from tqdm.auto import tqdm


def log(message: str) -> None:
    """Write one line of the worker's log."""
    tqdm.write(f"optuna-glo worker [{os.getpid()}]: {message}", file=sys.stderr)
