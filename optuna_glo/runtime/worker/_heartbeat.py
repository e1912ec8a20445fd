"""Heartbeats of the trials a worker runs, recorded from a background thread.

Optuna records heartbeats only inside ``study.optimize``; an ask/tell worker records them itself
(:mod:`optuna_glo.runtime.worker._beats`: Optuna's own in ``RDBStorage``, a trial system attr
elsewhere). Trials whose heartbeat is older than the grace period are failed and re-run by
``RetryHeartbeatStaleTrialCallback``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence

import optuna

from optuna_glo.runtime.worker._beats import Beats
from optuna_glo.runtime.worker._log import log


class Heartbeat:
    """Records the heartbeats of this worker's running trials every ``interval`` seconds.

    Args:
        beats: Where heartbeats are recorded (``None``: heartbeats are off).
        storage: The study's storage.
        interval: Seconds between heartbeats; ``None``: no heartbeats (and no thread).
    """

    def __init__(
        self, beats: Beats | None, storage: optuna.storages.BaseStorage, interval: int | None
    ) -> None:
        self._beats = beats
        self._storage = storage
        self._interval = interval
        self._trial_ids: tuple[int, ...] = ()
        self._stop = threading.Event()
        self._failing = False
        self._thread: threading.Thread | None = None
        if beats is not None and interval is not None:
            self._thread = threading.Thread(
                target=self._run, args=(interval,), name="optuna-glo-heartbeat", daemon=True
            )
            self._thread.start()

    @contextlib.contextmanager
    def beating(self, trials: Sequence[optuna.trial.Trial]) -> Iterator[None]:
        """Record heartbeats for ``trials`` while the block runs."""
        self._trial_ids = tuple(trial._trial_id for trial in trials)
        try:
            yield
        finally:
            self._trial_ids = ()

    def _run(self, interval: int) -> None:
        while not self._stop.wait(interval):
            for trial_id in self._trial_ids:
                self._beat(trial_id)

    def _beat(self, trial_id: int) -> None:
        assert self._beats is not None
        try:
            self._beats.record(trial_id)
        except Exception as err:  # the main thread reports and handles lost databases
            if not self._failing:
                log(f"heartbeat of trial id {trial_id} not recorded ({type(err).__name__})")
            self._failing = True
        else:
            if self._failing:
                log(f"heartbeats of trial id {trial_id} recorded again")
            self._failing = False
        if isinstance(self._storage, optuna.storages.RDBStorage):
            with contextlib.suppress(Exception):
                self._storage.remove_session()

    def close(self) -> None:
        """Stop the thread: no more heartbeats from this worker."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
