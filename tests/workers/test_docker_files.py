"""docker/: what can be checked without Docker (it cannot run on the project's machines)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())


def test_compose_has_the_documented_services_volumes_and_variables() -> None:
    compose = _compose()
    services = compose["services"]
    assert {"postgres", "dashboard", "create-study", "worker", "cpu-worker"} <= set(services)
    assert {"pgdata", "data"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in services["postgres"]["volumes"]
    gpu = services["worker"]["deploy"]["resources"]["reservations"]["devices"][0]
    assert gpu["driver"] == "nvidia" and gpu["capabilities"] == ["gpu"]
    assert services["worker"]["depends_on"]["create-study"]["condition"] == (
        "service_completed_successfully"
    )
    assert services["worker"]["command"][0] == "launch"  # the image's ENTRYPOINT is optuna-glo
    assert services["dashboard"]["entrypoint"] == ["optuna-dashboard"]
    # Every variable the compose file reads is documented, and in the example .env.
    text = (ROOT / "docker" / "compose.yaml").read_text()
    used = set(re.findall(r"(?<!\$)\$\{([A-Z_]+)", text))
    docs = (ROOT / "docs" / "multi-node.md").read_text()
    example = (ROOT / "docker" / "example.env").read_text()
    for name in used:
        assert f"`{name}`" in docs, f"{name} is not documented in docs/multi-node.md"
        assert re.search(rf"^{name}=", example, re.M), f"{name} is not in docker/example.env"


def test_no_password_on_a_compose_command_line() -> None:
    # Commands build the URL inside the container from $POSTGRES_PASSWORD (escaped as $$).
    for name, service in _compose()["services"].items():
        command = " ".join(service.get("command", []) or [])
        assert "${POSTGRES_PASSWORD" not in command, name


def _example_env() -> dict[str, str]:
    lines = (ROOT / "docker" / "example.env").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


class MissingVariable(Exception):
    """A ``${NAME:?message}`` whose variable is unset or empty: compose refuses to start."""


_VARIABLE = re.compile(r"\$\$|\$\{([A-Z_][A-Z0-9_]*)(?:(:?)([-?])([^}]*))?\}")


def _interpolate(node: Any, env: dict[str, str]) -> Any:
    """The compose file as ``docker compose config`` would see it with ``env`` (the subset of
    compose's interpolation the file uses: ``${X}``, ``${X:-default}``, ``${X:?error}``, ``$$``)."""
    if isinstance(node, dict):
        return {key: _interpolate(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolate(value, env) for value in node]
    if not isinstance(node, str):
        return node

    def one(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, colon, kind, arg = match.groups()
        value = env.get(name)
        missing = value is None or (colon == ":" and value == "")
        if kind == "?" and missing:
            raise MissingVariable(f"{name}: {arg}")
        if kind == "-" and missing:
            return arg
        return value or ""

    return _VARIABLE.sub(one, node)


def _strings(node: Any, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], str]]:
    """Every string of the file, with its path."""
    if isinstance(node, dict):
        return [item for key, value in node.items() for item in _strings(value, (*path, key))]
    if isinstance(node, list):
        return [item for value in node for item in _strings(value, path)]
    return [(path, node)] if isinstance(node, str) else []


def test_the_example_password_fails_the_required_variable_check() -> None:
    env = _example_env()
    assert env["POSTGRES_PASSWORD"] == ""
    with pytest.raises(MissingVariable, match="POSTGRES_PASSWORD: set POSTGRES_PASSWORD in"):
        _interpolate(_compose(), env)
    text = (ROOT / "docker" / "compose.yaml").read_text()
    uses = re.findall(r"\$\{POSTGRES_PASSWORD([^}]*)\}", text)
    assert uses and all(use.startswith(":?") for use in uses), uses


def test_the_password_reaches_no_command_line_only_the_environment() -> None:
    secret = "pw-Zq81-never-in-argv"
    compose = _interpolate(_compose(), {**_example_env(), "POSTGRES_PASSWORD": secret})
    where = {path for path, text in _strings(compose) if secret in text}
    allowed = {"PGPASSWORD", "POSTGRES_PASSWORD"}
    assert where and all(path[-2:-1] == ("environment",) and path[-1] in allowed for path in where)
    for name, service in compose["services"].items():
        # Exec form only: no shell that could assemble a URL on a command line.
        entrypoint = service.get("entrypoint") or []
        assert not {"sh", "bash", "-c"} & set(entrypoint), name
        assert isinstance(service.get("command", []), list), name
    storage = compose["services"]["worker"]["environment"]["OPTUNA_STORAGE"]
    assert storage == "postgresql+psycopg2://optuna@postgres:5432/optuna?pool_size=3"


@pytest.mark.parametrize(("bind", "address"), [(None, "127.0.0.1"), ("0.0.0.0", "0.0.0.0")])
def test_published_ports_are_local_unless_the_user_opts_in(bind: str | None, address: str) -> None:
    env = {**_example_env(), "POSTGRES_PASSWORD": "x"}
    env.pop("BIND_ADDRESS")
    if bind is not None:
        env["BIND_ADDRESS"] = bind
    services = _interpolate(_compose(), env)["services"]
    published = [port for service in services.values() for port in service.get("ports", [])]
    assert sorted(published) == sorted([f"{address}:5432:5432", f"{address}:8080:8080"])
    assert _example_env()["BIND_ADDRESS"] == "127.0.0.1"


def test_docker_env_is_ignored_by_git_and_kept_out_of_the_image() -> None:
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", "-q", "docker/.env"], cwd=ROOT, check=False
    )
    assert ignored.returncode == 0, "docker/.env (which holds the password) is not git-ignored"
    assert "docker/.env" in (ROOT / ".dockerignore").read_text().split()


def test_dockerfile_installs_as_the_docs_say() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["optuna-glo"]' in dockerfile
    install = re.search(r"^RUN python3 -m pip install (.+)$", dockerfile, re.M)
    assert install is not None
    docs = (ROOT / "docs" / "multi-node.md").read_text()
    assert f"pip install {install.group(1)}" in docs
    # The files the image copies exist, and .dockerignore keeps the virtualenv out.
    for src in re.findall(r"^COPY (.+) \S+$", dockerfile, re.M):
        for path in src.split():
            assert (ROOT / path).exists(), path
    assert ".venv" in (ROOT / ".dockerignore").read_text().split()
