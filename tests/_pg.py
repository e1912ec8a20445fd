"""The PostgreSQL server the tests use: CI runs one on 127.0.0.1:5432 with trust auth."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg2
import psycopg2.extensions

PG_ADMIN_URL = os.environ.get(
    "OPTUNA_GLO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def admin_connection() -> psycopg2.extensions.connection:
    """An autocommit connection to the server's maintenance database."""
    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    return conn


@contextmanager
def fresh_database(prefix: str = "optuna_glo_test") -> Iterator[str]:
    """The URL of a new, empty database with a unique name, dropped afterwards.

    The server must be running: a test that needs it fails (never skips) when it is not.
    """
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    conn = admin_connection()
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.close()
