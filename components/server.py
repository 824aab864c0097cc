"""P2pVpsServer: the whole P2P VPS server of one stack."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.backup_storage import Repository, restore_secrets
from components.catalog import build_catalog, public_ports, restore_steps
from components.docker_stack import ContainerStack
from components.secret_values import secret_values
from components.settings import Settings
from components.targets import backup_repository, provision, stack_values, watch


def backup_exports(repository: Repository) -> dict[str, pulumi.Output[str]]:
    """The repository, its password and key as secret stack outputs: what a new stack's `restoreFrom` needs."""
    return repository.named("backupRepository", "backupPassword", "backupAccessKeyId", "backupSecretAccessKey")


class P2pVpsServer(pulumi.ComponentResource):
    """Host (VPS, stable address, firewall, data volume, DNS, readiness gate), the backup repository,
    the container stack on the host (restored first from `restoreFrom` where it is set), and the
    cloud's monitoring of it."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("p2pvps:index:Server", name, None, opts)
        values = stack_values(settings)
        catalog = build_catalog(values)
        restores = restore_steps(values, catalog)
        self.perimeter = public_ports(catalog)
        child = pulumi.ResourceOptions(parent=self)
        host = provision(f"{name}-host", settings, self.perimeter, opts=child)
        repository = backup_repository(f"{name}-backup", settings, opts=child)
        supplied = dict(host.dns_credentials)
        if repository is not None:
            supplied |= repository.secrets()
        if settings.backup.restore_from is not None:
            supplied |= restore_secrets(settings.backup.restore_from)
        secrets = secret_values(f"{name}-secret", settings, (*catalog, *restores), supplied, parent=self)
        self.stack = ContainerStack(
            f"{name}-stack",
            catalog,
            host,
            secrets,
            one_shots=restores,
            registry=settings.image_registry,
            opts=child,
        )
        # Watched once the stack serves: a first deploy's build minutes raise no "down" alert.
        watch(f"{name}-monitoring", settings, host, pulumi.ResourceOptions(parent=self, depends_on=[self.stack]))
        backup_outputs = {} if repository is None else backup_exports(repository)
        self.outputs: Mapping[str, pulumi.Input[str]] = {
            **host.exports(),
            "siteUrl": f"https://{settings.domain}/",
            "cmsAdminPassword": secrets["CMS_ADMIN_PASSWORD"],
            **backup_outputs,
        }
        self.register_outputs({"address": self.outputs["publicAddress"], "siteUrl": self.outputs["siteUrl"]})
