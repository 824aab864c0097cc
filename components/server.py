"""P2pVpsServer: the whole P2P VPS server of one stack."""

from __future__ import annotations

import pulumi

from components import catalog as services
from components.docker_stack import ContainerStack
from components.hosts import create_host
from components.secrets import stack_secrets
from components.settings import Settings


class P2pVpsServer(pulumi.ComponentResource):
    """Host (VPS, stable address, firewall, data volume, DNS, readiness gate) and the container stack on it."""

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("p2pvps:index:Server", name, None, opts)
        catalog = services.build_catalog(services.stack_values(settings))
        self.perimeter = services.public_ports(catalog)
        host = create_host(
            f"{name}-host",
            settings,
            self.perimeter,
            opts=pulumi.ResourceOptions(parent=self),
        )
        secrets = stack_secrets(
            f"{name}-secret", settings, services.secrets(catalog), host.dns_credentials, parent=self
        )
        self.stack = ContainerStack(f"{name}-stack", catalog, host, secrets, opts=pulumi.ResourceOptions(parent=self))
        self.address: pulumi.Output[str] | str = host.ssh.address if host.ssh else "127.0.0.1"
        self.ssh_command: pulumi.Output[str] | None = (
            pulumi.Output.concat("ssh ", host.ssh.user, "@", host.ssh.address) if host.ssh else None
        )
        self.site_url = f"https://{settings.domain}/"
        self.cms_admin_password = secrets["CMS_ADMIN_PASSWORD"]
        self.register_outputs({"address": self.address, "siteUrl": self.site_url})
