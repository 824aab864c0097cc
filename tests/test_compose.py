"""compose/: generated from the same catalog, committed, and accepted by both Compose validators."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
import yaml

from components import catalog as services
from components.catalog import COMPOSE_DIR
from components.compose import compose_values, generated_files
from tools import require, run, shellcheck

COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
REQUIRED_VARIABLES = {
    "P2PVPS_DOMAIN": "p2pvps.example.com",
    "ACME_EMAIL": "ops@example.com",
    "P2PVPS_DATA_DIR": "/srv/p2pvps",
    "P2PVPS_LOG_DIR": "/home/p2pvps/.p2pvps/logs",
}


def compose_environment() -> dict[str, str]:
    secrets = {secret.name: "x" * 32 for secret in services.secrets(services.build_catalog(compose_values()))}
    return {"PATH": os.environ["PATH"]} | REQUIRED_VARIABLES | secrets


@pytest.mark.parametrize("relative", sorted(generated_files(), key=str), ids=str)
def test_generated_file_matches_the_catalog(relative: Path) -> None:
    committed = COMPOSE_DIR / relative
    assert committed.exists(), f"run `python -m components.compose` and commit {relative}"
    assert committed.read_text() == generated_files()[relative], (
        f"compose/{relative} drifted from components/; run `python -m components.compose`"
    )


def test_compose_services_are_the_catalog_services() -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    catalog = services.build_catalog(compose_values())
    assert list(document["services"]) == [service.name for service in catalog]
    for name, service in document["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert "healthcheck" in service, name
        assert service["logging"]["driver"] == "local", name


def test_secrets_are_only_variables_in_the_compose_file() -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    secret_names = {secret.name for secret in services.secrets(services.build_catalog(compose_values()))}
    for name, service in document["services"].items():
        for key, value in service["environment"].items():
            if value is not None and any(f"${{{secret}" in str(value) for secret in secret_names):
                assert str(value).startswith("${"), f"{name}.{key}"


def test_docker_compose_accepts_the_file() -> None:
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"], env=compose_environment())
    assert result.returncode == 0, result.stderr


def test_docker_compose_refuses_a_missing_secret() -> None:
    environment = compose_environment()
    del environment["MONGO_ROOT_PASSWORD"]
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"], env=environment)
    assert result.returncode != 0
    assert "MONGO_ROOT_PASSWORD" in result.stderr


def test_compose_spec_schema_accepts_the_file() -> None:
    result = run([require("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("restart: unless-stopped", "restrat: unless-stopped", 1))
    result = run([require("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)])
    assert result.returncode != 0


def test_prepare_host_script_creates_owned_directories(tmp_path: Path) -> None:
    script = COMPOSE_DIR / "prepare-host.sh"
    assert shellcheck(script.read_text()).returncode == 0
    environment = os.environ | {"P2PVPS_DATA_DIR": str(tmp_path / "data"), "P2PVPS_LOG_DIR": str(tmp_path / "logs")}
    subprocess.run([str(script)], env=environment, check=True)
    mongo = (tmp_path / "data" / "mongodb").stat()
    assert (mongo.st_uid, oct(mongo.st_mode & 0o777)) == (999, "0o750")
    assert oct((tmp_path / "data" / "acme-webroot").stat().st_mode & 0o777) == "0o755"
    assert (tmp_path / "logs" / "connextcms").stat().st_uid == 1000
