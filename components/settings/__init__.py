"""Stack settings: every `p2pvps:*` key read once, validated, and frozen into typed objects.

`parse_settings` is pure (plain strings in, `Settings` or `pulumi.RunError` out) so it is tested
without the Pulumi runtime; `load_settings` is the only place in the program that reads
`pulumi.Config`. The keys are those of Pulumi.yaml's `config:` block, and nothing else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pulumi

from components.clouds import CLOUD_NAMES, LOCAL
from components.ports import FIXED_PUBLIC_PORTS, PortRange
from components.project import config_schema
from components.settings.backup import backup_settings
from components.settings.images import image_registry
from components.settings.model import (
    NAMESPACE,
    AdminAccess,
    BackupSettings,
    ImageRegistry,
    LocalSettings,
    MonitoringSettings,
    RepositoryAccess,
    Retention,
    SecretSettings,
    ServerSettings,
    Settings,
    TunnelPorts,
)
from components.settings.monitoring import monitoring_settings
from components.settings.reader import Problems, Reader
from components.settings.server import server_settings
from components.settings.validators import (
    domain_error,
    email_error,
    one_of,
    quote,
    tunnel_domain_error,
)

__all__ = [
    "NAMESPACE",
    "SECRET_KEYS",
    "SETTING_KEYS",
    "AdminAccess",
    "BackupSettings",
    "ImageRegistry",
    "LocalSettings",
    "MonitoringSettings",
    "RepositoryAccess",
    "Retention",
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
        target = server_settings(read, cloud_name, secret_settings)
    domain = read.check("domain", read.text("domain"), domain_error)
    tunnel_domain = read.check("tunnelDomain", read.text("tunnelDomain", required=False), tunnel_domain_error(domain))
    admin_email = read.check("adminEmail", read.text("adminEmail"), email_error)
    acme_staging = read.boolean("acmeStaging")
    tunnels = _tunnel_ports(read)
    backup = backup_settings(read, secrets or {}, on_a_cloud=cloud_name != LOCAL)
    monitoring = monitoring_settings(read, admin_email, on_a_cloud=cloud_name != LOCAL)
    registry = image_registry(read, secrets or {})

    problems.raise_if_any()
    assert target is not None and domain and admin_email and acme_staging is not None and tunnels is not None
    assert backup is not None and monitoring is not None
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
        backup=backup,
        monitoring=monitoring,
        image_registry=registry,
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
