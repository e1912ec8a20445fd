"""A stop (SIGTERM, Ctrl-C) ends a worker's waits and its retries of an unreachable database."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import sqlalchemy

from optuna_glo.runtime.storage import StorageError
from optuna_glo.runtime.worker._reconnect import Reconnect, Stopped
from optuna_glo.runtime.worker._signals import GiveBackSignal, Signals, pause

#: No server listens on port 1: every connection attempt is refused at once.
UNREACHABLE = "postgresql+psycopg2://postgres:Sup3r-Secret-pw@127.0.0.1:1/none"


def connect_to_nothing() -> None:
    engine = sqlalchemy.create_engine(UNREACHABLE)
    try:
        with engine.connect():
            pass
    finally:
        engine.dispose()


@pytest.fixture
def signals() -> Iterator[Signals]:
    handlers = Signals()
    with handlers.installed(True):
        yield handlers


def send_soon(signum: int, delay: float = 0.3) -> None:
    """Send ``signum`` to this process from another thread after ``delay`` seconds."""
    threading.Timer(delay, os.kill, (os.getpid(), signum)).start()


def test_sigterm_ends_a_pause_at_once_and_asks_to_give_back(signals: Signals) -> None:
    send_soon(signal.SIGTERM)
    start = time.monotonic()
    assert pause(60, signals.stopping) is True
    assert time.monotonic() - start < 5
    assert signals.stop_requested and signals.give_back


def test_first_ctrl_c_stops_claiming_second_gives_back(signals: Signals) -> None:
    send_soon(signal.SIGINT)
    assert pause(60, signals.stopping) is True
    assert signals.stop_requested and not signals.give_back
    assert pause(0.3, signals.giving_back) is False  # the running trial may finish
    send_soon(signal.SIGINT)
    assert pause(60, signals.giving_back) is True
    assert signals.give_back


def test_sigterm_interrupts_the_running_objective(signals: Signals) -> None:
    send_soon(signal.SIGTERM)
    start = time.monotonic()
    with pytest.raises(GiveBackSignal), signals.trial_running():
        time.sleep(60)
    assert time.monotonic() - start < 5


def test_a_stop_ends_the_retries_of_an_unreachable_database() -> None:
    attempts: list[float] = []

    def claim() -> None:
        attempts.append(time.monotonic())
        connect_to_nothing()

    start = time.monotonic()
    with pytest.raises(Stopped, match="while claiming a trial") as info:
        Reconnect(UNREACHABLE, 600).call("claiming a trial", claim, stop=lambda: len(attempts) >= 2)
    assert len(attempts) == 2, "no attempt after the stop"
    assert time.monotonic() - start < 5
    assert "Sup3r-Secret-pw" not in str(info.value)


def test_a_reachable_database_is_used_although_a_stop_was_asked() -> None:
    assert Reconnect(UNREACHABLE, 600).call("telling trial 3", lambda: 42, stop=lambda: True) == 42


def test_without_a_stop_the_retries_end_at_the_reconnect_timeout() -> None:
    start = time.monotonic()
    with pytest.raises(StorageError, match="reconnect timeout of 2 s") as info:
        Reconnect(UNREACHABLE, 2.0).call("telling trial 3", connect_to_nothing)
    assert not isinstance(info.value, Stopped)
    assert 1.0 < time.monotonic() - start < 10
    assert "Sup3r-Secret-pw" not in str(info.value)
