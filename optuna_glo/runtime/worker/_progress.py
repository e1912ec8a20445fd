"""The worker's progress bar: trials of the budget used, best value, trials per minute."""

from __future__ import annotations

import time

import optuna
from tqdm.auto import tqdm


def best_value(study: optuna.Study) -> float | None:
    """The study's best value; ``None`` before its first complete trial."""
    try:
        return study.best_value
    except ValueError:  # no completed trial yet
        return None


class Progress:
    """A progress bar over the study's budget (nothing is queried when it is off).

    Args:
        study: The study.
        budget: Its trial budget.
        enabled: Whether the bar is shown.
    """

    def __init__(self, study: optuna.Study, budget: int, *, enabled: bool) -> None:
        self._study = study
        self._budget = budget
        self._enabled = enabled
        self._start = time.perf_counter()
        self._bar = tqdm(
            total=budget, desc=study.study_name, unit="trial", disable=not enabled,
            dynamic_ncols=True,
        )

    @property
    def seconds(self) -> float:
        """Seconds since the bar was made."""
        return time.perf_counter() - self._start

    def show(self, *, used: int, done: int, **postfix: str) -> None:
        """Show ``used`` trials of the budget taken, ``done`` by this worker."""
        if not self._enabled:
            return  # no query for a bar nobody sees
        self._bar.n = min(self._budget, used)
        minutes = self.seconds / 60
        best = best_value(self._study)
        self._bar.set_postfix(
            best=f"{best:.4f}" if best is not None else "-",
            per_min=f"{done / minutes:.1f}" if minutes > 0 else "-",
            **postfix,
            refresh=False,
        )
        self._bar.refresh()

    def close(self) -> None:
        """Close the bar."""
        self._bar.close()
