"""P2pVpsServer: the whole P2P VPS server of one stack."""

from __future__ import annotations

import pulumi

from components.catalog import build_catalog, public_ports
from components.hosts import create_host
from components.settings import Settings


class P2pVpsServer(pulumi.ComponentResource):
    """Host (VPS, stable address, firewall, data volume, DNS, readiness gate) for one stack."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("p2pvps:index:Server", name, None, opts)
        catalog = build_catalog(settings)
        self.perimeter = public_ports(catalog)
        host = create_host(
            f"{name}-host",
            settings,
            self.perimeter,
            tuple(service.name for service in catalog),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.address = host.address
        self.ssh_command = pulumi.Output.concat("ssh ", host.admin_user, "@", host.address)
        self.site_url = f"https://{settings.domain}/"
        self.register_outputs({"address": self.address, "sshCommand": self.ssh_command, "siteUrl": self.site_url})
