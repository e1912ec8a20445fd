"""The budget lock: claiming a trial (count the budget, then ask) is atomic across workers.

One lock per study, by storage kind (:func:`budget_lock`):

- PostgreSQL: a transaction advisory lock (``pg_advisory_xact_lock(namespace, study_id)``) in a
  transaction of its own on one pooled connection, released at its end. A worker that dies
  holding it loses its connection and the server releases the lock; one whose node vanishes
  without closing its connection (power loss) stays "idle in transaction", which the server
  ends after :data:`LOCK_IDLE_TIMEOUT`, so the others are never blocked for long.
- SQLite and journal files: an exclusive ``flock`` on ``FILE.optuna-glo.lock`` next to the file
  (they serve the processes of one machine, or of a shared file system that honours ``flock``).
- Redis: a ``redis`` ``Lock`` (``SET NX PX``) that expires after :data:`LOCK_IDLE_TIMEOUT`
  seconds, so a worker that dies holding it blocks the others for at most that long.
- The gRPC proxy: no lock reaches the proxy's storage. The budget is then decided by the order
  in which the proxy creates trials (one at a time, atomically): a trial claimed while the
  budget was full is failed at once (see ``optuna_glo.runtime.worker._claim``). The lock
  yields ``False`` to say so.
- Other databases: a lock within this process only (yields ``False`` too).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path

import optuna
import sqlalchemy
import sqlalchemy.exc

from optuna_glo.runtime.storage import opened

#: First key of PostgreSQL's two-key advisory locks taken by optuna-glo (second: the study id).
_ADVISORY_NAMESPACE = zlib.crc32(b"optuna-glo:budget") & 0x7FFFFFFF

#: Seconds after which PostgreSQL ends a budget-lock transaction whose client went silent, and
#: after which a Redis budget lock expires.
LOCK_IDLE_TIMEOUT = 60

_process_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def budget_lock(storage: optuna.storages.BaseStorage, study_id: int) -> Iterator[bool]:
    """Hold the study's budget lock: one claimer at a time across all workers of the study.

    Yields:
        Whether the lock excludes the workers of other processes (see the module doc).
    """
    where = opened(storage)
    if where.kind == "rdb":
        assert isinstance(storage, optuna.storages.RDBStorage)
        with _rdb_lock(storage, study_id) as exclusive:
            yield exclusive
    elif where.kind == "journal-file":
        with _file_lock(Path(where.target)):
            yield True
    elif where.kind == "journal-redis":
        with _redis_lock(where.target, study_id):
            yield True
    else:
        yield False


@contextlib.contextmanager
def _rdb_lock(storage: optuna.storages.RDBStorage, study_id: int) -> Iterator[bool]:
    engine = storage.engine
    backend = engine.url.get_backend_name()
    if backend == "postgresql":
        with engine.connect() as conn:
            conn.execute(
                sqlalchemy.text(
                    f"SET LOCAL idle_in_transaction_session_timeout = '{LOCK_IDLE_TIMEOUT}s'"
                )
            )
            conn.execute(
                sqlalchemy.text("SELECT pg_advisory_xact_lock(:ns, :id)"),
                {"ns": _ADVISORY_NAMESPACE, "id": study_id},
            )
            try:
                yield True
            finally:
                with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                    conn.commit()  # ends the transaction: releases the lock
        return
    database = engine.url.database
    if backend == "sqlite" and database and database != ":memory:":
        with _file_lock(Path(database)):
            yield True
        return
    lock = _process_locks.setdefault(f"{engine.url!r}:{study_id}", threading.Lock())
    with lock:
        yield False


@contextlib.contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``PATH.optuna-glo.lock``."""
    lock_path = path.with_name(path.name + ".optuna-glo.lock")
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


_redis_clients: dict[str, object] = {}


@contextlib.contextmanager
def _redis_lock(url: str, study_id: int) -> Iterator[None]:
    """A Redis lock of the study, expiring after :data:`LOCK_IDLE_TIMEOUT` seconds."""
    import redis

    client = _redis_clients.get(url)
    if not isinstance(client, redis.Redis):
        client = _redis_clients[url] = redis.Redis.from_url(url)
    with client.lock(f"optuna-glo:budget:{study_id}", timeout=LOCK_IDLE_TIMEOUT):
        yield
