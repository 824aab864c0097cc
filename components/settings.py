"""Stack settings: every `p2pvps:*` key read once, validated, and frozen into typed objects.

`parse_settings` is pure (plain strings in, `Settings` or `pulumi.RunError` out) so it is tested
without the Pulumi runtime; `load_settings` is the only place in the program that reads
`pulumi.Config`.
"""

from __future__ import annotations

import base64
import binascii
import difflib
import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

import pulumi

from components.ports import FIXED_PUBLIC_PORTS, PortRange
from components.project import config_schema

NAMESPACE = "p2pvps"

UBUNTU_VERSIONS = ("24.04", "26.04")
# A shared password cannot be tied to a device; at least it should not be guessable.
MIN_TUNNEL_PASSWORD_LENGTH = 20


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
    supports_ipv6: bool = True
    refused_size: re.Pattern[str] | None = None
    refused_size_reason: str = ""


_VULTR_PLAN = r"(vc2|vhf|vhp|voc|vcg|vbm)-[a-z0-9-]+"
CLOUD_PROFILES = {
    "digitalocean": CloudProfile(
        label="DigitalOcean",
        region=re.compile(r"^[a-z]{3}[0-9]$"),
        region_example="a DigitalOcean region slug such as nyc3, ams3 or fra1",
        size=re.compile(rf"^(?!{_VULTR_PLAN}$)[a-z][a-z0-9_]*-[a-z0-9-]+$"),
        size_example="a DigitalOcean size slug such as s-1vcpu-2gb",
        default_size="s-1vcpu-2gb",
        dns_token_for="a DigitalOcean API token with domain read/write scope",
    ),
    "aws": CloudProfile(
        label="AWS",
        region=re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-[0-9]$"),
        region_example="an AWS region such as us-east-1 or eu-central-1",
        size=re.compile(r"^[a-z][a-z0-9-]*\.[a-z0-9]+$"),
        size_example="an EC2 instance type such as t3.small or t4g.small",
        default_size="t3.small",
        dns_token_for=None,
        supports_ipv6=False,
        refused_size=re.compile(r"^(t1|t2|m1|m2|m3|m4|c1|c3|c4|r3|r4|i2|d2|g2|g3|p2|x1|x1e|h1|f1)\."),
        refused_size_reason=(
            "a Xen-generation instance type; choose a Nitro type such as t3.small (its volumes appear as NVMe)"
        ),
    ),
    "vultr": CloudProfile(
        label="Vultr",
        region=re.compile(r"^[a-z]{3}$"),
        region_example="a Vultr region id such as ewr, ams or fra",
        size=re.compile(rf"^{_VULTR_PLAN}$"),
        size_example="a Vultr plan id such as vc2-1c-2gb",
        default_size="vc2-1c-2gb",
        dns_token_for="a Vultr API key of a user with only the Manage DNS permission",
    ),
}
CLOUDS = (*CLOUD_PROFILES, "local")

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_CLOCK_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
REBOOT_OFF = "off"
RESERVED_USERS = frozenset({"root", "daemon", "bin", "sys", "nobody", "ubuntu", "admin", "docker"})
_SSH_KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ssh-rsa",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ssh-ed25519@openssh.com",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    }
)

T = TypeVar("T")


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
class StackSecrets:
    """Secret settings, as secret Outputs from the moment they are read."""

    dns_token: pulumi.Output[str] | None = None
    ssh_tunnel_password: pulumi.Output[str] | None = None


@dataclass(frozen=True)
class Settings:
    """One stack's validated settings; nothing else in the program reads configuration."""

    project: str
    stack: str
    cloud: str
    region: str
    size: str
    ubuntu_version: str
    domain: str
    tunnel_domain: str
    admin_email: str
    admin: AdminAccess
    acme_staging: bool
    volume_size_gb: int
    ipv6: bool
    create_dns_zone: bool
    reboot_time: str | None
    """When unattended upgrades may reboot the server (HH:MM, the server's clock); None: never."""
    tunnels: TunnelPorts
    secrets: StackSecrets

    @property
    def is_remote(self) -> bool:
        """A cloud server reached over SSH (not the `local` Docker)."""
        return self.cloud in CLOUD_PROFILES

    @property
    def resource_prefix(self) -> str:
        """Prefix of cloud-side names, unique per stack: `p2pvps-<stack>`."""
        return f"{self.project}-{self.stack}"


class _Problems:
    """Collects every invalid key so the user sees all of them in one run."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.messages.append(f"{NAMESPACE}:{key}: {message}")

    def raise_if_any(self) -> None:
        if self.messages:
            raise pulumi.RunError("invalid stack configuration:\n  " + "\n  ".join(self.messages))


def _quote(value: object) -> str:
    return json.dumps(value)


class _Reader:
    """Typed access to raw config strings; records a problem and returns None on bad input."""

    def __init__(self, raw: Mapping[str, str], problems: _Problems) -> None:
        self._raw = raw
        self._problems = problems

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self._raw.get(key)
        if value is None or value.strip() == "":
            if required:
                self._problems.add(key, f"missing; set it with `pulumi config set {NAMESPACE}:{key} <value>`")
            return None
        return value.strip()

    def boolean(self, key: str) -> bool | None:
        value = self.text(key)
        if value is None:
            return None
        if value.lower() in ("true", "false"):
            return value.lower() == "true"
        self._problems.add(key, f"{_quote(value)} is not a boolean; expected true or false")
        return None

    def integer(self, key: str, low: int, high: int) -> int | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            number = int(value)
        except ValueError:
            self._problems.add(key, f"{_quote(value)} is not a whole number; expected {low} to {high}")
            return None
        if not low <= number <= high:
            self._problems.add(key, f"{number} is out of range; expected {low} to {high}")
            return None
        return number

    def port_range(self, key: str) -> PortRange | None:
        value = self.text(key)
        if value is None:
            return None
        parsed = PortRange.parse(value)
        if parsed is None or parsed.first < 1024:
            self._problems.add(key, f"{_quote(value)} is not a port range; expected FIRST-LAST between 1024 and 65535")
            return None
        return parsed

    def text_list(self, key: str) -> tuple[str, ...] | None:
        value = self.text(key)
        if value is None:
            return None
        try:
            items = json.loads(value)
        except json.JSONDecodeError:
            items = None
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            self._problems.add(key, f"{_quote(value)} is not a list of strings; write it as a YAML list")
            return None
        if not items:
            self._problems.add(key, "is empty; at least one entry is required")
            return None
        return tuple(item.strip() for item in items)

    def check(self, key: str, value: T | None, valid: Callable[[T], str | None]) -> T | None:
        """Run `valid` (which returns an error message or None) on a value that was read."""
        if value is None:
            return None
        message = valid(value)
        if message is not None:
            self._problems.add(key, message)
            return None
        return value


def _one_of(choices: tuple[str, ...], what: str) -> Callable[[str], str | None]:
    return lambda value: (
        None if value in choices else f"{_quote(value)} is not {what}; expected one of {', '.join(choices)}"
    )


def _domain_error(value: str) -> str | None:
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return f"{_quote(value)} is not a valid domain name; expected lowercase labels such as p2pvps.net"
    return None


def _tunnel_domain_error(domain: str | None) -> Callable[[str], str | None]:
    """A tunnel domain must be a registrable domain of its own: no cookie it sets may reach the site."""

    def error(value: str) -> str | None:
        shape = _domain_error(value)
        if shape is not None or domain is None:
            return shape
        # Imported here: reading the Public Suffix List costs time only stacks that set tunnelDomain spend.
        from publicsuffixlist import PublicSuffixList  # noqa: PLC0415

        registrable = PublicSuffixList().privatesuffix
        site, tunnels = registrable(domain.rstrip(".")), registrable(value.rstrip("."))
        if site is not None and site == tunnels:
            return (
                f"{_quote(value)} shares the registrable domain {site} with p2pvps:domain, so tunnel pages could set "
                f"cookies for the site; use a separate domain such as p2pvps-tunnels.net, or leave it unset"
            )
        return None

    return error


def _reboot_window_error(value: str) -> str | None:
    if value == REBOOT_OFF or _CLOCK_TIME.match(value):
        return None
    return (
        f"{_quote(value)} is not a reboot time; expected HH:MM on the server's clock (UTC, 24-hour), "
        f"such as 03:30, or {REBOOT_OFF} to never reboot automatically"
    )


def _email_error(value: str) -> str | None:
    return None if _EMAIL.match(value) else f"{_quote(value)} is not a valid e-mail address"


def _username_error(value: str) -> str | None:
    if not _USERNAME.match(value):
        return f"{_quote(value)} is not a valid Linux user name; expected lowercase letters, digits, _ or -"
    if value in RESERVED_USERS:
        return f"{_quote(value)} is reserved on Ubuntu; choose another name such as p2pvps"
    return None


def _cidrs_error(values: tuple[str, ...]) -> str | None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{_quote(value)} is not a valid CIDR; expected e.g. 203.0.113.7/32 or 2001:db8::/48"
        if "/" not in value:
            return f"{_quote(value)} has no prefix length; write {value}/32 (IPv4) or {value}/128 (IPv6)"
    return None


def _ssh_key_is_valid(value: str) -> bool:
    parts = value.split()
    if len(parts) < 2 or parts[0] not in _SSH_KEY_TYPES:
        return False
    try:
        blob = base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        return False
    length = int.from_bytes(blob[:4], "big")
    return blob[4 : 4 + length] == parts[0].encode()


def _ssh_keys_error(values: tuple[str, ...]) -> str | None:
    for value in values:
        if not _ssh_key_is_valid(value):
            shown = value if len(value) <= 40 else value[:37] + "..."
            return f"{_quote(shown)} is not an OpenSSH public key; paste the one line of your ~/.ssh/id_ed25519.pub"
    return None


def _shape_error(pattern: re.Pattern[str], expected: str, cloud: str) -> Callable[[str], str | None]:
    return lambda value: (
        None if pattern.match(value) else f"{_quote(value)} is not valid for cloud {cloud}; expected {expected}"
    )


def _size_error(profile: CloudProfile, cloud: str) -> Callable[[str], str | None]:
    shape = _shape_error(profile.size, profile.size_example, cloud)

    def error(value: str) -> str | None:
        if profile.refused_size is not None and profile.refused_size.match(value):
            return f"{_quote(value)} is {profile.refused_size_reason}"
        return shape(value)

    return error


def parse_settings(
    raw: Mapping[str, str],
    *,
    project: str,
    stack: str,
    secrets: Mapping[str, str] | None = None,
    unknown: Iterable[str] = (),
) -> Settings:
    """Validate raw `p2pvps:*` values (as Pulumi passes them: strings, lists as JSON), the secret ones,
    and refuse `unknown` keys (a misspelt key would otherwise deploy with the default).

    A secret value is looked at here only to be checked, then kept as a secret Output and nothing else.
    """
    problems = _Problems()
    for key in sorted(unknown):
        problems.add(key, _unknown_key(key))
    read = _Reader(raw, problems)
    stack_secrets = _stack_secrets(secrets or {}, problems)

    cloud = read.check("cloud", read.text("cloud"), _one_of(CLOUDS, "a supported cloud"))
    region = size = ""
    admin_cidrs: tuple[str, ...] | None = ()
    ssh_keys: tuple[str, ...] | None = ()
    profile = CLOUD_PROFILES.get(cloud or "")
    if cloud is not None and profile is not None:
        region = read.check("region", read.text("region"), _shape_error(profile.region, profile.region_example, cloud))
        size = read.check(
            "size", read.text("size", required=False) or profile.default_size, _size_error(profile, cloud)
        )
        admin_cidrs = read.check("adminCidrs", read.text_list("adminCidrs"), _cidrs_error)
        ssh_keys = read.check("sshPublicKeys", read.text_list("sshPublicKeys"), _ssh_keys_error)
        if profile.dns_token_for and stack_secrets.dns_token is None:
            problems.add(
                "dnsToken",
                f"missing; certbot needs {profile.dns_token_for} for the *.lt wildcard certificate (DNS-01): "
                f"`pulumi config set --secret {NAMESPACE}:dnsToken <token>`",
            )
    ubuntu_version = read.check(
        "ubuntuVersion", read.text("ubuntuVersion"), _one_of(UBUNTU_VERSIONS, "a supported Ubuntu LTS release")
    )
    domain = read.check("domain", read.text("domain"), _domain_error)
    tunnel_domain = read.check("tunnelDomain", read.text("tunnelDomain", required=False), _tunnel_domain_error(domain))
    admin_email = read.check("adminEmail", read.text("adminEmail"), _email_error)
    admin_user = read.check("adminUser", read.text("adminUser"), _username_error)
    acme_staging = read.boolean("acmeStaging")
    volume_size_gb = read.integer("volumeSizeGb", 1, 16384)
    ipv6 = read.boolean("ipv6")
    if ipv6 and profile is not None and not profile.supports_ipv6:
        problems.add("ipv6", f"true is not supported on {cloud} yet; set it to false")
    create_dns_zone = read.boolean("createDnsZone")
    reboot_window = read.check("rebootWindow", read.text("rebootWindow"), _reboot_window_error)

    tunnels = _tunnel_ports(read, problems)

    problems.raise_if_any()
    assert tunnels is not None
    assert cloud and region is not None and size is not None and ubuntu_version and domain and admin_email
    assert admin_user and admin_cidrs is not None and ssh_keys is not None and volume_size_gb is not None
    assert acme_staging is not None and ipv6 is not None and create_dns_zone is not None and reboot_window
    return Settings(
        project=project,
        stack=stack,
        cloud=cloud,
        region=region,
        size=size,
        ubuntu_version=ubuntu_version,
        domain=domain.rstrip("."),
        tunnel_domain=(tunnel_domain or domain).rstrip("."),
        admin_email=admin_email,
        admin=AdminAccess(user=admin_user, cidrs=admin_cidrs, ssh_public_keys=ssh_keys),
        acme_staging=acme_staging,
        volume_size_gb=volume_size_gb,
        ipv6=ipv6,
        create_dns_zone=create_dns_zone,
        reboot_time=None if reboot_window == REBOOT_OFF else reboot_window,
        tunnels=tunnels,
        secrets=stack_secrets,
    )


def _unknown_key(key: str) -> str:
    guess = difflib.get_close_matches(key, [*SETTING_KEYS, *SECRET_KEYS], n=1, cutoff=0.6)
    hint = f"did you mean {NAMESPACE}:{guess[0]}?" if guess else "the settings are listed in Pulumi.yaml and README.md"
    return f"is not a setting of this program; {hint}"


def _stack_secrets(values: Mapping[str, str], problems: _Problems) -> StackSecrets:
    password = values.get("sshTunnelPassword") or None
    if password is not None and len(password) < MIN_TUNNEL_PASSWORD_LENGTH:
        problems.add(
            "sshTunnelPassword",
            f"has {len(password)} characters; a password shared by every legacy client needs at least "
            f"{MIN_TUNNEL_PASSWORD_LENGTH} (e.g. `openssl rand -base64 24`), or leave it unset for keys only",
        )
    dns_token = values.get("dnsToken") or None
    return StackSecrets(
        dns_token=None if dns_token is None else pulumi.Output.secret(dns_token),
        ssh_tunnel_password=None if password is None else pulumi.Output.secret(password),
    )


def _tunnel_ports(read: _Reader, problems: _Problems) -> TunnelPorts | None:
    """Read the tunnel ports and reject any that collide with each other or with fixed ports."""
    ssh_server = read.integer("sshServerPort", 1024, 65535)
    ssh_tunnels = read.port_range("sshTunnelPorts")
    localtunnel = read.port_range("localtunnelPorts")
    valid = True
    if localtunnel is not None and len(localtunnel) < 10:
        problems.add(
            "localtunnelPorts",
            f"{_quote(str(localtunnel))} holds {len(localtunnel)} ports; each client needs one, give at least 10",
        )
        valid = False
    if ssh_server is None or ssh_tunnels is None or localtunnel is None:
        return None
    configured = [
        ("sshServerPort", PortRange.single(ssh_server)),
        ("sshTunnelPorts", ssh_tunnels),
        ("localtunnelPorts", localtunnel),
    ]
    labelled = [(f"{NAMESPACE}:{key} ({ports})", ports) for key, ports in configured]
    labelled += [(f"{what} ({port})", PortRange.single(port)) for port, what in FIXED_PUBLIC_PORTS.items()]
    for index, (key, ports) in enumerate(configured):
        for other_index, (other_label, other) in enumerate(labelled):
            if other_index != index and ports.overlaps(other):
                problems.add(key, f"{_quote(str(ports))} overlaps {other_label}")
                valid = False
    return TunnelPorts(ssh_server, ssh_tunnels, localtunnel) if valid else None


def _given_keys() -> set[str]:
    """Every `p2pvps:` key the stack sets: the CLI hands config over in PULUMI_CONFIG, the SDK's own
    runtime (and its mocks) keep what `set_all_config` set; pulumi.Config cannot list keys."""
    prefix = f"{NAMESPACE}:"
    keys = {*pulumi.runtime.get_config_env(), *pulumi.runtime.config.CONFIG.get()}
    return {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}


# The keys, from Pulumi.yaml's `config:` block: the one place they are declared.
SECRET_KEYS = tuple(key for key, spec in config_schema().items() if spec.get("secret"))
SETTING_KEYS = tuple(key for key, spec in config_schema().items() if not spec.get("secret"))


def load_settings() -> Settings:
    """Read this stack's `p2pvps:*` configuration once and validate it."""
    config = pulumi.Config(NAMESPACE)
    raw = {key: value for key in SETTING_KEYS if (value := config.get(key)) is not None}
    secrets = {key: value for key in SECRET_KEYS if (value := config.get(key)) is not None}
    unknown = _given_keys() - {*SETTING_KEYS, *SECRET_KEYS}
    return parse_settings(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), secrets=secrets, unknown=unknown)
