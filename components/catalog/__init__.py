"""The P2P VPS services, described once: the model (`model`), one module per service, and the
views derived from them (`views`).

The firewall, the host's log directories, the Pulumi Docker resources and
`compose/docker-compose.yml` are all rendered from `build_catalog`. Values that differ per stack
come in through `StackValues`; for the compose file they are `${VARIABLE}` placeholders.
"""

from __future__ import annotations

from components.catalog import (
    backup,
    certbot,
    connextcms,
    listing_manager,
    localtunnel,
    mongodb,
    nginx,
    openbazaar,
    ssh_server,
)
from components.catalog.model import (
    COMPOSE_DIR,
    BackupValues,
    DataVolume,
    Exposure,
    Rollout,
    Secret,
    SecretSource,
    ServiceSpec,
    StackValues,
)
from components.catalog.views import data_volumes, needed_secrets, public_ports

__all__ = [
    "COMPOSE_DIR",
    "BackupValues",
    "DataVolume",
    "Exposure",
    "Rollout",
    "Secret",
    "SecretSource",
    "ServiceSpec",
    "StackValues",
    "build_catalog",
    "data_volumes",
    "needed_secrets",
    "public_ports",
    "restore_steps",
]


def build_catalog(values: StackValues) -> tuple[ServiceSpec, ...]:
    """Every container of the stack, each after the ones it depends on; certbot only where certificates are
    issued, the backup service only where backups are on."""
    certificates = (certbot.service(values),) if values.issues_certificates else ()
    services = (
        nginx.service(values),
        *certificates,
        mongodb.service(),
        connextcms.service(values),
        openbazaar.service(),
        listing_manager.service(values),
        ssh_server.service(values),
        localtunnel.service(values),
    )
    if values.backup is None:
        return services
    return (*services, backup.service(values.backup, services))


def restore_steps(values: StackValues, catalog: tuple[ServiceSpec, ...]) -> tuple[ServiceSpec, ...]:
    """The one-shot runs that restore a new stack before its services start; none without `restoreFrom`."""
    if values.backup is None or not values.backup.restores:
        return ()
    others = tuple(spec for spec in catalog if spec.name != backup.NAME)
    (service,) = (spec for spec in catalog if spec.name == backup.NAME)
    return backup.restore_steps(service, others)
