"""Passwords stay off command lines (issue 14, item 9), on a server that checks them for real.

``launch`` hands the storage URL to its workers in ``$OPTUNA_STORAGE``, never in their argv
(which ``ps`` shows every user), and a URL without a password works with libpq's
``PGPASSWORD`` or ``PGPASSFILE``, through both PostgreSQL drivers.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import optuna
import psycopg2
import pytest
from _pg import PrivateServer, private_server_root
from worker_helpers import FAST_HEARTBEATS, assert_budget_exact, finish, optuna_glo, trials

from optuna_glo.runtime.storage import StorageError, open_storage

pytestmark = pytest.mark.postgres

PASSWORD = "Pw-4kQz9-never-on-argv"


@pytest.fixture(scope="module")
def server() -> Iterator[PrivateServer]:
    """A private server with password authentication (the shared test server trusts all)."""
    with private_server_root() as root:
        server = PrivateServer(root, password="admin-" + uuid.uuid4().hex)
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture
def role_url(server: PrivateServer) -> Iterator[str]:
    """A storage URL, without its password, of a new database owned by a role whose password is
    :data:`PASSWORD`; both are dropped afterwards."""
    name = f"pw_{uuid.uuid4().hex[:10]}"
    conn = psycopg2.connect(server.admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(f'CREATE ROLE "{name}" LOGIN PASSWORD %s', (PASSWORD,))
            cur.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
        yield f"postgresql://{name}@127.0.0.1:{server.port}/{name}"
    finally:
        with conn.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            cur.execute(f'DROP ROLE IF EXISTS "{name}"')
        conn.close()


@pytest.fixture
def no_password(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No password from the environment or from this user's ~/.pgpass."""
    monkeypatch.delenv("PGPASSWORD", raising=False)
    monkeypatch.setenv("PGPASSFILE", str(tmp_path / "no-such-pgpass"))


def _with_password(url: str) -> str:
    return url.replace("@", f":{PASSWORD}@", 1)


def _open(url: str) -> None:
    storage = open_storage(url)
    try:
        optuna.create_study(storage=storage, study_name="s", load_if_exists=True)
    finally:
        storage.engine.dispose()


@pytest.mark.usefixtures("no_password")
@pytest.mark.parametrize("driver", ["postgresql", "postgresql+psycopg2"])
def test_a_url_without_password_takes_it_from_pgpassword_or_pgpassfile(
    driver: str, role_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    url = role_url.replace("postgresql://", f"{driver}://", 1)
    with pytest.raises(StorageError, match="Cannot reach") as info:
        _open(url)  # the server checks: no password, no connection
    assert len(str(info.value).splitlines()) == 1
    monkeypatch.setenv("PGPASSWORD", "wrong-" + PASSWORD)
    with pytest.raises(StorageError, match="password authentication failed"):
        _open(url)
    monkeypatch.setenv("PGPASSWORD", PASSWORD)
    _open(url)
    monkeypatch.delenv("PGPASSWORD")
    pgpass = tmp_path / "pgpass"
    user = role_url.split("//", 1)[1].split("@", 1)[0]
    pgpass.write_text(f"127.0.0.1:*:*:{user}:{PASSWORD}\n")
    pgpass.chmod(0o600)  # libpq ignores a password file others can read
    monkeypatch.setenv("PGPASSFILE", str(pgpass))
    _open(url)


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``, from /proc."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _argv(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def _workers(launcher: subprocess.Popen[str], count: int) -> list[int]:
    """The launcher's ``optuna-glo worker`` children, once all ``count`` have started."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        pids = [pid for pid in _children(launcher.pid) if "worker" in _argv(pid)]
        if len(pids) == count:
            return pids
        assert launcher.poll() is None, finish(launcher)
        time.sleep(0.05)
    pytest.fail(f"launch did not start {count} workers within 120 s")


@pytest.mark.slow
@pytest.mark.usefixtures("no_password")
def test_launch_passes_the_storage_to_its_workers_in_the_environment_only(
    role_url: str, make_study: Callable[..., str]
) -> None:
    url = _with_password(role_url)  # the case: the password in launch's own --storage
    budget = 2
    study = make_study(url, n_trials=budget, steps=20)
    launcher = optuna_glo(
        "launch", "--study", study, "--storage", url, "--cpu-workers", "2", "--no-artifacts",
        *FAST_HEARTBEATS,
    )
    for pid in _workers(launcher, 2):
        argv = _argv(pid)
        assert PASSWORD not in " ".join(argv), argv
        assert "--storage" not in argv, argv
        environ = Path(f"/proc/{pid}/environ").read_bytes().decode().split("\0")
        assert f"OPTUNA_STORAGE={url}" in environ
    out = finish(launcher, timeout=300)
    assert launcher.returncode == 0, out
    assert PASSWORD not in out
    assert_budget_exact(trials(url, study), budget)  # the workers logged in with it


@pytest.mark.slow
@pytest.mark.usefixtures("no_password")
def test_the_documented_recipe_keeps_the_password_out_of_every_url(
    role_url: str, tmp_path: Path
) -> None:
    spec = tmp_path / "recipe.toml"
    spec.write_text(
        '[study]\nname = "recipe"\nmethod = "taylorglo"\ntask = "digits-mlp"\nn_trials = 1\n'
        "seed = 0\n\n[taylorglo]\npopulation_size = 4\n\n[training]\nsteps = 5\n"
    )
    env = {"OPTUNA_STORAGE": role_url, "PGPASSWORD": PASSWORD}
    created = optuna_glo("create-study", str(spec), env=env)
    assert created.wait(timeout=120) == 0, finish(created)
    work = optuna_glo(
        "worker", "--study", "recipe", "--device", "cpu", "--no-progress", "--no-artifacts",
        env=env,
    )
    out = finish(work)
    assert work.returncode == 0, out
    assert_budget_exact(trials(_with_password(role_url), "recipe"), 1)
