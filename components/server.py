"""P2pVpsServer: the whole P2P VPS server of one stack."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.catalog import build_catalog, public_ports
from components.docker_stack import ContainerStack
from components.secret_values import secret_values
from components.settings import Settings
from components.targets import provision, stack_values


class P2pVpsServer(pulumi.ComponentResource):
    """Host (VPS, stable address, firewall, data volume, DNS, readiness gate) and the container stack on it."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("p2pvps:index:Server", name, None, opts)
        catalog = build_catalog(stack_values(settings))
        self.perimeter = public_ports(catalog)
        host = provision(f"{name}-host", settings, self.perimeter, opts=pulumi.ResourceOptions(parent=self))
        secrets = secret_values(f"{name}-secret", settings, catalog, host.dns_credentials, parent=self)
        self.stack = ContainerStack(f"{name}-stack", catalog, host, secrets, opts=pulumi.ResourceOptions(parent=self))
        self.outputs: Mapping[str, pulumi.Input[str]] = {
            **host.exports(),
            "siteUrl": f"https://{settings.domain}/",
            "cmsAdminPassword": secrets["CMS_ADMIN_PASSWORD"],
        }
        self.register_outputs({"address": self.outputs["publicAddress"], "siteUrl": self.outputs["siteUrl"]})
