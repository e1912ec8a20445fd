"""Opening Optuna storages: SQLite on one machine, PostgreSQL for many workers.

URLs are SQLAlchemy URLs. Errors and logs only ever show :func:`redact`-ed URLs: a password in a
storage URL is never printed.

Connection use is bounded. A worker holds at most three connections at once: one for Optuna's
queries in its main thread, one for its heartbeat thread and one that holds the study's budget
lock while it claims a trial (see :func:`budget_lock`). The pool is sized for exactly that
(``pool_size=3, max_overflow=0``), so 30 workers need at most 90 of PostgreSQL's connections
(``max_connections`` is 100 by default). Change the pool with query parameters of the URL, which
are removed before the URL reaches the database driver::

    postgresql://USER:PASSWORD@HOST:5432/DB?pool_size=3&max_overflow=0&pool_timeout=60

``pool_size`` and ``max_overflow`` are SQLAlchemy's ``QueuePool`` settings; ``pool_timeout`` is
how long (seconds) a thread waits for a free connection; ``pool_recycle`` replaces connections
older than that many seconds (useful behind proxies that drop idle connections).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

#: The embedded default: a SQLite file in the current directory.
DEFAULT_STORAGE = "sqlite:///optuna-glo.db"

#: URL query parameters that configure the connection pool, and their types.
POOL_OPTIONS: dict[str, type] = {
    "pool_size": int,
    "max_overflow": int,
    "pool_timeout": float,
    "pool_recycle": int,
}

#: Connections a worker needs at once: main thread, heartbeat thread, budget lock.
DEFAULT_POOL_SIZE = 3
DEFAULT_MAX_OVERFLOW = 0


class StorageError(RuntimeError):
    """The storage cannot be opened or reached."""


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show its scheme only
        return url.split(":", 1)[0] + ":***"


def scrub(text: str, url: str) -> str:
    """``text`` with the URL's password (if any) replaced by ``***``: for driver messages."""
    try:
        password = make_url(url).password
    except Exception:
        return text
    if password:
        text = text.replace(str(password), "***")
    return text


def _describe_target(url: str) -> str:
    try:
        parsed = make_url(url)
    except Exception:
        return redact(url)
    if parsed.get_backend_name() == "sqlite":
        return f"the SQLite file {parsed.database!r}"
    host = parsed.host or "localhost"
    port = f":{parsed.port}" if parsed.port else ""
    return f"the {parsed.get_backend_name()} server at {host}{port} (database {parsed.database!r})"


def split_pool_options(url: str) -> tuple[str, dict[str, Any]]:
    """Remove the pool options (:data:`POOL_OPTIONS`) from the URL's query.

    Returns:
        The URL without them, and the options with their values converted.
    """
    parsed = make_url(url)
    options: dict[str, Any] = {}
    for key, kind in POOL_OPTIONS.items():
        if key not in parsed.query:
            continue
        raw = parsed.query[key]
        value = raw[-1] if isinstance(raw, tuple) else raw
        try:
            options[key] = kind(value)
        except ValueError:
            raise StorageError(
                f"`--storage` option `{key}` must be {'an integer' if kind is int else 'a number'}"
                f", got {value!r}."
            ) from None
        if options[key] < 0 or (key == "pool_size" and options[key] < 1):
            raise StorageError(
                f"`--storage` option `{key}` must be {'>= 1' if key == 'pool_size' else '>= 0'}, "
                f"got {value!r}."
            )
    if not options:
        return url, {}
    stripped: URL = parsed.difference_update_query(list(options))
    return stripped.render_as_string(hide_password=False), options


def _with_installed_driver(url: str) -> str:
    """A plain ``postgresql://`` URL with the PostgreSQL driver that is installed.

    SQLAlchemy 2.1 reads ``postgresql://`` as psycopg 3; optuna-glo installs psycopg2-binary.
    """
    parsed = make_url(url)
    if parsed.drivername != "postgresql":
        return url
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return parsed.set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)
    return url


def engine_kwargs_for(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    application_name: str | None = None,
) -> dict[str, Any]:
    """SQLAlchemy engine settings for many long-lived workers.

    ``pool_pre_ping`` checks a pooled connection before use, so a dropped connection (a database
    restart, ``pg_terminate_backend``) is replaced instead of failing the next query. The pool is
    bounded (:data:`DEFAULT_POOL_SIZE` connections, no overflow, unless the URL's query or the
    arguments say otherwise). SQLite waits up to 60 s for a lock held by another worker process
    instead of failing at once.

    Args:
        url: The storage URL, pool options (:data:`POOL_OPTIONS`) included or not.
        pool_size: Connections kept in the pool (overrides the URL's ``pool_size``).
        max_overflow: Connections opened beyond ``pool_size`` when all are busy.
        application_name: Shown in PostgreSQL's ``pg_stat_activity`` (unless the URL sets one).
    """
    plain, options = split_pool_options(url)
    parsed = make_url(plain)
    if parsed.get_backend_name() == "sqlite":
        return {"connect_args": {"timeout": 60}}
    kwargs: dict[str, Any] = {
        "pool_pre_ping": True,
        "pool_size": DEFAULT_POOL_SIZE,
        "max_overflow": DEFAULT_MAX_OVERFLOW,
    }
    kwargs.update(options)
    if pool_size is not None:
        kwargs["pool_size"] = pool_size
    if max_overflow is not None:
        kwargs["max_overflow"] = max_overflow
    if (
        application_name
        and parsed.get_backend_name() == "postgresql"
        and "application_name" not in parsed.query
    ):
        kwargs["connect_args"] = {"application_name": application_name[:63]}
    return kwargs


def open_storage(
    url: str,
    *,
    pool_size: int | None = None,
    max_overflow: int | None = None,
    application_name: str | None = None,
    **rdb_kwargs: Any,
) -> optuna.storages.RDBStorage:
    """An ``RDBStorage`` for ``url``; unreachable servers raise :class:`StorageError`.

    Args:
        url: SQLAlchemy URL, optionally with pool options in its query (see the module doc).
        pool_size: See :func:`engine_kwargs_for`.
        max_overflow: See :func:`engine_kwargs_for`.
        application_name: See :func:`engine_kwargs_for`.
        rdb_kwargs: Passed to ``RDBStorage`` (``heartbeat_interval``, ``grace_period``,
            ``heartbeat_stale_trial_callback``). Optuna marks heartbeats experimental; the
            warning is silenced here since optuna-glo relies on them on purpose.
    """
    try:
        make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(
            f"`--storage` {redact(url)!r} is not a database URL. Use e.g. "
            "sqlite:///optuna-glo.db or postgresql://USER:PASSWORD@HOST:5432/DBNAME."
        ) from None
    engine_kwargs = engine_kwargs_for(
        url, pool_size=pool_size, max_overflow=max_overflow, application_name=application_name
    )
    plain = _with_installed_driver(split_pool_options(url)[0])
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.storages.RDBStorage(plain, engine_kwargs=engine_kwargs, **rdb_kwargs)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as err:
        reason = scrub(str(getattr(err, "orig", err)).strip().splitlines()[0], url)
        raise StorageError(
            f"Cannot reach {_describe_target(url)}: {reason}. Check that the server is running "
            "and the URL's host, port, user and database are right."
        ) from None
    except sqlalchemy.exc.DatabaseError as err:  # reached, but not a database (a text file)
        reason = scrub(str(getattr(err, "orig", err)).strip().splitlines()[0], url)
        raise StorageError(
            f"Cannot use {_describe_target(url)} as an Optuna storage: {reason}. Point "
            "`--storage` at a new file or an existing Optuna database."
        ) from None
    except sqlalchemy.exc.NoSuchModuleError:
        raise StorageError(
            f"`--storage` {redact(url)!r} names no database SQLAlchemy knows. Use e.g. "
            "sqlite:///optuna-glo.db or postgresql://USER:PASSWORD@HOST:5432/DBNAME."
        ) from None
    except ImportError as err:
        missing = getattr(err.__cause__, "name", None) or getattr(err, "name", None)
        raise StorageError(
            f"The driver for {redact(url)!r} is not installed ({missing}). For PostgreSQL, "
            "optuna-glo installs psycopg2-binary: use a postgresql:// or "
            "postgresql+psycopg2:// URL."
        ) from None


def is_connection_error(err: BaseException) -> bool:
    """Whether ``err`` means the database could not be reached (worth retrying later).

    Optuna wraps SQLAlchemy errors raised inside its sessions in ``StorageInternalError``; the
    cause tells a dropped connection from bad data.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        if isinstance(
            current,
            sqlalchemy.exc.OperationalError
            | sqlalchemy.exc.InterfaceError
            | sqlalchemy.exc.TimeoutError
            | sqlalchemy.exc.PendingRollbackError
            | sqlalchemy.exc.ResourceClosedError,
        ):
            return True
        if isinstance(current, StorageError):
            return False  # already explained to the user (a wrong URL, a server that is down)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


# --------------------------------------------------------------------------------------------
# The budget lock: claiming a trial (count the budget, then ask) is atomic across workers.
# --------------------------------------------------------------------------------------------

#: First key of PostgreSQL's two-key advisory locks taken by optuna-glo (second: the study id).
_ADVISORY_NAMESPACE = zlib.crc32(b"optuna-glo:budget") & 0x7FFFFFFF

#: Seconds after which PostgreSQL ends a budget-lock transaction whose client went silent.
LOCK_IDLE_TIMEOUT = 60

_process_locks: dict[str, threading.Lock] = {}


@contextlib.contextmanager
def budget_lock(storage: optuna.storages.RDBStorage, study_id: int) -> Iterator[None]:
    """Hold the study's budget lock: one claimer at a time across all workers of the study.

    - PostgreSQL: a transaction advisory lock (``pg_advisory_xact_lock(namespace, study_id)``)
      in a transaction of its own on one pooled connection, released at its end. A worker that
      dies holding it loses its connection and the server releases the lock; one whose node
      vanishes without closing its connection (power loss) stays "idle in transaction", which
      the server ends after :data:`LOCK_IDLE_TIMEOUT`, so the others are never blocked for long.
    - SQLite: an exclusive ``flock`` on ``FILE.db.optuna-glo.lock`` next to the database (SQLite
      serves the processes of one machine, and so does the lock).
    - Other databases: a lock within this process only; workers in other processes may then
      overshoot the budget by up to one trial each.
    """
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
                yield
            finally:
                with contextlib.suppress(sqlalchemy.exc.SQLAlchemyError):
                    conn.commit()  # ends the transaction: releases the lock
        return
    database = engine.url.database
    if backend == "sqlite" and database and database != ":memory:":
        lock_path = Path(database).with_name(Path(database).name + ".optuna-glo.lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
        return
    lock = _process_locks.setdefault(f"{engine.url!r}:{study_id}", threading.Lock())
    with lock:
        yield
