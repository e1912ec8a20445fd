"""Shared fixtures: a fresh PostgreSQL database per test on the real server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

#: The PostgreSQL server the tests use (CI runs one on 127.0.0.1:5432 with trust auth).
PG_ADMIN_URL = os.environ.get(
    "OPTUNA_GLO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _admin_connection():
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    return conn


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A storage URL of a new, empty PostgreSQL database, dropped after the test.

    The server must be running: a test that needs it fails (never skips) when it is not.
    """
    name = f"optuna_glo_test_{uuid.uuid4().hex[:12]}"
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        yield f"{base}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    """A storage URL of a new SQLite file."""
    return f"sqlite:///{tmp_path / 'study.db'}"
