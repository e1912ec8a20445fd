"""docker/: what can be checked without Docker (it cannot run on the project's machines)."""

from __future__ import annotations

import re
from pathlib import Path

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
    assert "optuna-glo launch" in services["worker"]["command"][0]
    assert "optuna-dashboard" in services["dashboard"]["command"][0]
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
