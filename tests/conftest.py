"""Shared fixtures: a fresh PostgreSQL database on the real server, a fresh SQLite file.

A test that reaches PostgreSQL without the ``postgres`` marker fails (the hooks of ``_pg``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _pg import fresh_database
from _pg import pytest_runtest_setup as pytest_runtest_setup
from _pg import pytest_runtest_teardown as pytest_runtest_teardown

pytest_plugins = ["pytester"]  # tests/test_markers.py runs pytest on small test files


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A storage URL of a new, empty PostgreSQL database, dropped after the test."""
    with fresh_database() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A storage URL of a new SQLite file."""
    return f"sqlite:///{tmp_path / 'study.db'}"
