"""The P2P VPS services, described once.

The firewall, the host's log directories, the Pulumi Docker resources and
`compose/docker-compose.yml` are all rendered from `build_catalog`. Values that differ per stack
come in through `StackValues`; for the compose file they are `${VARIABLE}` placeholders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from components import dns
from components.nginx import (
    LOCALTUNNEL_CERT_NAME,
    SITE_CERT_NAME,
    NginxParams,
    render_site_config,
)
from components.ports import (
    HTTP_PORT,
    HTTPS_PORT,
    OPENBAZAAR_SWARM_PORT,
    Audience,
    PortRange,
    PublicPort,
    admin_ssh_port,
)
from components.settings import TunnelPorts

COMPOSE_DIR = Path(__file__).resolve().parent.parent / "compose"
LOG_DIR_IN_CONTAINER = "/var/log/p2pvps"
# The non-root user the project's images run as (the node images' "node" user).
NODE_UID = 1000
MONGO_UID = 999

MONGO_IMAGE = "mongo:4.4.29"
OPENBAZAAR_API_USER = "p2pvps"
MONGO_APP_DB = "connextcms"
MONGO_APP_USER = "connextcms"
LOCALTUNNEL_PORT = 3002
CMS_PORT = 3000
LISTING_MANAGER_PORT = 3434
OPENBAZAAR_API_PORT = 4002
# The device registry: written by the SSH-Server's p2pvps-device, read by sshd and LocalTunnel.
DEVICES_VOLUME = "devices"
DEVICES_DIR = "/devices"


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

    @property
    def container_name(self) -> str:
        return f"p2pvps-{self.name}"

    @property
    def build_dir(self) -> Path | None:
        return COMPOSE_DIR / self.build if self.build else None

    def secrets(self) -> tuple[Secret, ...]:
        return tuple(value for _, value in self.env if isinstance(value, Secret))


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

    @property
    def issues_certificates(self) -> bool:
        return self.certbot_image is not None


def _port(purpose: str, port: int, exposure: Exposure) -> ServicePort:
    return ServicePort(purpose, PortRange.single(port), exposure)


def _static_file(source: str, target: str, *, executable: bool = False) -> ServiceFile:
    return ServiceFile(
        target=target,
        content=(COMPOSE_DIR / source).read_text(),
        compose_source=f"./{source}",
        executable=executable,
    )


def _image_healthcheck(start_period_s: int = 60) -> Healthcheck:
    """The check every image the project builds ships as /usr/local/bin/p2pvps-healthcheck."""
    return Healthcheck(("/usr/local/bin/p2pvps-healthcheck",), start_period_s=start_period_s)


def tls_names(domain: str, tunnel_domain: str) -> str:
    """`name=host,host ...` pairs telling Nginx (and certbot) which names each certificate covers."""
    site = ",".join(dns.site_hostnames(domain))
    localtunnel = ",".join(dns.localtunnel_hostnames(tunnel_domain))
    return f"{SITE_CERT_NAME}={site} {LOCALTUNNEL_CERT_NAME}={localtunnel}"


def _nginx(values: StackValues) -> ServiceSpec:
    config = ServiceFile(
        target="/etc/nginx/conf.d/default.conf",
        content=render_site_config(
            NginxParams(
                domain=values.domain,
                tunnel_domain=values.tunnel_domain,
                listen_addresses=("*", "[::]") if values.ipv6 else ("*",),
                hsts_max_age=values.hsts_max_age,
                admin_cidrs=values.admin_cidrs,
            )
        ),
        compose_source="./nginx/templates/default.conf.template",
        compose_target="/etc/nginx/templates/default.conf.template",
    )
    return ServiceSpec(
        "nginx",
        "TLS entry: the site and LocalTunnel subdomains",
        limits=Limits(memory_mb=128, pids=64),
        build="nginx",
        healthcheck=_image_healthcheck(start_period_s=20),
        ports=(_port("HTTP", HTTP_PORT, Exposure.PUBLIC), _port("HTTPS", HTTPS_PORT, Exposure.PUBLIC)),
        volumes=(
            DataVolume("letsencrypt", "/etc/letsencrypt", read_only=True),
            DataVolume("acme-webroot", "/var/www/acme", mode="0755", read_only=True),
        ),
        log_path="/var/log/nginx",
        env=(
            ("P2PVPS_DOMAIN", values.domain),
            ("P2PVPS_TUNNEL_DOMAIN", values.tunnel_domain),
            ("P2PVPS_TLS_NAMES", tls_names(values.domain, values.tunnel_domain)),
            ("P2PVPS_ADMIN_CIDRS", " ".join(values.admin_cidrs)),
            ("NGINX_ENVSUBST_FILTER", "^P2PVPS_"),
        ),
        files=(config,),
        needs_dns=True,
    )


def _certbot(values: StackValues) -> ServiceSpec:
    assert values.certbot_image is not None
    return ServiceSpec(
        "certbot",
        "Let's Encrypt: HTTP-01 for the site, DNS-01 for the *.lt wildcard; renews forever",
        limits=Limits(memory_mb=256, pids=64),
        image=values.certbot_image,
        entrypoint=("/bin/sh", "/opt/p2pvps/certbot-loop.sh"),
        healthcheck=Healthcheck(("/bin/sh", "/opt/p2pvps/certbot-loop.sh", "--check"), start_period_s=240),
        volumes=(
            DataVolume("letsencrypt", "/etc/letsencrypt"),
            DataVolume("acme-webroot", "/var/www/acme", mode="0755"),
        ),
        log_path="/var/log/letsencrypt",
        env=(
            ("P2PVPS_DOMAIN", values.domain),
            ("P2PVPS_TUNNEL_DOMAIN", values.tunnel_domain),
            ("ACME_EMAIL", values.acme_email),
            ("ACME_STAGING", values.acme_staging),
            ("DNS_PLUGIN", values.dns_plugin),
            *values.dns_credentials,
        ),
        files=(
            _static_file("certbot/certbot-loop.sh", "/opt/p2pvps/certbot-loop.sh"),
            _static_file("certbot/vultr-dns-hook.py", "/opt/p2pvps/vultr-dns-hook.py", executable=True),
        ),
        needs_dns=True,
    )


def _mongodb() -> ServiceSpec:
    return ServiceSpec(
        "mongodb",
        "MongoDB for ConnextCMS, authentication on",
        limits=Limits(memory_mb=768, pids=256),
        image=MONGO_IMAGE,
        command=(
            "mongod",
            "--auth",
            "--bind_ip_all",
            "--quiet",
            # MongoDB 4.4 sizes its cache from the host's memory, not the container's limit under cgroup v2.
            "--wiredTigerCacheSizeGB",
            "0.25",
            "--logpath",
            "/var/log/p2pvps/mongod.log",
            "--logappend",
        ),
        healthcheck=Healthcheck(("mongo", "--quiet", "--eval", "quit(db.adminCommand('ping').ok ? 0 : 1)")),
        ports=(_port("MongoDB", 27017, Exposure.INTERNAL),),
        volumes=(DataVolume("mongodb", "/data/db", owner_uid=MONGO_UID),),
        log_owner_uid=MONGO_UID,
        env=(
            ("MONGO_INITDB_ROOT_USERNAME", "root"),
            ("MONGO_INITDB_ROOT_PASSWORD", Secret("MONGO_ROOT_PASSWORD", SecretSource.GENERATED)),
            ("MONGO_APP_DB", MONGO_APP_DB),
            ("MONGO_APP_USER", MONGO_APP_USER),
            ("MONGO_APP_PASSWORD", Secret("MONGO_APP_PASSWORD", SecretSource.GENERATED)),
        ),
        files=(
            _static_file("mongodb/initdb/10-create-app-user.sh", "/docker-entrypoint-initdb.d/10-create-app-user.sh"),
        ),
    )


def _openbazaar_client_env() -> tuple[tuple[str, EnvValue], ...]:
    return (
        ("OB_URL", f"http://openbazaar:{OPENBAZAAR_API_PORT}"),
        ("OB_USERNAME", OPENBAZAAR_API_USER),
        ("OB_PASSWORD", Secret("OB_API_PASSWORD", SecretSource.GENERATED)),
    )


def _connextcms(values: StackValues) -> ServiceSpec:
    return ServiceSpec(
        "connextcms",
        "ConnextCMS (KeystoneJS 4) with the P2P VPS site template",
        limits=Limits(memory_mb=512, pids=128),
        build="connextcms",
        healthcheck=_image_healthcheck(start_period_s=180),
        ports=(_port("KeystoneJS", CMS_PORT, Exposure.INTERNAL),),
        volumes=(DataVolume("connextcms", "/data", owner_uid=NODE_UID),),
        log_owner_uid=NODE_UID,
        env=(
            ("PORT", str(CMS_PORT)),
            ("SITE_DOMAIN", values.domain),
            ("MONGO_HOST", "mongodb"),
            ("MONGO_PORT", "27017"),
            ("MONGO_DB", MONGO_APP_DB),
            ("MONGO_USER", MONGO_APP_USER),
            ("MONGO_PASSWORD", Secret("MONGO_APP_PASSWORD", SecretSource.GENERATED)),
            ("COOKIE_SECRET", Secret("CMS_COOKIE_SECRET", SecretSource.GENERATED)),
            ("CMS_ADMIN_PASSWORD", Secret("CMS_ADMIN_PASSWORD", SecretSource.GENERATED)),
            ("CMS_SERVICE_TOKEN", Secret("CMS_SERVICE_TOKEN", SecretSource.GENERATED)),
            ("ADMIN_EMAIL", values.acme_email),
            ("SSH_SERVER_PORT", str(values.tunnels.ssh_server)),
            ("SSH_TUNNEL_PORTS", str(values.tunnels.ssh_tunnels)),
            *_openbazaar_client_env(),
        ),
        depends_on=("mongodb",),
    )


def _openbazaar() -> ServiceSpec:
    return ServiceSpec(
        "openbazaar",
        "OpenBazaar store: listings and payments",
        limits=Limits(memory_mb=768, pids=256),
        build="openbazaar",
        healthcheck=_image_healthcheck(),
        ports=(
            _port("OpenBazaar swarm", OPENBAZAAR_SWARM_PORT, Exposure.PUBLIC),
            _port("OpenBazaar API", OPENBAZAAR_API_PORT, Exposure.INTERNAL),
        ),
        volumes=(DataVolume("openbazaar", "/var/lib/openbazaar", owner_uid=NODE_UID),),
        log_owner_uid=NODE_UID,
        env=(
            ("OB_API_USERNAME", OPENBAZAAR_API_USER),
            ("OB_API_PASSWORD_SHA256", Secret("OB_API_PASSWORD_SHA256", SecretSource.DERIVED)),
        ),
    )


def _listing_manager(values: StackValues) -> ServiceSpec:
    return ServiceSpec(
        "listing-manager",
        "Fulfils OpenBazaar orders with tunnel logins; delists offline devices",
        limits=Limits(memory_mb=256, pids=64),
        build="listing-manager",
        healthcheck=_image_healthcheck(),
        ports=(_port("Listing-Manager", LISTING_MANAGER_PORT, Exposure.INTERNAL),),
        log_owner_uid=NODE_UID,
        env=(
            ("SERVER_URL", f"http://connextcms:{CMS_PORT}"),
            ("CMS_SERVICE_TOKEN", Secret("CMS_SERVICE_TOKEN", SecretSource.GENERATED)),
            ("P2PVPS_HOST", values.domain),
            *_openbazaar_client_env(),
        ),
        depends_on=("connextcms", "openbazaar"),
    )


def _ssh_server(values: StackValues) -> ServiceSpec:
    tunnels = values.tunnels
    return ServiceSpec(
        "ssh-server",
        "Reverse SSH tunnels from rented devices; no shell",
        limits=Limits(memory_mb=512, pids=512),
        build="ssh-server",
        healthcheck=_image_healthcheck(),
        ports=(
            _port("SSH-Server", tunnels.ssh_server, Exposure.PUBLIC),
            ServicePort("SSH tunnels", tunnels.ssh_tunnels, Exposure.PUBLIC),
        ),
        volumes=(DataVolume("ssh-server", "/state"), DataVolume(DEVICES_VOLUME, DEVICES_DIR, mode="0755")),
        env=(
            ("SSH_PORT", str(tunnels.ssh_server)),
            ("SSH_LISTEN_ADDRESS", "0.0.0.0 ::" if values.ipv6 else "0.0.0.0"),
            ("TUNNEL_PORTS", str(tunnels.ssh_tunnels)),
            ("PUBLIC_HOST", values.domain),
            ("LT_HOST", dns.fqdn("lt", values.tunnel_domain)),
            ("TUNNEL_PASSWORD", Secret("TUNNEL_PASSWORD", SecretSource.CONFIG, required=False)),
        ),
    )


def _localtunnel(values: StackValues) -> ServiceSpec:
    clients = values.tunnels.localtunnel_clients
    return ServiceSpec(
        "localtunnel",
        "LocalTunnel server: a web subdomain per device",
        limits=Limits(memory_mb=256, pids=64),
        build="localtunnel",
        healthcheck=_image_healthcheck(),
        ports=(
            _port("LocalTunnel server", LOCALTUNNEL_PORT, Exposure.INTERNAL),
            ServicePort("LocalTunnel client sockets", clients, Exposure.PUBLIC),
        ),
        volumes=(DataVolume(DEVICES_VOLUME, DEVICES_DIR, mode="0755", read_only=True),),
        log_owner_uid=NODE_UID,
        env=(
            ("LT_PORT", str(LOCALTUNNEL_PORT)),
            # "::" takes IPv4 too (as ::ffff:a.b.c.d), for the server and every client port.
            ("LT_ADDRESS", "::" if values.ipv6 else "0.0.0.0"),
            ("LT_DOMAIN", dns.fqdn("lt", values.tunnel_domain)),
            ("LT_CLIENT_PORTS", str(clients)),
            ("LT_SECURE", "true"),
        ),
    )


def build_catalog(values: StackValues) -> tuple[ServiceSpec, ...]:
    """Every container of the stack, each after the ones it depends on; certbot only where certificates are issued."""
    services = [
        _nginx(values),
        _mongodb(),
        _connextcms(values),
        _openbazaar(),
        _listing_manager(values),
        _ssh_server(values),
        _localtunnel(values),
    ]
    if values.issues_certificates:
        services.insert(1, _certbot(values))
    return tuple(services)


def data_volumes(catalog: tuple[ServiceSpec, ...]) -> tuple[DataVolume, ...]:
    """Each data volume once (services may share one), in a stable order."""
    seen: dict[str, DataVolume] = {}
    for service in catalog:
        for volume in service.volumes:
            if volume.name not in seen or not volume.read_only:
                seen[volume.name] = volume
    return tuple(sorted(seen.values(), key=lambda volume: volume.name))


def secrets(catalog: tuple[ServiceSpec, ...]) -> tuple[Secret, ...]:
    """Every secret the stack needs, once, by name."""
    return tuple(
        sorted({secret.name: secret for s in catalog for secret in s.secrets()}.values(), key=lambda s: s.name)
    )


def public_ports(catalog: tuple[ServiceSpec, ...]) -> tuple[PublicPort, ...]:
    """The perimeter: admin SSH plus every port a service declares public."""
    service_ports = (
        PublicPort(port.purpose, port.protocol, port.ports, Audience.EVERYONE)
        for service in catalog
        for port in service.ports
        if port.exposure is Exposure.PUBLIC
    )
    return (admin_ssh_port(), *sorted(service_ports, key=lambda rule: (rule.ports, rule.protocol)))
