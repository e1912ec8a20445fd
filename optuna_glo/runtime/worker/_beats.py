"""Where heartbeats are kept: Optuna's own (``RDBStorage``) or a trial system attr (the rest).

Optuna records heartbeats only in ``RDBStorage`` (the one ``BaseHeartbeat`` storage of Optuna
5). Journal storages (a file, Redis) and the gRPC proxy have none, so optuna-glo keeps them
itself, the same way: each running trial's last heartbeat (Unix seconds) in its system attr
:data:`~optuna_glo.keys.HEARTBEAT_ATTR`; a RUNNING trial whose heartbeat is older than the grace
period is failed and handed to ``RetryHeartbeatStaleTrialCallback``, exactly as
``optuna.storages.fail_stale_trials`` does for ``RDBStorage``. A trial's start counts as a
heartbeat, so a trial that never recorded one (its worker died at once) goes stale too: there
are no orphans. Staleness compares the clocks of different machines: keep them in sync (NTP),
well within the grace period.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Collection
from typing import Protocol

import optuna
from optuna.trial import TrialState

from optuna_glo.keys import HEARTBEAT_ATTR
from optuna_glo.runtime.storage import supports_heartbeats
from optuna_glo.runtime.worker._optuna_schema import trials_with_heartbeats


class Beats(Protocol):
    """Records heartbeats of trials and fails the stale ones."""

    def record(self, trial_id: int) -> None:
        """Record a heartbeat of the trial now."""

    def fail_stale(self, study: optuna.Study) -> None:
        """Fail the study's stale trials; their retries are queued."""

    def with_records(self, trial_ids: Collection[int]) -> set[int]:
        """The trials among ``trial_ids`` that ever recorded a heartbeat."""


def beats_for(
    storage: optuna.storages.BaseStorage, *, grace_period: int, max_retry: int | None
) -> Beats:
    """Optuna's heartbeats where the storage has them, else the system-attr heartbeats."""
    if supports_heartbeats(storage):
        assert isinstance(storage, optuna.storages.RDBStorage)
        return OptunaBeats(storage)
    return AttrBeats(storage, grace_period=grace_period, max_retry=max_retry)


class OptunaBeats:
    """Optuna's heartbeats of an ``RDBStorage`` opened with heartbeat settings."""

    def __init__(self, storage: optuna.storages.RDBStorage) -> None:
        self._storage = storage

    def record(self, trial_id: int) -> None:
        """``RDBStorage.record_heartbeat``."""
        self._storage.record_heartbeat(trial_id)

    def fail_stale(self, study: optuna.Study) -> None:
        """``optuna.storages.fail_stale_trials``."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)

    def with_records(self, trial_ids: Collection[int]) -> set[int]:
        """Read from Optuna's ``trial_heartbeats`` table."""
        return trials_with_heartbeats(self._storage, trial_ids)


class AttrBeats:
    """Heartbeats in a trial system attr, for storages without Optuna's heartbeats."""

    def __init__(
        self, storage: optuna.storages.BaseStorage, *, grace_period: int, max_retry: int | None
    ) -> None:
        self._storage = storage
        self._grace = grace_period
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            self._retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=max_retry)

    def record(self, trial_id: int) -> None:
        """Set the trial's heartbeat attr to now."""
        self._storage.set_trial_system_attr(trial_id, HEARTBEAT_ATTR, time.time())

    def fail_stale(self, study: optuna.Study) -> None:
        """Fail RUNNING trials whose heartbeat is older than the grace period; queue retries."""
        now = time.time()
        running = self._storage.get_all_trials(
            study._study_id, deepcopy=False, states=(TrialState.RUNNING,)
        )
        for trial in running:
            if now - _last_beat(trial) <= self._grace:
                continue
            try:
                if not self._storage.set_trial_state_values(trial._trial_id, TrialState.FAIL):
                    continue
            except optuna.exceptions.UpdateFinishedTrialError:
                continue  # another worker failed or finished it first
            self._retry(study, self._storage.get_trial(trial._trial_id))

    def with_records(self, trial_ids: Collection[int]) -> set[int]:
        """All of them: a trial's start counts as its first heartbeat."""
        return set(trial_ids)


def _last_beat(trial: optuna.trial.FrozenTrial) -> float:
    """The trial's last heartbeat or its start, whichever is later (Unix seconds).

    The attr is untrusted data (and copied to retries by ``RetryHeartbeatStaleTrialCallback``):
    only a finite number counts.
    """
    start = trial.datetime_start.timestamp() if trial.datetime_start else -math.inf
    value = trial.system_attrs.get(HEARTBEAT_ATTR)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return max(start, float(value))
    return start
