"""compose/: generated from the same catalog, committed, and accepted by both Compose validators."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
import yaml

from components.catalog import COMPOSE_DIR, Secret, build_catalog, needed_secrets
from components.compose import generated_files
from components.compose_values import compose_values
from tools import require, run, shellcheck

pytestmark = pytest.mark.tools

COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
REQUIRED_VARIABLES = {
    "P2PVPS_DOMAIN": "p2pvps.example.com",
    "P2PVPS_TUNNEL_DOMAIN": "p2pvps.example.com",
    "ACME_EMAIL": "ops@example.com",
    "P2PVPS_DATA_DIR": "/srv/p2pvps",
    "P2PVPS_LOG_DIR": "/home/p2pvps/.p2pvps/logs",
    "P2PVPS_ADMIN_CIDRS": "203.0.113.7/32",
}


def compose_environment() -> dict[str, str]:
    values = {secret.name: "x" * 32 for secret in needed_secrets(build_catalog(compose_values()))}
    return {"PATH": os.environ["PATH"]} | REQUIRED_VARIABLES | values


@pytest.mark.parametrize("relative", sorted(generated_files(), key=str), ids=str)
def test_generated_file_matches_the_catalog(relative: Path) -> None:
    committed = COMPOSE_DIR / relative
    assert committed.exists(), f"run `python -m components.compose` and commit {relative}"
    assert committed.read_text() == generated_files()[relative], (
        f"compose/{relative} drifted from components/; run `python -m components.compose`"
    )


def test_compose_services_are_the_catalog_services() -> None:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    catalog = build_catalog(compose_values())
    assert list(document["services"]) == [service.name for service in catalog]
    for name, service in document["services"].items():
        assert service["restart"] == "unless-stopped", name
        assert "healthcheck" in service, name
        assert service["logging"]["driver"] == "local", name


def test_secrets_are_only_variables_in_the_compose_file() -> None:
    """Every secret the catalog hands a service is a `${NAME:...}` reference to .env, never a value."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    checked = 0
    for spec in build_catalog(compose_values()):
        environment = document["services"][spec.name]["environment"]
        for key, value in spec.env:
            if isinstance(value, Secret):
                assert environment[key] in (f"${{{value.name}:?set {value.name} in .env}}", f"${{{value.name}:-}}")
                checked += 1
    assert checked >= 8


def test_docker_compose_accepts_the_file() -> None:
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"], env=compose_environment())
    assert result.returncode == 0, result.stderr


def test_docker_compose_needs_no_backup_repository_without_the_backup_profile() -> None:
    environment = {key: value for key, value in compose_environment().items() if not key.startswith("BACKUP_")}
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"], env=environment)
    assert result.returncode == 0, result.stderr


def test_every_image_builds_from_compose_with_its_own_dockerfile() -> None:
    """Images share compose/shared/, so each is built with compose/ as context (its .dockerignore
    admits only the image directories) and the Dockerfile of its own directory."""
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config"], env=compose_environment())
    assert result.returncode == 0, result.stderr
    builds = {
        name: service["build"]
        for name, service in yaml.safe_load(result.stdout)["services"].items()
        if "build" in service
    }
    assert sorted(builds) == sorted(spec.name for spec in build_catalog(compose_values()) if spec.build)
    for name, build in builds.items():
        assert Path(build["context"]) == COMPOSE_DIR, name
        assert (COMPOSE_DIR / build["dockerfile"]).resolve() == COMPOSE_DIR / name / "Dockerfile", name


def test_docker_compose_refuses_a_missing_secret() -> None:
    environment = compose_environment()
    del environment["MONGO_ROOT_PASSWORD"]
    result = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config", "-q"], env=environment)
    assert result.returncode != 0
    assert "MONGO_ROOT_PASSWORD" in result.stderr


def test_every_compose_service_has_the_catalogs_limits() -> None:
    """`docker-compose config` resolves every service's memory, swap and process ceilings from the catalog."""
    resolved = run([require("docker-compose"), "-f", str(COMPOSE_FILE), "config"], env=compose_environment())
    assert resolved.returncode == 0, resolved.stderr
    document = yaml.safe_load(resolved.stdout)
    for spec in build_catalog(compose_values()):
        service = document["services"][spec.name]
        limits = spec.limits
        assert (service["mem_limit"], service["memswap_limit"], service["pids_limit"]) == (
            f"{limits.memory_mb}m",
            f"{2 * limits.memory_mb}m",
            limits.pids,
        ), spec.name
        grace = service.get("stop_grace_period", "0s")
        assert grace.endswith("s") and int(grace.removesuffix("s")) >= 10, spec.name


def test_compose_spec_schema_accepts_the_file() -> None:
    result = run([require("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(COMPOSE_FILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_schema_check_can_fail(tmp_path: Path) -> None:
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(COMPOSE_FILE.read_text().replace("restart: unless-stopped", "restrat: unless-stopped", 1))
    result = run([require("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(broken)])
    assert result.returncode != 0


def prepared_host(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """The generated script beside a filled-in .env, as the README has the user set it up."""
    script = tmp_path / "prepare-host.sh"
    shutil.copy(COMPOSE_DIR / "prepare-host.sh", script)
    (tmp_path / ".env").write_text(f"P2PVPS_DATA_DIR={tmp_path}/state/data\nP2PVPS_LOG_DIR={tmp_path}/state/logs\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("P2PVPS_")}
    return script, environment


def test_prepare_host_script_reads_env_and_creates_owned_directories(tmp_path: Path) -> None:
    assert shellcheck((COMPOSE_DIR / "prepare-host.sh").read_text()).returncode == 0
    script, environment = prepared_host(tmp_path)
    subprocess.run([str(script)], env=environment, check=True)
    data = tmp_path / "state" / "data"
    mongo = (data / "mongodb").stat()
    assert (mongo.st_uid, oct(mongo.st_mode & 0o777)) == (999, "0o750")
    assert oct((data / "acme-webroot").stat().st_mode & 0o777) == "0o755"
    assert (tmp_path / "state" / "logs" / "connextcms").stat().st_uid == 1000


def test_prepare_host_script_refuses_to_run_without_root_rather_than_open_directories() -> None:
    with tempfile.TemporaryDirectory(prefix="p2pvps-prepare-") as directory:
        base = Path(directory)
        base.chmod(0o755)
        script, environment = prepared_host(base)
        environment |= {"P2PVPS_DATA_DIR": f"{base}/state/data", "P2PVPS_LOG_DIR": f"{base}/state/logs"}
        (base / "state").mkdir()
        (base / "state").chmod(0o777)
        nobody = run(
            [require("setpriv"), "--reuid=65534", "--regid=65534", "--clear-groups", str(script)], env=environment
        )
        assert nobody.returncode != 0
        assert "Operation not permitted" in nobody.stderr
        world_writable = [p for p in (base / "state").rglob("*") if p.is_dir() and p.stat().st_mode & 0o002]
        assert world_writable == []
