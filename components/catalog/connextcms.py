"""ConnextCMS: the site, its accounts and the device registry's web side, behind Nginx."""

from __future__ import annotations

from components.catalog import mongodb, openbazaar
from components.catalog.model import (
    NODE_UID,
    DataVolume,
    Exposure,
    Limits,
    Rollout,
    Secret,
    SecretSource,
    ServiceSpec,
    StackValues,
    address,
    image_healthcheck,
    single_port,
)

NAME = "connextcms"
PORT = 3000
ADDRESS = address(NAME, PORT)
SERVICE_TOKEN = Secret("CMS_SERVICE_TOKEN", SecretSource.GENERATED)
"""What the stack's own services present to the CMS's service routes."""


def service(values: StackValues) -> ServiceSpec:
    return ServiceSpec(
        NAME,
        "ConnextCMS (KeystoneJS 4) with the P2P VPS site template",
        limits=Limits(memory_mb=512, pids=128),
        build="connextcms",
        healthcheck=image_healthcheck(start_period_s=180),
        ports=(single_port("KeystoneJS", PORT, Exposure.INTERNAL),),
        volumes=(DataVolume("connextcms", "/data", owner_uid=NODE_UID),),
        log_owner_uid=NODE_UID,
        env=(
            ("PORT", str(PORT)),
            ("SITE_DOMAIN", values.domain),
            ("MONGO_HOST", mongodb.NAME),
            ("MONGO_PORT", str(mongodb.PORT)),
            ("MONGO_DB", mongodb.APP_DB),
            ("MONGO_USER", mongodb.APP_USER),
            ("MONGO_PASSWORD", mongodb.APP_PASSWORD),
            ("COOKIE_SECRET", Secret("CMS_COOKIE_SECRET", SecretSource.GENERATED)),
            ("CMS_ADMIN_PASSWORD", Secret("CMS_ADMIN_PASSWORD", SecretSource.GENERATED)),
            ("CMS_SERVICE_TOKEN", SERVICE_TOKEN),
            ("ADMIN_EMAIL", values.acme_email),
            ("SSH_SERVER_PORT", str(values.tunnels.ssh_server)),
            ("SSH_TUNNEL_PORTS", str(values.tunnels.ssh_tunnels)),
            *openbazaar.client_env(),
        ),
        depends_on=(mongodb.NAME,),
        rollout=Rollout.START_FIRST,
    )
