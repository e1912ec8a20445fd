"""The one place that reads Optuna's database schema: which trials have a heartbeat record.

Optuna's public storage API records heartbeats (``RDBStorage.record_heartbeat``) and fails
stale ones (``optuna.storages.fail_stale_trials``), but cannot tell whether a RUNNING trial
has a heartbeat record at all, and Optuna never fails a trial without one (see
:mod:`optuna_glo.runtime.worker._orphans`). This module reads that one fact from Optuna's
``trial_heartbeats`` table (column ``trial_id``), without importing Optuna's private ORM
models. ``tests/workers/test_optuna_schema.py`` pins the table and column on SQLite and
PostgreSQL, so an Optuna release that changes them fails the tests instead of the watch.
"""

from __future__ import annotations

from collections.abc import Collection

import optuna
import sqlalchemy

#: Optuna's table of heartbeats: one row per trial that ever recorded one.
HEARTBEATS = sqlalchemy.table("trial_heartbeats", sqlalchemy.column("trial_id"))


def trials_with_heartbeats(
    storage: optuna.storages.RDBStorage, trial_ids: Collection[int]
) -> set[int]:
    """The trials among ``trial_ids`` (storage trial ids) that have a heartbeat record."""
    if not trial_ids:
        return set()
    query = sqlalchemy.select(HEARTBEATS.c.trial_id).where(
        HEARTBEATS.c.trial_id.in_(sorted(trial_ids))
    )
    with storage.engine.connect() as conn:
        return {int(row[0]) for row in conn.execute(query)}
