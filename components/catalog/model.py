"""What a service of the stack is: its image, ports, data, logs, environment, files and limits.

Over 200 lines on purpose: one set of small records that every service module and view reads together.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from components.ports import PortRange
from components.settings import TunnelPorts

COMPOSE_DIR = Path(__file__).resolve().parent.parent.parent / "compose"
LOG_DIR_IN_CONTAINER = "/var/log/p2pvps"
# The non-root user the project's node images run as (the node images' "node" user).
NODE_UID = 1000


class Exposure(Enum):
    """How far a container port reaches: the internet (through the firewall) or the stack network only."""

    PUBLIC = "public"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ServicePort:
    purpose: str
    ports: PortRange
    exposure: Exposure
    protocol: str = "tcp"


class Rollout(Enum):
    """How `pulumi up` replaces a changed container."""

    STOP_FIRST = "stop first"
    """the old container is removed before the new one is created: it holds state or publishes host ports"""
    START_FIRST = "start first"
    """the new container is created beside the old one, which is removed only once the new one is healthy"""


class SecretSource(Enum):
    """Where the value of a secret comes from."""

    GENERATED = "generated"
    """made by the program with pulumi_random"""
    DERIVED = "derived"
    """computed from another secret (OpenBazaar's password hash)"""
    CONFIG = "config"
    """a secret setting of the stack (`pulumi config set --secret`)"""
    HOST = "host"
    """supplied by the cloud's host (certbot's DNS credentials)"""
    REPOSITORY = "repository"
    """supplied by a backup repository, the stack's own or the one it is restored from (URL, password, key)"""


@dataclass(frozen=True)
class Secret:
    """A secret the stack supplies; `name` is also its environment variable in the compose file."""

    name: str
    source: SecretSource
    required: bool = True


EnvValue = str | Secret


@dataclass(frozen=True)
class DataVolume:
    """Persistent state on the data volume: `<data dir>/<name>` mounted at `target`."""

    name: str
    target: str
    owner_uid: int = 0
    mode: str = "0750"
    read_only: bool = False

    def read_only_copy(self) -> DataVolume:
        """The same volume, for a service that only reads it."""
        return replace(self, read_only=True)


@dataclass(frozen=True)
class ServiceFile:
    """A file placed in the container: uploaded by Pulumi at `target`; compose mounts `compose_source`."""

    target: str
    content: str
    compose_source: str
    compose_target: str | None = None
    executable: bool = False


@dataclass(frozen=True)
class Healthcheck:
    test: tuple[str, ...]
    interval_s: int = 30
    timeout_s: int = 10
    retries: int = 5
    start_period_s: int = 60


@dataclass(frozen=True)
class Limits:
    """A container's ceilings: memory, the same again in swap, and processes plus threads.

    Ceilings, not reservations: they stop one runaway service (a leak, a fork bomb) from taking the
    whole server; the kernel then ends that container, and Docker restarts it. README.md says how
    each is sized.
    """

    memory_mb: int
    pids: int

    @property
    def memory_swap_mb(self) -> int:
        """Docker's memory + swap total."""
        return 2 * self.memory_mb


@dataclass(frozen=True)
class ServiceSpec:
    """One container of the stack."""

    name: str
    purpose: str
    healthcheck: Healthcheck
    limits: Limits
    image: str | None = None
    build: str | None = None
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    ports: tuple[ServicePort, ...] = ()
    volumes: tuple[DataVolume, ...] = ()
    log_path: str = LOG_DIR_IN_CONTAINER
    log_owner_uid: int = 0
    env: tuple[tuple[str, EnvValue], ...] = ()
    files: tuple[ServiceFile, ...] = ()
    depends_on: tuple[str, ...] = ()
    needs_dns: bool = False
    capabilities: tuple[str, ...] | None = None
    """The only Linux capabilities the container keeps, every other one dropped; None: Docker's default set."""
    tmpfs: tuple[str, ...] = ()
    """Directories kept in memory: volumes the image declares that the service never uses."""
    rollout: Rollout = Rollout.STOP_FIRST

    def __post_init__(self) -> None:
        if self.rollout is Rollout.START_FIRST and any(rule.exposure is Exposure.PUBLIC for rule in self.ports):
            raise ValueError(f"{self.name}: two containers cannot publish the same host port; it must stop first")

    @property
    def container_name(self) -> str:
        """The fixed name; a start-first container adds a digest of its definition (components/docker_service.py)."""
        return f"p2pvps-{self.name}"

    @property
    def build_dir(self) -> Path | None:
        return COMPOSE_DIR / self.build if self.build else None

    def secrets_used(self) -> tuple[Secret, ...]:
        return tuple(value for _, value in self.env if isinstance(value, Secret))


@dataclass(frozen=True)
class BackupValues:
    """What the backup service needs from the stack's settings (strings, as they go into its environment)."""

    interval_hours: str
    keep_daily: str
    keep_weekly: str
    keep_monthly: str
    s3: bool
    """The repository is on S3 (it needs a key); otherwise it is the local `backup-repository` directory."""
    restores: bool = False
    """A new stack restores its data from another repository (`restoreFrom`) before its services start."""


@dataclass(frozen=True)
class StackValues:
    """What the services need from the stack's settings (placeholders when rendering compose)."""

    domain: str
    tunnel_domain: str
    acme_email: str
    acme_staging: str
    hsts_max_age: int
    tunnels: TunnelPorts
    ipv6: bool
    certbot_image: str | None
    dns_plugin: str
    admin_cidrs: tuple[str, ...]
    dns_credentials: tuple[tuple[str, Secret], ...] = field(default=())
    backup: BackupValues | None = None

    @property
    def issues_certificates(self) -> bool:
        return self.certbot_image is not None


def address(service: str, port: int) -> str:
    """`service:port` on the stack network, where every service answers to its name."""
    return f"{service}:{port}"


def single_port(purpose: str, port: int, exposure: Exposure) -> ServicePort:
    return ServicePort(purpose, PortRange.single(port), exposure)


def static_file(source: str, target: str, *, executable: bool = False) -> ServiceFile:
    """A file of `compose/` placed in the container as it is."""
    return ServiceFile(
        target=target,
        content=(COMPOSE_DIR / source).read_text(),
        compose_source=f"./{source}",
        executable=executable,
    )


def image_healthcheck(start_period_s: int = 60) -> Healthcheck:
    """The check every image the project builds ships as /usr/local/bin/p2pvps-healthcheck."""
    return Healthcheck(("/usr/local/bin/p2pvps-healthcheck",), start_period_s=start_period_s)
