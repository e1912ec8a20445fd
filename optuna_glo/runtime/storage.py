"""Opening Optuna storages: every kind Optuna's own CLI and optuna-dashboard take.

``--storage`` says which (:func:`storage_kind`), as in ``optuna`` and ``optuna-dashboard``:

- a SQLAlchemy URL (``sqlite:///optuna-glo.db``, ``postgresql://USER:PASSWORD@HOST/DB``):
  ``RDBStorage``;
- a file path without a scheme ending in ``.log`` or ``.journal`` (or an existing file that is
  not a SQLite database): ``JournalStorage(JournalFileBackend(path))``;
- ``redis://``, ``rediss://`` or ``unix://`` URLs: ``JournalStorage(JournalRedisBackend(url))``;
- ``grpc://HOST:PORT``: ``GrpcStorageProxy`` talking to ``optuna-glo storage-proxy`` (Optuna's
  ``run_grpc_proxy_server``), which holds the real storage.

``--storage-class`` (:func:`resolve_storage`) is a hint with the names of the ``optuna`` CLI
(``RDBStorage``, ``JournalFileBackend``, ``JournalRedisBackend``, the deprecated
``JournalFileStorage``/``JournalRedisStorage``) plus ``GrpcStorageProxy``.

Errors and logs only ever show :func:`redact`-ed URLs: a password in a storage URL is never
printed.

Connection use is bounded. A worker holds at most three connections at once: one for Optuna's
queries in its main thread, one for its heartbeat thread and one that holds the study's budget
lock while it claims a trial (see :mod:`optuna_glo.runtime.budget_lock`). The pool is sized for
exactly that (``pool_size=3, max_overflow=0``), so 30 workers need at most 90 of PostgreSQL's
connections (``max_connections`` is 100 by default). Change the pool with query parameters of
the URL, which are removed before the URL reaches the database driver::

    postgresql://USER:PASSWORD@HOST:5432/DB?pool_size=3&max_overflow=0&pool_timeout=60

``pool_size`` and ``max_overflow`` are SQLAlchemy's ``QueuePool`` settings; ``pool_timeout`` is
how long (seconds) a thread waits for a free connection; ``pool_recycle`` replaces connections
older than that many seconds (useful behind proxies that drop idle connections).
"""

from __future__ import annotations

import warnings
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import optuna
import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.engine import URL, make_url

from optuna_glo.runtime._other_storages import (
    grpc_address,
    open_grpc,
    open_journal_file,
    open_redis,
)
from optuna_glo.runtime.storage_errors import StorageError, is_connection_error, redact, scrub

__all__ = [
    "DEFAULT_STORAGE", "STORAGE_CLASSES", "OpenedStorage", "StorageError", "StorageKind",
    "grpc_address", "is_connection_error", "open_storage", "opened", "redact",
    "resolve_storage", "scrub", "storage_kind", "supports_heartbeats",
]

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


#: The kinds of storage (:func:`storage_kind`).
StorageKind = Literal["rdb", "journal-file", "journal-redis", "grpc"]

#: ``--storage-class`` hints (the names of the ``optuna`` CLI, plus the gRPC proxy's class).
STORAGE_CLASSES: dict[str, StorageKind] = {
    "RDBStorage": "rdb",
    "JournalFileBackend": "journal-file",
    "JournalRedisBackend": "journal-redis",
    "GrpcStorageProxy": "grpc",
    "JournalFileStorage": "journal-file",  # deprecated in Optuna, still accepted by its CLI
    "JournalRedisStorage": "journal-redis",
}

#: Suffixes that make a plain path a journal file.
JOURNAL_SUFFIXES = (".log", ".journal")
_REDIS_SCHEMES = ("redis", "rediss", "unix")


@dataclass(frozen=True)
class OpenedStorage:
    """What :func:`open_storage` opened: its kind and where (for locks and messages)."""

    kind: StorageKind
    #: The SQLAlchemy URL, the journal file's path, the Redis URL, or ``HOST:PORT``.
    target: str


_opened: weakref.WeakKeyDictionary[optuna.storages.BaseStorage, OpenedStorage] = (
    weakref.WeakKeyDictionary()
)


def opened(storage: optuna.storages.BaseStorage) -> OpenedStorage:
    """How ``storage`` was opened (a storage not opened by :func:`open_storage`: by its class)."""
    known = _opened.get(storage)
    if known is not None:
        return known
    if isinstance(storage, optuna.storages.RDBStorage):
        return OpenedStorage("rdb", storage.engine.url.render_as_string(hide_password=False))
    return OpenedStorage("grpc" if type(storage).__name__ == "GrpcStorageProxy"
                         else "journal-file", repr(storage))


def supports_heartbeats(storage: optuna.storages.BaseStorage) -> bool:
    """Whether Optuna records heartbeats in ``storage`` (``BaseHeartbeat``: only ``RDBStorage``).

    Journal and gRPC storages get optuna-glo's own heartbeats instead (a trial system attr; see
    :mod:`optuna_glo.runtime.worker._beats`).
    """
    return isinstance(storage, optuna.storages.RDBStorage)


def _is_sqlite_file(path: Path) -> bool:
    try:
        with path.open("rb") as f:
            return f.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def storage_kind(url: str) -> StorageKind:
    """Which storage ``url`` names (see the module doc); a bad one raises :class:`StorageError`."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme in _REDIS_SCHEMES:
        return "journal-redis"
    if scheme == "grpc":
        return "grpc"
    if scheme:
        return "rdb"
    path = Path(url)
    if path.suffix in JOURNAL_SUFFIXES or (path.is_file() and not _is_sqlite_file(path)):
        return "journal-file"
    hint = f"sqlite:///{url}" if path.suffix in (".db", ".sqlite", ".sqlite3") else "sqlite:///FILE.db"
    raise StorageError(
        f"`--storage` {url!r} is neither a database URL nor a journal file. Use {hint} for "
        "SQLite, a path ending in .log or .journal for a journal file (or --storage-class "
        "JournalFileBackend for another name), redis://HOST:6379/DB or grpc://HOST:PORT."
    )


def resolve_storage(url: str, storage_class: str | None) -> str:
    """``url`` checked against the ``--storage-class`` hint; the URL every command then opens.

    ``JournalFileBackend`` with a path of another suffix creates the (empty) journal file, so
    that the path names a journal file from then on, in every command and worker.
    """
    if storage_class is None:
        return url
    kind = STORAGE_CLASSES.get(storage_class)
    if kind is None:
        raise StorageError(
            f"`--storage-class` must be one of {', '.join(STORAGE_CLASSES)}. The specified "
            f"value is {storage_class!r}."
        )
    if kind == "grpc" and "://" not in url:
        url = f"grpc://{url}"
    if kind == "journal-file" and "://" not in url:
        path = Path(url)
        if _is_sqlite_file(path):
            raise StorageError(f"`--storage` {url!r} is a SQLite database, not a journal file: "
                               f"use sqlite:///{url} without --storage-class {storage_class}.")
        path.touch()
    actual = storage_kind(url)
    if actual != kind:
        raise StorageError(
            f"`--storage` {redact(url)!r} names a {actual} storage, but `--storage-class` is "
            f"{storage_class} ({kind}). Drop the hint or give a matching URL."
        )
    return url


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
) -> optuna.storages.BaseStorage:
    """The Optuna storage ``url`` names (:func:`storage_kind`); unreachable ones raise
    :class:`StorageError`.

    Args:
        url: A SQLAlchemy URL (pool options in its query: see the module doc), a journal file's
            path, a Redis URL or ``grpc://HOST:PORT``.
        pool_size: See :func:`engine_kwargs_for` (SQLAlchemy URLs only).
        max_overflow: See :func:`engine_kwargs_for` (SQLAlchemy URLs only).
        application_name: See :func:`engine_kwargs_for` (SQLAlchemy URLs only).
        rdb_kwargs: Passed to ``RDBStorage`` (``heartbeat_interval``, ``grace_period``,
            ``heartbeat_stale_trial_callback``); other kinds have no Optuna heartbeats and
            ignore them (:func:`supports_heartbeats`). Optuna marks heartbeats experimental; the
            warning is silenced here since optuna-glo relies on them on purpose.
    """
    kind = storage_kind(url)
    storage: optuna.storages.BaseStorage
    if kind == "rdb":
        storage = _open_rdb(url, pool_size=pool_size, max_overflow=max_overflow,
                            application_name=application_name, **rdb_kwargs)
        target = url
    elif kind == "journal-file":
        target = str(Path(url).resolve())
        storage = open_journal_file(target)
    elif kind == "journal-redis":
        storage, target = open_redis(url), url
    else:
        storage, target = open_grpc(url)
    _opened[storage] = OpenedStorage(kind, target)
    return storage


def _open_rdb(
    url: str,
    *,
    pool_size: int | None,
    max_overflow: int | None,
    application_name: str | None,
    **rdb_kwargs: Any,
) -> optuna.storages.RDBStorage:
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
            storage = optuna.storages.RDBStorage(
                plain, engine_kwargs=engine_kwargs, **rdb_kwargs
            )
        if storage.engine.url.get_backend_name() == "sqlite":
            _write_ahead(storage.engine)
        return storage
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


def _write_ahead(engine: sqlalchemy.engine.Engine) -> None:
    """SQLite in write-ahead-log mode with ``synchronous=NORMAL``: a commit appends to the log
    without waiting for the disk (no ``fsync`` per commit), readers do not block the writer.

    Optuna commits several times per trial (each suggested parameter is one commit); with
    SQLite's default rollback journal each commit waits for the disk, which made SQLite the
    slowest storage in ``benchmarks/orchestration.py``. A power loss may lose the last commits
    (the database stays consistent): such trials are re-run, as after any crash. WAL needs
    the processes on one machine (not a network file system), as SQLite itself does.
    """
    if engine.url.database in (None, "", ":memory:"):
        return

    @sqlalchemy.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # connections opened before the listener get the pragmas too
