"""The orphan watch: RUNNING trials that never got a heartbeat get one, so they can go stale.

Optuna never fails a RUNNING trial without a heartbeat record. A worker killed between
creating a trial and recording its first heartbeat (milliseconds), or whose connection
dropped just after the trial was created, leaves such a trial. Every worker records a
heartbeat as soon as it claims a trial, so one seen without heartbeats for a whole grace
period is an orphan: recording one heartbeat for it lets ``fail_stale_trials`` retry it.
"""

from __future__ import annotations

import time

import optuna
from optuna.trial import TrialState

from optuna_glo.runtime.worker._beats import Beats
from optuna_glo.runtime.worker._log import log


class OrphanWatch:
    """Looks for orphans of one study; :meth:`check` is called while the worker waits.

    Args:
        beats: Where heartbeats are recorded.
        storage: The study's storage.
        study_id: The study's storage id.
        grace: The grace period (seconds) a trial may run without heartbeats.
    """

    def __init__(
        self, beats: Beats, storage: optuna.storages.BaseStorage, study_id: int, grace: int
    ) -> None:
        self._beats = beats
        self._storage = storage
        self._study_id = study_id
        self._grace = grace
        self._first_seen: dict[int, float] = {}

    def check(self) -> None:
        """Record a heartbeat for each trial seen RUNNING without one for a grace period."""
        running = self._storage.get_all_trials(
            self._study_id, deepcopy=False, states=(TrialState.RUNNING,)
        )
        ids = {trial._trial_id for trial in running}
        orphans = ids - self._beats.with_records(ids)
        now = time.monotonic()
        self._first_seen = {t: self._first_seen.get(t, now) for t in orphans}
        for trial_id, seen in self._first_seen.items():
            if now - seen > self._grace:
                log(f"trial id {trial_id} has been RUNNING without heartbeats for over "
                    f"{self._grace} s: recording one so that it goes stale and is re-run")
                self._beats.record(trial_id)
