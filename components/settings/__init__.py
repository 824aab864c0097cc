"""Stack settings: every `p2pvps:*` key read once, validated, and frozen into typed objects.

`parse_settings` is pure (plain strings in, `Settings` or `pulumi.RunError` out) so it is tested
without the Pulumi runtime; `load_settings` is the only place in the program that reads
`pulumi.Config`. The keys are those of Pulumi.yaml's `config:` block, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi

from components.clouds import CLOUD_NAMES, LOCAL, cloud
from components.clouds.base import UBUNTU_RELEASES
from components.ports import FIXED_PUBLIC_PORTS, PortRange
from components.project import config_schema
from components.settings.model import (
    NAMESPACE,
    AdminAccess,
    LocalSettings,
    SecretSettings,
    ServerSettings,
    Settings,
    TunnelPorts,
)
from components.settings.reader import Problems, Reader
from components.settings.validators import (
    REBOOT_OFF,
    cidrs_error,
    domain_error,
    email_error,
    one_of,
    quote,
    reboot_window_error,
    shape_error,
    size_error,
    ssh_keys_error,
    tunnel_domain_error,
    username_error,
)

__all__ = [
    "NAMESPACE",
    "SECRET_KEYS",
    "SETTING_KEYS",
    "AdminAccess",
    "LocalSettings",
    "SecretSettings",
    "ServerSettings",
    "Settings",
    "TunnelPorts",
    "load_settings",
    "parse_settings",
]

# A shared password cannot be tied to a device; at least it should not be guessable.
MIN_TUNNEL_PASSWORD_LENGTH = 20
# The keys, from Pulumi.yaml's `config:` block: the one place they are declared.
SECRET_KEYS = tuple(key for key, spec in config_schema().items() if spec.get("secret"))
SETTING_KEYS = tuple(key for key, spec in config_schema().items() if not spec.get("secret"))


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
    problems = Problems()
    for key in sorted(unknown):
        problems.add(key, _unknown_key(key))
    read = Reader(raw, problems)
    secret_settings = _secret_settings(secrets or {}, problems)
    cloud_name = read.check("cloud", read.text("cloud"), one_of(CLOUD_NAMES, "a supported cloud"))
    target: ServerSettings | LocalSettings | None = LocalSettings() if cloud_name == LOCAL else None
    if cloud_name is not None and cloud_name != LOCAL:
        target = _server_settings(read, cloud_name, secret_settings)
    domain = read.check("domain", read.text("domain"), domain_error)
    tunnel_domain = read.check("tunnelDomain", read.text("tunnelDomain", required=False), tunnel_domain_error(domain))
    admin_email = read.check("adminEmail", read.text("adminEmail"), email_error)
    acme_staging = read.boolean("acmeStaging")
    tunnels = _tunnel_ports(read)

    problems.raise_if_any()
    assert target is not None and domain and admin_email and acme_staging is not None and tunnels is not None
    return Settings(
        project=project,
        stack=stack,
        domain=domain.rstrip("."),
        tunnel_domain=(tunnel_domain or domain).rstrip("."),
        admin_email=admin_email,
        acme_staging=acme_staging,
        tunnels=tunnels,
        secret_settings=secret_settings,
        target=target,
    )


def _server_settings(read: Reader, cloud_name: str, secret_settings: SecretSettings) -> ServerSettings | None:
    """The server part, for a stack on a cloud; None when a value is bad (the problem is recorded)."""
    profile = cloud(cloud_name).profile
    region_error = shape_error(profile.region, profile.region_example, cloud_name)
    region = read.check("region", read.text("region"), region_error)
    size = read.text("size", required=False) or profile.default_size
    size = read.check("size", size, size_error(profile, cloud_name))
    versions = one_of(tuple(UBUNTU_RELEASES), "a supported Ubuntu LTS release")
    ubuntu_version = read.check("ubuntuVersion", read.text("ubuntuVersion"), versions)
    admin_user = read.check("adminUser", read.text("adminUser"), username_error)
    admin_cidrs = read.check("adminCidrs", read.text_list("adminCidrs"), cidrs_error)
    ssh_keys = read.check("sshPublicKeys", read.text_list("sshPublicKeys"), ssh_keys_error)
    volume_size_gb = read.integer("volumeSizeGb", 1, 16384)
    ipv6 = read.boolean("ipv6")
    if ipv6 and not profile.supports_ipv6:
        read.problems.add("ipv6", f"true is not supported on {cloud_name} yet; set it to false")
    create_dns_zone = read.boolean("createDnsZone")
    reboot_window = read.check("rebootWindow", read.text("rebootWindow"), reboot_window_error)
    if profile.dns_token_for and secret_settings.dns_token is None:
        read.problems.add(
            "dnsToken",
            f"missing; certbot needs {profile.dns_token_for} for the *.lt wildcard certificate (DNS-01): "
            f"`pulumi config set --secret {NAMESPACE}:dnsToken <token>`",
        )
    if not (region and size and ubuntu_version and admin_user and admin_cidrs and ssh_keys and reboot_window):
        return None
    if volume_size_gb is None or ipv6 is None or create_dns_zone is None:
        return None
    return ServerSettings(
        cloud=cloud_name,
        region=region,
        size=size,
        ubuntu_version=ubuntu_version,
        admin=AdminAccess(user=admin_user, cidrs=admin_cidrs, ssh_public_keys=ssh_keys),
        volume_size_gb=volume_size_gb,
        ipv6=ipv6,
        create_dns_zone=create_dns_zone,
        reboot_time=None if reboot_window == REBOOT_OFF else reboot_window,
    )


def _unknown_key(key: str) -> str:
    import difflib  # noqa: PLC0415 - only a misspelt key needs it; importing it costs every evaluation ~1 ms

    guess = difflib.get_close_matches(key, [*SETTING_KEYS, *SECRET_KEYS], n=1, cutoff=0.6)
    hint = f"did you mean {NAMESPACE}:{guess[0]}?" if guess else "the settings are listed in Pulumi.yaml and README.md"
    return f"is not a setting of this program; {hint}"


def _secret_settings(values: Mapping[str, str], problems: Problems) -> SecretSettings:
    password = values.get("sshTunnelPassword") or None
    if password is not None and len(password) < MIN_TUNNEL_PASSWORD_LENGTH:
        problems.add(
            "sshTunnelPassword",
            f"has {len(password)} characters; a password shared by every legacy client needs at least "
            f"{MIN_TUNNEL_PASSWORD_LENGTH} (e.g. `openssl rand -base64 24`), or leave it unset for keys only",
        )
    dns_token = values.get("dnsToken") or None
    return SecretSettings(
        dns_token=None if dns_token is None else pulumi.Output.secret(dns_token),
        ssh_tunnel_password=None if password is None else pulumi.Output.secret(password),
    )


def _tunnel_ports(read: Reader) -> TunnelPorts | None:
    """Read the tunnel ports and reject any that collide with each other or with fixed ports."""
    ssh_server = read.integer("sshServerPort", 1024, 65535)
    ssh_tunnels = read.port_range("sshTunnelPorts")
    localtunnel = read.port_range("localtunnelPorts")
    valid = True
    if localtunnel is not None and len(localtunnel) < 10:
        read.problems.add(
            "localtunnelPorts",
            f"{quote(str(localtunnel))} holds {len(localtunnel)} ports; each client needs one, give at least 10",
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
                read.problems.add(key, f"{quote(str(ports))} overlaps {other_label}")
                valid = False
    return TunnelPorts(ssh_server, ssh_tunnels, localtunnel) if valid else None


def _given_keys() -> set[str]:
    """Every `p2pvps:` key the stack sets: the CLI hands config over in PULUMI_CONFIG, the SDK's own
    runtime (and its mocks) keep what `set_all_config` set; pulumi.Config cannot list keys."""
    prefix = f"{NAMESPACE}:"
    keys = {*pulumi.runtime.get_config_env(), *pulumi.runtime.config.CONFIG.get()}
    return {key.removeprefix(prefix) for key in keys if key.startswith(prefix)}


def load_settings() -> Settings:
    """Read this stack's `p2pvps:*` configuration once and validate it."""
    config = pulumi.Config(NAMESPACE)
    raw = {key: value for key in SETTING_KEYS if (value := config.get(key)) is not None}
    secrets = {key: value for key in SECRET_KEYS if (value := config.get(key)) is not None}
    unknown = _given_keys() - {*SETTING_KEYS, *SECRET_KEYS}
    return parse_settings(raw, project=pulumi.get_project(), stack=pulumi.get_stack(), secrets=secrets, unknown=unknown)
