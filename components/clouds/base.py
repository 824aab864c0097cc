"""What a cloud is to the program: the names it accepts, how certbot writes its DNS records, and how
it builds a server. Each cloud is one module of this package, registered in `components.clouds`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pulumi

if TYPE_CHECKING:
    from components.backup_storage import BackupStorage
    from components.hosts.remote import RemoteHost
    from components.monitoring import Monitoring
    from components.ports import PublicPort
    from components.settings import ServerSettings, Settings

CERTBOT_VERSION = "v4.0.0"
# The Ubuntu LTS releases a server may run, by version, with their code names.
UBUNTU_RELEASES = {"24.04": "noble", "26.04": "resolute"}
# Vultr's plan ids have the shape of DigitalOcean size slugs; DigitalOcean refuses them by name.
VULTR_PLAN = r"(vc2|vhf|vhp|voc|vcg|vbm)-[a-z0-9-]+"


@dataclass(frozen=True)
class CloudProfile:
    """What a cloud accepts: the shapes of its region and size names and what it can do."""

    label: str
    region: re.Pattern[str]
    region_example: str
    size: re.Pattern[str]
    size_example: str
    default_size: str
    dns_token_for: str | None
    """What p2pvps:dnsToken must be on this cloud; None when the cloud makes certbot's key itself."""
    supports_ipv6: bool = True
    refused_size: re.Pattern[str] | None = None
    refused_size_reason: str = ""


@dataclass(frozen=True)
class DnsChallenge:
    """How certbot answers the *.lt DNS-01 challenge on a cloud: its plugin and image, and the
    environment variables it reads its credentials from (the cloud's host supplies each one)."""

    plugin: str
    certbot_image: str
    credentials: tuple[str, ...]


def certbot_image(name: str) -> str:
    """An image of the certbot project at the pinned version."""
    return f"certbot/{name}:{CERTBOT_VERSION}"


class ServerComponent(Protocol):
    """A cloud's component that builds the server for a stack and exposes it as `host`."""

    host: RemoteHost

    def __init__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None: ...


@dataclass(frozen=True)
class Cloud:
    """One cloud: its profile and DNS challenge, the component that builds its server, where its
    stacks keep their backups, and how it watches them."""

    profile: CloudProfile
    dns_challenge: DnsChallenge
    server_component: type[ServerComponent]
    backup_storage: BackupStorage
    monitoring: Monitoring

    def provision(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions,
    ) -> RemoteHost:
        """The server with its address, firewall, data volume and DNS, and the gate that waits for it."""
        return self.server_component(name, settings, server, perimeter, opts=opts).host
