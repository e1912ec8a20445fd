"""Signals: SIGINT finishes the running trial; SIGTERM or a second SIGINT gives it back.

Either way the worker exits normally and leaves no trial RUNNING (unless the database is away:
then its trials go stale and other workers re-run them).
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from optuna_glo.runtime.worker._log import log

#: Seconds between looks at the stop flags while a worker waits.
_POLL = 0.1


def pause(seconds: float, stop: Callable[[], bool] | None = None) -> bool:
    """Sleep up to ``seconds``; a stop ends it within a tenth of a second. Whether it stopped.

    The flags are polled rather than waited on with a ``threading.Event``: the signal handler
    runs in the main thread, and setting an event there while the main thread is inside the
    event's own lock would deadlock.
    """
    deadline = time.monotonic() + seconds
    while stop is None or not stop():
        left = deadline - time.monotonic()
        if left <= 0:
            return False
        time.sleep(left if stop is None else min(left, _POLL))
    return True


class GiveBackSignal(BaseException):
    """Raised in the main thread, inside a running objective, to stop it and give it back."""


class Signals:
    """SIGINT/SIGTERM handlers for the worker's lifetime (main thread only).

    Two flags say what was asked:

    - :attr:`stop_requested`: stop claiming trials (any signal).
    - :attr:`give_back`: give the running trials back now (SIGTERM, a second SIGINT).
    """

    def __init__(self) -> None:
        self.stop_requested = False
        self.give_back = False
        self._in_trial = False
        self._previous: dict[int, Any] = {}

    def stopping(self) -> bool:
        """Whether a signal asked this worker to stop (for :func:`pause` and retries)."""
        return self.stop_requested

    def giving_back(self) -> bool:
        """Whether a signal asked this worker to give its running trials back."""
        return self.give_back

    @contextlib.contextmanager
    def installed(self, enabled: bool) -> Iterator[None]:
        """Handle SIGINT and SIGTERM while the block runs (if ``enabled``, in the main thread)."""
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        for signum in (signal.SIGINT, signal.SIGTERM):
            self._previous[signum] = signal.signal(signum, self._handle)
        # ``optuna-glo launch`` starts its workers with these blocked, so that one sent while a
        # worker starts waits for these handlers; it is delivered now.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, (signal.SIGINT, signal.SIGTERM))
        try:
            yield
        finally:
            for previous_signum, handler in self._previous.items():
                signal.signal(previous_signum, handler)

    @contextlib.contextmanager
    def trial_running(self) -> Iterator[None]:
        """While the objective runs, a give-back signal interrupts it (:class:`GiveBackSignal`)."""
        if self.give_back:
            raise GiveBackSignal
        self._in_trial = True
        try:
            yield
        finally:
            self._in_trial = False

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if signum == signal.SIGINT and not self.stop_requested:
            self.stop_requested = True
            log(f"{name}: finishing the running trial, then stopping (Ctrl-C again to give it "
                "back to the study now)")
        else:
            self.stop_requested = self.give_back = True
            log(f"{name}: giving the running trial back to the study and stopping")
        if self.give_back and self._in_trial:
            self._in_trial = False
            raise GiveBackSignal
