"""Every test that reaches PostgreSQL carries the `postgres` marker (issue 14, item 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres  # the marked test file below reaches the real server

_TESTS = """
import pytest
from _pg import PrivateServer, admin_connection, fresh_database


def test_unmarked_fixture(pg_url):
    pass


def test_unmarked_dynamic_request(request):
    request.getfixturevalue("pg_url")


def test_unmarked_helper():
    admin_connection().close()


def test_unmarked_private_server(tmp_path):
    PrivateServer(tmp_path)


@pytest.mark.postgres
def test_marked(pg_url):
    assert pg_url.startswith("postgresql://")


def test_without_postgres(sqlite_url):
    assert sqlite_url.startswith("sqlite:///")
"""


def test_a_test_that_reaches_postgresql_without_the_marker_fails(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest((Path(__file__).parent / "conftest.py").read_text())  # ours, as is
    pytester.makepyfile(test_reach=_TESTS)
    result = pytester.runpytest_inprocess("-p", "no:randomly", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=1, failed=3)
    for name in ("fixture", "dynamic_request", "helper", "private_server"):
        result.stdout.fnmatch_lines(
            [f"*test_reach.py::test_unmarked_{name} uses PostgreSQL but has no `postgres` marker*"]
        )
    # Deselecting PostgreSQL deselects exactly the marked test; the rest still fail loudly.
    result = pytester.runpytest_inprocess("-m", "not postgres", "-p", "no:randomly")
    result.assert_outcomes(passed=1, errors=1, failed=3, deselected=1)
