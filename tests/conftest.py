"""Shared fixtures: fresh databases on the real PostgreSQL and Redis servers, a fresh SQLite file,
a journal file, a gRPC storage proxy.

A test that reaches PostgreSQL without the ``postgres`` marker fails (the hooks of ``_pg``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pg import fresh_database
from _pg import pytest_runtest_setup as pytest_runtest_setup
from _pg import pytest_runtest_teardown as pytest_runtest_teardown
from _storages import fresh_redis_database, grpc_proxy

pytest_plugins = ["pytester"]  # tests/test_markers.py runs pytest on small test files


@pytest.fixture(autouse=True)
def _cache_home(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The user cache directory (evaluate's learning-rate cache) is the test's own, outside its
    ``tmp_path``: matplotlib writes its font cache there on its first import in the session,
    which a test listing the files it wrote to ``tmp_path`` must not see."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A storage URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A storage URL of a new SQLite file."""
    return f"sqlite:///{tmp_path / 'study.db'}"


@pytest.fixture
def journal_path(tmp_path: Path) -> str:
    """A journal file's path (``JournalFileBackend``), as ``--storage`` takes it."""
    return str(tmp_path / "study.log")


@pytest.fixture
def redis_url() -> Iterator[str]:
    """A ``redis://`` URL of an empty database of the real Redis server, flushed after the test."""
    with fresh_redis_database() as url:
        yield url


@pytest.fixture
def grpc_url(tmp_path: Path) -> Iterator[str]:
    """A ``grpc://`` URL of ``optuna-glo storage-proxy`` serving a new SQLite file."""
    with grpc_proxy(f"sqlite:///{tmp_path / 'proxied.db'}") as url:
        yield url
