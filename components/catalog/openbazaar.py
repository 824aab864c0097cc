"""OpenBazaar: the store's listings and payments; its swarm port is public, its API internal."""

from __future__ import annotations

from components.catalog.model import (
    NODE_UID,
    DataVolume,
    EnvValue,
    Exposure,
    Limits,
    Secret,
    SecretSource,
    ServiceSpec,
    address,
    image_healthcheck,
    single_port,
)
from components.ports import OPENBAZAAR_SWARM_PORT

NAME = "openbazaar"
API_PORT = 4002
API_USER = "p2pvps"


def client_env() -> tuple[tuple[str, EnvValue], ...]:
    """How the CMS and the Listing-Manager reach the OpenBazaar API."""
    return (
        ("OB_URL", f"http://{address(NAME, API_PORT)}"),
        ("OB_USERNAME", API_USER),
        ("OB_PASSWORD", Secret("OB_API_PASSWORD", SecretSource.GENERATED)),
    )


def service() -> ServiceSpec:
    return ServiceSpec(
        NAME,
        "OpenBazaar store: listings and payments",
        limits=Limits(memory_mb=768, pids=256),
        build="openbazaar",
        healthcheck=image_healthcheck(),
        ports=(
            single_port("OpenBazaar swarm", OPENBAZAAR_SWARM_PORT, Exposure.PUBLIC),
            single_port("OpenBazaar API", API_PORT, Exposure.INTERNAL),
        ),
        volumes=(DataVolume("openbazaar", "/var/lib/openbazaar", owner_uid=NODE_UID),),
        log_owner_uid=NODE_UID,
        env=(
            ("OB_API_USERNAME", API_USER),
            ("OB_API_PASSWORD_SHA256", Secret("OB_API_PASSWORD_SHA256", SecretSource.DERIVED)),
        ),
    )
