"""Opening Optuna storages: SQLite on one machine, PostgreSQL for many workers.

URLs are SQLAlchemy URLs. Errors and logs only ever show :func:`redact`-ed URLs: a password in a
storage URL is never printed.
"""

from __future__ import annotations

from typing import Any

import optuna
import sqlalchemy.exc
from sqlalchemy.engine import make_url

#: The embedded default: a SQLite file in the current directory.
DEFAULT_STORAGE = "sqlite:///optuna-glo.db"


class StorageError(RuntimeError):
    """The storage cannot be opened or reached."""


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy understands: show its scheme only
        return url.split(":", 1)[0] + ":***"


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


def engine_kwargs_for(url: str) -> dict[str, Any]:
    """SQLAlchemy engine settings for many long-lived workers.

    ``pool_pre_ping`` checks a pooled connection before use, so a dropped connection (a database
    restart) is replaced instead of failing the next query. SQLite waits up to 60 s for a lock
    held by another worker process instead of failing at once.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": 60}}
    return {"pool_pre_ping": True}


def open_storage(url: str, **rdb_kwargs: Any) -> optuna.storages.RDBStorage:
    """An ``RDBStorage`` for ``url``; unreachable servers raise :class:`StorageError`."""
    try:
        make_url(url)
    except sqlalchemy.exc.ArgumentError:
        raise StorageError(
            f"`--storage` {redact(url)!r} is not a database URL. Use e.g. "
            "sqlite:///optuna-glo.db or postgresql://USER:PASSWORD@HOST:5432/DBNAME."
        ) from None
    try:
        return optuna.storages.RDBStorage(
            url, engine_kwargs=engine_kwargs_for(url), **rdb_kwargs
        )
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError) as err:
        reason = str(getattr(err, "orig", err)).strip().splitlines()[0]
        raise StorageError(
            f"Cannot reach {_describe_target(url)}: {reason}. Check that the server is running "
            "and the URL's host, port, user and database are right."
        ) from None
    except ModuleNotFoundError as err:
        raise StorageError(
            f"The driver for {redact(url)!r} is not installed ({err.name}). For PostgreSQL, "
            "optuna-glo installs psycopg2-binary: use a postgresql:// or "
            "postgresql+psycopg2:// URL."
        ) from None
