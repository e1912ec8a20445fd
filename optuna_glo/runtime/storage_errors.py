"""Storage errors, which errors mean an outage, and URLs shown without their passwords."""

from __future__ import annotations

import sqlalchemy.exc
from sqlalchemy.engine import make_url


class StorageError(RuntimeError):
    """The storage cannot be opened or reached."""


def redact(url: str) -> str:
    """The URL with any password replaced by ``***``."""
    if "://" not in url:
        return url  # a journal file's path
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
        if _is_lost_server(current):
            return True
        if isinstance(current, StorageError):
            return False  # already explained to the user (a wrong URL, a server that is down)
        current = current.__cause__ or (
            None if current.__suppress_context__ else current.__context__
        )
    return False


def _is_lost_server(err: BaseException) -> bool:
    """A Redis server or gRPC proxy that cannot be reached (a journal file never is)."""
    module = type(err).__module__
    if module.startswith("redis"):
        import redis

        return isinstance(err, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)
    if module.startswith("grpc"):
        import grpc

        code = getattr(err, "code", None)
        return isinstance(err, grpc.RpcError) and callable(code) and code() in (
            grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED
        )
    return False
