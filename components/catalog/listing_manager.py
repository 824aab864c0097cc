"""Listing-Manager: fulfils OpenBazaar orders with tunnel logins and delists offline devices."""

from __future__ import annotations

from components.catalog import connextcms, openbazaar
from components.catalog.model import (
    NODE_UID,
    Exposure,
    Limits,
    Rollout,
    ServiceSpec,
    StackValues,
    image_healthcheck,
    single_port,
)

NAME = "listing-manager"
PORT = 3434


def service(values: StackValues) -> ServiceSpec:
    return ServiceSpec(
        NAME,
        "Fulfils OpenBazaar orders with tunnel logins; delists offline devices",
        limits=Limits(memory_mb=256, pids=64),
        build="listing-manager",
        healthcheck=image_healthcheck(),
        ports=(single_port("Listing-Manager", PORT, Exposure.INTERNAL),),
        log_owner_uid=NODE_UID,
        env=(
            ("SERVER_URL", f"http://{connextcms.ADDRESS}"),
            ("CMS_SERVICE_TOKEN", connextcms.SERVICE_TOKEN),
            ("P2PVPS_HOST", values.domain),
            *openbazaar.client_env(),
        ),
        depends_on=(connextcms.NAME, openbazaar.NAME),
        rollout=Rollout.START_FIRST,
    )
