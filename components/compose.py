"""Renders the catalog as a Compose file: the same stack without Pulumi (no lock-in, local sandbox).

`python -m components.compose` rewrites the generated files under compose/; a test fails when
they drift from the catalog.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from components.catalog import (
    COMPOSE_DIR,
    Exposure,
    Secret,
    ServiceSpec,
    backup,
    build_catalog,
    data_volumes,
    needed_secrets,
    nginx,
)
from components.compose_values import compose_values, template_values
from components.prepare_dirs import prepare_script
from components.runtime import (
    LOG_DRIVER,
    LOG_OPTIONS,
    NETWORK_NAME,
    STOP_GRACE_SECONDS,
    HostDirs,
    Privilege,
    volume_name,
)

# Services that start only with their profile (`docker compose --profile backup up`): backups need
# a repository, which the compose file cannot create.
PROFILES = {backup.NAME: "backup"}
HEADER = "# Generated from components/catalog/ by `python -m components.compose`; do not edit.\n"
DATA_DIR = "${P2PVPS_DATA_DIR:?set P2PVPS_DATA_DIR in .env}"
LOG_DIR = "${P2PVPS_LOG_DIR:?set P2PVPS_LOG_DIR in .env}"
BIND_ADDRESS = "${P2PVPS_BIND_ADDRESS:-0.0.0.0}"
PREPARE_PREAMBLE = """\
# Creates the data and log directories with the owners the containers need. Run it as root, once,
# after filling in .env: it reads P2PVPS_DATA_DIR and P2PVPS_LOG_DIR from the .env next to it.
env_file="$(dirname "$0")/.env"
if [ -f "$env_file" ]; then
  set -a
  # shellcheck source=/dev/null
  . "$env_file"
  set +a
fi
"""


def _variable(secret: Secret) -> str:
    if secret.required:
        return f"${{{secret.name}:?set {secret.name} in .env}}"
    return f"${{{secret.name}:-}}"


def _ports(spec: ServiceSpec) -> list[str]:
    return [
        f"{BIND_ADDRESS}:{rule.ports}:{rule.ports}" + ("" if rule.protocol == "tcp" else f"/{rule.protocol}")
        for rule in spec.ports
        if rule.exposure is Exposure.PUBLIC
    ]


def _mounts(spec: ServiceSpec) -> list[str]:
    mounts = [f"{volume.name}:{volume.target}" + (":ro" if volume.read_only else "") for volume in spec.volumes]
    mounts.append(f"{LOG_DIR}/{spec.name}:{spec.log_path}")
    mounts += [f"{item.compose_source}:{item.compose_target or item.target}:ro" for item in spec.files]
    return mounts


def _service(spec: ServiceSpec) -> dict[str, Any]:
    check = spec.healthcheck
    entry: dict[str, Any] = {}
    if spec.build:
        entry["build"] = {"context": ".", "dockerfile": f"{spec.build}/Dockerfile"}
        entry["image"] = f"p2pvps/{spec.name}:local"
    else:
        entry["image"] = spec.image
    entry["container_name"] = spec.container_name
    entry["hostname"] = spec.name
    if spec.name in PROFILES:
        entry["profiles"] = [PROFILES[spec.name]]
    if spec.entrypoint:
        entry["entrypoint"] = list(spec.entrypoint)
    if spec.command:
        entry["command"] = list(spec.command)
    entry["environment"] = {key: value if isinstance(value, str) else _variable(value) for key, value in spec.env}
    if ports := _ports(spec):
        entry["ports"] = ports
    entry["volumes"] = _mounts(spec)
    entry["networks"] = {NETWORK_NAME: {"aliases": [spec.name]}}
    if spec.capabilities is not None:
        entry["cap_drop"] = ["ALL"]
        entry["cap_add"] = list(spec.capabilities)
    if spec.tmpfs:
        entry["tmpfs"] = list(spec.tmpfs)
    if spec.depends_on:
        entry["depends_on"] = {name: {"condition": "service_healthy"} for name in spec.depends_on}
    entry["restart"] = "unless-stopped"
    entry["stop_grace_period"] = f"{STOP_GRACE_SECONDS}s"
    entry["healthcheck"] = {
        "test": ["CMD", *check.test],
        "interval": f"{check.interval_s}s",
        "timeout": f"{check.timeout_s}s",
        "retries": check.retries,
        "start_period": f"{check.start_period_s}s",
    }
    entry["logging"] = {"driver": LOG_DRIVER, "options": dict(LOG_OPTIONS)}
    entry["mem_limit"] = f"{spec.limits.memory_mb}m"
    entry["memswap_limit"] = f"{spec.limits.memory_swap_mb}m"
    entry["pids_limit"] = spec.limits.pids
    return entry


def render_compose(catalog: tuple[ServiceSpec, ...]) -> str:
    document = {
        "services": {spec.name: _service(spec) for spec in catalog},
        "networks": {NETWORK_NAME: {"name": NETWORK_NAME, "driver": "bridge"}},
        "volumes": {
            volume.name: {
                "name": volume_name(volume.name),
                "driver": "local",
                "driver_opts": {"type": "none", "o": "bind", "device": f"{DATA_DIR}/{volume.name}"},
            }
            for volume in data_volumes(catalog)
        },
    }
    return HEADER + yaml.safe_dump(document, sort_keys=False, width=1000)


def render_env_example(catalog: tuple[ServiceSpec, ...]) -> str:
    """Every variable the compose file reads, secrets blank, with a line saying what each is."""
    lines = [
        HEADER.rstrip(),
        "# Copy to .env next to docker-compose.yml and fill in. Run ./prepare-host.sh once first.",
        "P2PVPS_DOMAIN=p2pvps.localhost",
        "# The tunnels' own registrable domain (lt.<it>, *.lt.<it>), or the same as P2PVPS_DOMAIN.",
        "P2PVPS_TUNNEL_DOMAIN=p2pvps.localhost",
        "ACME_EMAIL=admin@example.com",
        "ACME_STAGING=true",
        "# Where state and logs live on this machine (absolute paths).",
        "P2PVPS_DATA_DIR=/srv/p2pvps",
        "P2PVPS_LOG_DIR=/home/p2pvps/.p2pvps/logs",
        "# 127.0.0.1 for a local sandbox.",
        "P2PVPS_BIND_ADDRESS=0.0.0.0",
        "# The one CIDR that reaches the CMS's admin UI (/keystone), dashboard and admin APIs through Nginx.",
        "# 127.0.0.1/32 lets nobody in: Docker hands Nginx even this machine's connections from the",
        "# p2pvps network's gateway. Put your own address here, or that gateway for this machine only",
        "# (docker network inspect p2pvps --format '{{(index .IPAM.Config 0).Gateway}}').",
        "P2PVPS_ADMIN_CIDRS=127.0.0.1/32",
        "# Secrets: long random letters and digits; OB_API_PASSWORD_SHA256 is the hex SHA-256 of",
        '# OB_API_PASSWORD (printf %s "$OB_API_PASSWORD" | sha256sum). BACKUP_*: only for the backup',
        "# profile: an S3 restic repository (s3:https://<endpoint>/<bucket>/<path>), its password and key.",
    ]
    lines += [f"{secret.name}=" for secret in needed_secrets(catalog)]
    return "\n".join(lines) + "\n"


def generated_files() -> dict[Path, str]:
    """Every file this module writes under compose/, by path relative to compose/."""
    catalog = build_catalog(compose_values())
    dirs = HostDirs(data_dir="${P2PVPS_DATA_DIR:?}", log_root="${P2PVPS_LOG_DIR:?}")
    return {
        Path("docker-compose.yml"): render_compose(catalog),
        Path(".env.example"): render_env_example(catalog),
        Path("prepare-host.sh"): "#!/bin/sh\n"
        + HEADER
        + PREPARE_PREAMBLE
        + prepare_script(catalog, dirs, Privilege.ROOT),
        Path(nginx.COMPOSE_TEMPLATE): nginx.site_config(template_values()),
    }


def write_generated_files() -> None:
    for relative, text in generated_files().items():
        path = COMPOSE_DIR / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        if path.suffix == ".sh":
            path.chmod(0o755)


if __name__ == "__main__":
    write_generated_files()
