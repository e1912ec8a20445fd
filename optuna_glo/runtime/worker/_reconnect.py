"""Storage calls retried while the database is away, until it is back, a timeout, or a stop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from optuna_glo.runtime.storage import StorageError, is_connection_error, redact, scrub
from optuna_glo.runtime.worker._log import log
from optuna_glo.runtime.worker._signals import pause

_T = TypeVar("_T")

#: First and longest wait between attempts (seconds); the wait doubles after each failure.
FIRST_DELAY = 0.5
MAX_DELAY = 15.0


class Stopped(StorageError):
    """A stop was asked (SIGTERM, Ctrl-C) while the database could not be reached."""


class Reconnect:
    """Retries storage calls that fail for a lost connection, with exponential backoff.

    Args:
        url: The storage URL (shown redacted in messages).
        timeout: Seconds to keep retrying one call before giving up with :class:`StorageError`.
    """

    def __init__(self, url: str, timeout: float) -> None:
        self._url = url
        self.timeout = timeout

    def call(
        self,
        what: str,
        fn: Callable[[], _T],
        *,
        timeout: float | None = None,
        stop: Callable[[], bool] | None = None,
    ) -> _T:
        """``fn()``, retried while the database cannot be reached, for up to ``timeout`` s.

        Args:
            what: What the call does, for messages ("claiming a trial").
            fn: The storage call.
            timeout: Seconds to keep retrying (default: the worker's reconnect timeout).
            stop: Once this says so, the call is not retried: :class:`Stopped` is raised at
                once (also while waiting for the next attempt), so a stopped worker exits in
                seconds.
        """
        limit = self.timeout if timeout is None else timeout
        start = time.monotonic()
        delay = FIRST_DELAY
        while True:
            try:
                return fn()
            except Exception as err:
                if not is_connection_error(err):
                    raise
                reason = self._reason(err)
            waited = time.monotonic() - start
            if not (stop and stop()):
                if waited + delay > limit:
                    raise StorageError(
                        f"Lost the database {redact(self._url)} for {waited:.0f} s while "
                        f"{what} ({reason}); giving up after the reconnect timeout of "
                        f"{limit:.0f} s."
                    )
                log(f"database unreachable while {what} ({reason}); retrying in {delay:.1f} s")
                pause(delay, stop)
            if stop and stop():  # no further attempt: a stopped worker exits in seconds
                raise Stopped(
                    f"Stopped while {what}: the database {redact(self._url)} is unreachable "
                    f"({reason})."
                )
            delay = min(2 * delay, MAX_DELAY)

    def _reason(self, err: BaseException) -> str:
        root: BaseException = err
        while root.__cause__ is not None:
            root = root.__cause__
        orig = getattr(root, "orig", None) or root
        lines = str(orig).strip().splitlines()
        return scrub(lines[0] if lines else type(orig).__name__, self._url)

