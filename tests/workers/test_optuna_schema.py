"""Pins the one part of Optuna's database schema optuna-glo reads: ``trial_heartbeats.trial_id``.

If an Optuna release renames the table or the column, these tests fail (on SQLite and on
PostgreSQL) instead of the orphan watch silently finding no orphans.
"""

from __future__ import annotations

import warnings

import optuna
import pytest
import sqlalchemy

from optuna_glo.runtime.storage import open_storage
from optuna_glo.runtime.worker._beats import OptunaBeats
from optuna_glo.runtime.worker._optuna_schema import trials_with_heartbeats
from optuna_glo.runtime.worker._orphans import OrphanWatch


@pytest.fixture(params=["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def storage(request: pytest.FixtureRequest) -> optuna.storages.RDBStorage:
    return open_storage(request.getfixturevalue(request.param), heartbeat_interval=1)


def ask(study: optuna.Study) -> optuna.trial.Trial:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Heartbeat of storage is supposed")
        return study.ask()


def test_optuna_keeps_heartbeats_in_trial_heartbeats_by_trial_id(
    storage: optuna.storages.RDBStorage,
) -> None:
    columns = sqlalchemy.inspect(storage.engine).get_columns("trial_heartbeats")
    assert "trial_id" in {column["name"] for column in columns}
    study = optuna.create_study(storage=storage)
    beating, silent, told = ask(study), ask(study), ask(study)
    storage.record_heartbeat(beating._trial_id)
    storage.record_heartbeat(told._trial_id)
    study.tell(told, 1.0)
    ids = {beating._trial_id, silent._trial_id, told._trial_id}
    assert trials_with_heartbeats(storage, ids) == {beating._trial_id, told._trial_id}
    assert trials_with_heartbeats(storage, set()) == set()


def test_orphan_watch_gives_a_heartbeat_to_a_trial_running_without_one_for_the_grace_period(
    storage: optuna.storages.RDBStorage,
) -> None:
    study = optuna.create_study(storage=storage)
    beating, orphan = ask(study), ask(study)
    storage.record_heartbeat(beating._trial_id)
    watch = OrphanWatch(OptunaBeats(storage), storage, study._study_id, grace=0)
    watch.check()  # first seen now: not yet a whole grace period
    assert trials_with_heartbeats(storage, {orphan._trial_id}) == set()
    watch.check()
    assert trials_with_heartbeats(storage, {orphan._trial_id}) == {orphan._trial_id}
