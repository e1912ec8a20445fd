"""The PostgreSQL servers the tests use: CI runs one on 127.0.0.1:5432 with trust auth; a test
that must stop the server, or check passwords, starts a private one (:class:`PrivateServer`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.extensions
import pytest

PG_ADMIN_URL = os.environ.get(
    "OPTUNA_GLO_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres"
)

#: The test being set up or run (None between tests); see :func:`require_postgres_marker`.
_current: pytest.Item | None = None


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    global _current
    _current = item


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    global _current
    _current = None


def require_postgres_marker() -> None:
    """Fail the running test unless it carries the ``postgres`` marker.

    Every way to PostgreSQL in the tests goes through this module, which calls this first, so
    ``pytest -m "not postgres"`` deselects every test that needs PostgreSQL, however it asks for
    it (a fixture, ``request.getfixturevalue``, a helper). tests/conftest.py installs the hooks.
    """
    if _current is not None and _current.get_closest_marker("postgres") is None:
        pytest.fail(
            f"{_current.nodeid} uses PostgreSQL but has no `postgres` marker: add "
            "@pytest.mark.postgres (or pytestmark = pytest.mark.postgres in its module).",
            pytrace=False,
        )


def admin_connection() -> psycopg2.extensions.connection:
    """An autocommit connection to the server's maintenance database."""
    require_postgres_marker()
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


def _pg_bin() -> Path:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    assert candidates, "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    return candidates[-1].parent


@contextmanager
def private_server_root() -> Iterator[Path]:
    """A temporary folder the server's user owns, removed afterwards."""
    root = Path(tempfile.mkdtemp(prefix="optuna-glo-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


class PrivateServer:
    """A throwaway PostgreSQL server that a test may stop and start.

    Without ``password`` it trusts every connection, like the shared server. With one, it
    checks passwords for real (scram-sha-256, PostgreSQL's default), the superuser ``postgres``
    has that password, and :attr:`admin_url` carries it.
    """

    def __init__(self, root: Path, *, password: str | None = None) -> None:
        require_postgres_marker()
        self.root = root
        self.data = root / "data"
        self.password = password
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.bin = _pg_bin()
        auth = ["-A", "trust"]
        if password is not None:
            pwfile = root / "pwfile"
            pwfile.write_text(password + "\n")
            if os.geteuid() == 0:
                shutil.chown(pwfile, "postgres")
            auth = ["-A", "scram-sha-256", f"--pwfile={pwfile}"]
        self._run("initdb", "-D", str(self.data), *auth, "-U", "postgres")
        self.start()

    def _run(self, program: str, *args: str) -> None:
        cmd = [str(self.bin / program), *args]
        if os.geteuid() == 0:  # the server refuses to run as root
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                  str(self.root / "log"), "-w", "start")

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def create_database(self, name: str) -> str:
        """Create database ``name`` on this server; return its storage URL."""
        conn = psycopg2.connect(self.admin_url)
        conn.autocommit = True  # CREATE DATABASE cannot run inside a transaction
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            conn.close()
        return self.admin_url.rsplit("/", 1)[0] + f"/{name}"

    @property
    def admin_url(self) -> str:
        user = "postgres" if self.password is None else f"postgres:{quote(self.password, safe='')}"
        return f"postgresql://{user}@127.0.0.1:{self.port}/postgres"
