"""The typed settings of one stack, as the rest of the program sees them."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.ports import PortRange

NAMESPACE = "p2pvps"


@dataclass(frozen=True)
class AdminAccess:
    """Who may administer the server and from where."""

    user: str
    cidrs: tuple[str, ...]
    ssh_public_keys: tuple[str, ...]


@dataclass(frozen=True)
class TunnelPorts:
    """Public ports of the two tunnel services."""

    ssh_server: int
    ssh_tunnels: PortRange
    localtunnel_clients: PortRange


@dataclass(frozen=True)
class SecretSettings:
    """Secret settings, as secret Outputs from the moment they are read."""

    dns_token: pulumi.Output[str] | None = None
    ssh_tunnel_password: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Retention:
    """How many snapshots `restic forget` keeps: the last of each day, week and month."""

    daily: int
    weekly: int
    monthly: int


@dataclass(frozen=True)
class RepositoryAccess:
    """A restic repository the stack did not create: its URL and, as secret Outputs, its password and S3 key."""

    url: str
    password: pulumi.Output[str] | None
    access_key_id: pulumi.Output[str] | None
    secret_access_key: pulumi.Output[str] | None


@dataclass(frozen=True)
class BackupSettings:
    """Scheduled backups, where they go, and the repository a new stack is restored from."""

    enabled: bool
    interval_hours: int
    retention: Retention
    repository: RepositoryAccess | None
    """An existing repository to back up to; None: the program makes one (the cloud's object storage, or a
    directory on the local machine)."""
    restore_from: RepositoryAccess | None


@dataclass(frozen=True)
class MonitoringSettings:
    """Whether the cloud watches the stack from outside, and who hears about trouble."""

    enabled: bool
    alert_email: str


@dataclass(frozen=True)
class ImageRegistry:
    """Where the project's images are pulled from by their content tag, instead of being built on the host."""

    repository: str
    """`<registry host>/<path>`, e.g. ghcr.io/<owner>/p2pvps: an image is `<repository>/<service>:<tag>`."""
    username: pulumi.Output[str] | None
    password: pulumi.Output[str] | None
    """Both secret Outputs, or both None (an anonymous pull of public images)."""

    @property
    def address(self) -> str:
        """The registry host Docker logs into."""
        return self.repository.split("/", 1)[0]


@dataclass(frozen=True)
class ServerSettings:
    """The server a cloud builds: where, how big, on which Ubuntu, who administers it."""

    cloud: str
    region: str
    size: str
    ubuntu_version: str
    admin: AdminAccess
    volume_size_gb: int
    ipv6: bool
    create_dns_zone: bool
    reboot_time: str | None
    """When unattended upgrades may reboot the server (HH:MM, the server's clock); None: never."""


@dataclass(frozen=True)
class LocalSettings:
    """The stack on your own Docker: there is no server to choose."""


@dataclass(frozen=True)
class Settings:
    """One stack's validated settings; nothing else in the program reads configuration."""

    project: str
    stack: str
    domain: str
    tunnel_domain: str
    admin_email: str
    acme_staging: bool
    tunnels: TunnelPorts
    secret_settings: SecretSettings
    target: ServerSettings | LocalSettings
    backup: BackupSettings
    monitoring: MonitoringSettings
    image_registry: ImageRegistry | None
    """None: every project image is built on the host."""

    @property
    def resource_prefix(self) -> str:
        """Prefix of cloud-side names, unique per stack: `p2pvps-<stack>`."""
        return f"{self.project}-{self.stack}"
