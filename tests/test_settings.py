"""Every stack setting: valid examples parse, each bad value is refused with a message that helps."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pulumi
import pytest

from components.catalog import build_catalog, public_ports
from components.ports import FIXED_PUBLIC_PORTS, PortRange
from components.project import config_schema
from components.settings import LocalSettings, ServerSettings, Settings, parse_settings
from components.targets import stack_values
from harness import PROJECT, PROJECT_DIR, evaluate, raw_config, run_program, sentinel_secrets, settings_for, stack_names

pytestmark = pytest.mark.unit


def parse(**changes: Any) -> Settings:
    return settings_for("dev", **changes)


def server_of(settings: Settings) -> ServerSettings:
    assert isinstance(settings.target, ServerSettings)
    return settings.target


def error_of(**changes: Any) -> str:
    with pytest.raises(pulumi.RunError) as caught:
        parse(**changes)
    return str(caught.value)


@pytest.mark.parametrize("stack", stack_names())
def test_every_example_stack_is_valid(stack: str) -> None:
    assert settings_for(stack).stack == stack


def test_dev_stack_settings_are_typed() -> None:
    settings = parse()
    server = server_of(settings)
    assert server.cloud == "digitalocean"
    assert server.region == "nyc3"
    assert settings.acme_staging is True
    assert server.volume_size_gb == 20
    assert server.admin.cidrs == ("203.0.113.0/24",)
    assert settings.tunnels.ssh_server == 6100
    assert str(settings.tunnels.ssh_tunnels) == "6101-6200"


BAD_VALUES = [
    ("cloud", "azure", '"azure" is not a supported cloud; expected one of digitalocean, aws, vultr, local'),
    ("region", "New York", '"New York" is not valid for cloud digitalocean; expected a DigitalOcean region slug'),
    ("size", "t3.small", '"t3.small" is not valid for cloud digitalocean; expected a DigitalOcean size slug'),
    ("ubuntuVersion", "22.04", '"22.04" is not a supported Ubuntu LTS release; expected one of 24.04, 26.04'),
    ("domain", "localhost", '"localhost" is not a valid domain name'),
    ("domain", "p2p_vps.net", '"p2p_vps.net" is not a valid domain name'),
    ("tunnelDomain", "tunnels_p2pvps.net", '"tunnels_p2pvps.net" is not a valid domain name'),
    ("tunnelDomain", "dev.p2pvps.net", '"dev.p2pvps.net" shares the registrable domain p2pvps.net with p2pvps:domain'),
    ("tunnelDomain", "lt.dev.p2pvps.net", "shares the registrable domain p2pvps.net"),
    ("tunnelDomain", "tunnels.p2pvps.net", "shares the registrable domain p2pvps.net"),
    ("adminEmail", "ops-at-p2pvps.net", '"ops-at-p2pvps.net" is not a valid e-mail address'),
    ("adminUser", "root", '"root" is reserved on Ubuntu'),
    ("adminUser", "Admin User", '"Admin User" is not a valid Linux user name'),
    ("adminCidrs", ["300.1.1.1/33"], '"300.1.1.1/33" is not a valid CIDR'),
    ("adminCidrs", ["198.51.100.7"], '"198.51.100.7" has no prefix length; write 198.51.100.7/32'),
    ("adminCidrs", [], "is empty; at least one entry is required"),
    ("adminCidrs", "198.51.100.7/32", '"198.51.100.7/32" is not a list of strings'),
    ("sshPublicKeys", ["ssh-ed25519 not-base64!"], "is not an OpenSSH public key"),
    (
        "sshPublicKeys",
        ["ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAICGjbDLvvYTS7vlXaH4z61b/CkmKFkrmZRCbHaMLZz99"],
        "is not an OpenSSH public key",
    ),
    ("acmeStaging", "yes", '"yes" is not a boolean; expected true or false'),
    ("volumeSizeGb", "0", "0 is out of range; expected 1 to 16384"),
    ("volumeSizeGb", "twenty", '"twenty" is not a whole number'),
    ("ipv6", "maybe", '"maybe" is not a boolean'),
    ("createDnsZone", "1", '"1" is not a boolean'),
    ("sshServerPort", "22", "22 is out of range; expected 1024 to 65535"),
    ("sshServerPort", "6150", '"6150" overlaps p2pvps:sshTunnelPorts (6101-6200)'),
    ("sshTunnelPorts", "6000-6200", '"6000-6200" overlaps'),
    ("sshTunnelPorts", "6200-6100", '"6200-6100" is not a port range'),
    ("localtunnelPorts", "40000-40004", "holds 5 ports; each client needs one, give at least 10"),
    ("localtunnelPorts", "3990-4010", '"3990-4010" overlaps the OpenBazaar swarm (4001)'),
    ("rebootWindow", "3:30", '"3:30" is not a reboot time; expected HH:MM on the server\'s clock (UTC, 24-hour)'),
    ("rebootWindow", "24:00", '"24:00" is not a reboot time'),
    ("rebootWindow", "03:60", '"03:60" is not a reboot time'),
    ("rebootWindow", "now", '"now" is not a reboot time; expected HH:MM'),
    ("rebootWindow", "false", "or off to never reboot automatically"),
    ("backupSchedule", "24", '"24" is not a backup interval; expected whole hours from 1h to 168h (a week)'),
    ("backupSchedule", "1d", '"1d" is not a backup interval'),
    ("backupSchedule", "0h", '"0h" is not a backup interval'),
    ("backupSchedule", "169h", '"169h" is not a backup interval'),
    ("backupRetention", "7 days", '"7 days" is not a retention; expected how many daily (d), weekly (w) and monthly'),
    ("backupRetention", "7d,3d", '"7d,3d" is not a retention'),
    ("backupRetention", "7y", '"7y" is not a retention'),
    ("backupRetention", "0d,0w", '"0d,0w" keeps no snapshot at all; keep at least one, such as 7d,4w,6m'),
    ("backupRepository", "https://s3.amazonaws.com/b", '"https://s3.amazonaws.com/b" is not an S3 repository URL'),
    ("backupRepository", "s3:http://minio:9000/backups", "expected s3:https://<endpoint>/<bucket>[/<path>]"),
    ("restoreFrom", "/srv/backups", '"/srv/backups" is not an S3 repository URL'),
    ("backup", "yes", '"yes" is not a boolean; expected true or false'),
]


@pytest.mark.parametrize(("key", "value", "expected"), BAD_VALUES, ids=[f"{k}={v}" for k, v, _ in BAD_VALUES])
def test_bad_value_is_refused_naming_key_value_and_expectation(key: str, value: Any, expected: str) -> None:
    message = error_of(**{key: value})
    assert f"p2pvps:{key}: " in message
    assert expected in message


REQUIRED = ["region", "domain", "adminEmail", "adminCidrs", "sshPublicKeys"]


@pytest.mark.parametrize("key", REQUIRED)
def test_required_key_missing_says_how_to_set_it(key: str) -> None:
    assert f"p2pvps:{key}: missing; set it with `pulumi config set p2pvps:{key} <value>`" in error_of(**{key: None})


def test_digitalocean_needs_a_dns_token_for_the_wildcard_certificate() -> None:
    evaluation = run_program("dev", secrets={})
    assert "p2pvps:dnsToken: missing; certbot needs a DigitalOcean API token" in str(evaluation.error)
    assert "pulumi config set --secret p2pvps:dnsToken <token>" in str(evaluation.error)
    assert evaluation.resources == []


CROSS_CLOUD = [
    ("aws", "size", "s-1vcpu-2gb", '"s-1vcpu-2gb" is not valid for cloud aws; expected an EC2 instance type'),
    ("aws", "region", "nyc3", '"nyc3" is not valid for cloud aws; expected an AWS region'),
    ("aws", "size", "t2.small", '"t2.small" is a Xen-generation instance type; choose a Nitro type'),
    ("aws", "ipv6", "true", "true is not supported on aws yet"),
    ("vultr", "size", "s-1vcpu-2gb", '"s-1vcpu-2gb" is not valid for cloud vultr; expected a Vultr plan id'),
    ("vultr", "region", "ewr1", '"ewr1" is not valid for cloud vultr; expected a Vultr region id'),
    ("digitalocean", "size", "vc2-1c-2gb", '"vc2-1c-2gb" is not valid for cloud digitalocean'),
    ("digitalocean", "size", "t3.small", '"t3.small" is not valid for cloud digitalocean'),
]


@pytest.mark.parametrize(
    ("stack_cloud", "key", "value", "expected"), CROSS_CLOUD, ids=[f"{c}-{k}={v}" for c, k, v, _ in CROSS_CLOUD]
)
def test_size_and_region_are_checked_for_the_chosen_cloud(
    stack_cloud: str, key: str, value: str, expected: str
) -> None:
    stack = {"aws": "aws-us-east-1", "vultr": "vultr-ewr", "digitalocean": "dev"}[stack_cloud]
    changes: dict[str, Any] = {key: value}
    with pytest.raises(pulumi.RunError) as caught:
        settings_for(stack, **changes)
    assert f"p2pvps:{key}: {expected}" in str(caught.value)


@pytest.mark.parametrize(
    ("stack", "size"), [("aws-us-east-1", "t3.small"), ("vultr-ewr", "vc2-1c-2gb"), ("dev", "s-1vcpu-2gb")]
)
def test_each_cloud_defaults_to_a_2gb_size(stack: str, size: str) -> None:
    assert server_of(settings_for(stack, size=None)).size == size


def test_vultr_needs_a_dns_token_aws_does_not() -> None:
    assert "p2pvps:dnsToken: missing; certbot needs a Vultr API key" in str(run_program("vultr-ewr", secrets={}).error)
    assert run_program("aws-us-east-1", secrets={}).error is None


def test_local_stack_needs_no_cloud_keys_or_tokens() -> None:
    evaluation = run_program("local", remove=("region", "adminCidrs", "sshPublicKeys"), secrets={})
    assert evaluation.error is None
    local = settings_for("local", region=None, adminCidrs=None, sshPublicKeys=None)
    assert isinstance(local.target, LocalSettings)


def test_tunnel_ports_are_checked_against_every_public_port_no_setting_moves() -> None:
    """The collision check and the catalog agree: what is public and not a tunnel port is a fixed port."""
    settings = parse()
    tunnels = settings.tunnels
    movable = {PortRange.single(tunnels.ssh_server), tunnels.ssh_tunnels, tunnels.localtunnel_clients}
    perimeter = public_ports(build_catalog(stack_values(settings)))
    fixed = {rule.ports for rule in perimeter} - movable
    assert fixed == {PortRange.single(port) for port in FIXED_PUBLIC_PORTS}


def test_the_reboot_window_defaults_to_the_night_and_can_be_turned_off() -> None:
    assert server_of(parse()).reboot_time == "03:30"
    assert server_of(parse(rebootWindow="22:15")).reboot_time == "22:15"
    assert server_of(parse(rebootWindow="off")).reboot_time is None


def test_all_problems_are_reported_in_one_run() -> None:
    message = error_of(domain="x", adminEmail="nope", volumeSizeGb="-1")
    assert "p2pvps:domain:" in message and "p2pvps:adminEmail:" in message and "p2pvps:volumeSizeGb:" in message


def test_bad_value_stops_the_program_before_any_resource_is_registered() -> None:
    evaluation = run_program("dev", overrides={"adminCidrs": ["300.1.1.1/33"]})
    assert isinstance(evaluation.error, pulumi.RunError)
    assert 'p2pvps:adminCidrs: "300.1.1.1/33" is not a valid CIDR' in str(evaluation.error)
    assert evaluation.resources == []


def test_valid_config_registers_resources() -> None:
    assert evaluate("dev").resources


class RecordingConfig(dict[str, str]):
    """Config values that remember which keys the parser looked up."""

    def __init__(self, values: Mapping[str, str], looked_up: set[str]) -> None:
        super().__init__(values)
        self.looked_up = looked_up

    def get(self, key: str, default: Any = None) -> Any:
        self.looked_up.add(key)
        return super().get(key, default)


def test_the_parser_reads_exactly_the_keys_pulumi_yaml_declares() -> None:
    """No declared key is dead, and the parser looks up no key the schema does not declare."""
    plain: set[str] = set()
    secret: set[str] = set()
    for stack in stack_names():
        parse_settings(
            RecordingConfig(raw_config(stack), plain),
            project=PROJECT,
            stack=stack,
            secrets=RecordingConfig(sentinel_secrets(), secret),
        )
    schema = config_schema()
    assert plain == {key for key, spec in schema.items() if not spec.get("secret")}
    assert secret == {key for key, spec in schema.items() if spec.get("secret")}


def test_every_key_has_a_description_and_a_type() -> None:
    for key, spec in config_schema().items():
        assert spec.get("description"), f"{key} has no description"
        assert spec.get("type") in {"string", "boolean", "integer", "array"}, key


def test_tunnels_live_under_the_domain_unless_a_tunnel_domain_is_set() -> None:
    assert parse().tunnel_domain == "dev.p2pvps.net"
    assert parse(tunnelDomain="p2pvps-tunnels.net").tunnel_domain == "p2pvps-tunnels.net"
    assert parse(domain="p2pvps.co.uk", tunnelDomain="tunnels.co.uk").tunnel_domain == "tunnels.co.uk"


def test_a_short_tunnel_password_is_refused_without_showing_it() -> None:
    with pytest.raises(pulumi.RunError) as caught:
        settings_for("dev", secrets={"dnsToken": "token", "sshTunnelPassword": "sshuserpassword"})
    message = str(caught.value)
    assert (
        "p2pvps:sshTunnelPassword: has 15 characters; a password shared by every legacy client needs at least 20"
        in (message)
    )
    assert "sshuserpassword" not in message


def test_a_long_tunnel_password_becomes_a_secret_output() -> None:
    settings = settings_for("dev", secrets={"dnsToken": "token", "sshTunnelPassword": "x" * 20})
    assert isinstance(settings.secret_settings.ssh_tunnel_password, pulumi.Output)
    assert settings_for("dev", secrets={"dnsToken": "token"}).secret_settings.ssh_tunnel_password is None


def test_a_misspelt_key_is_refused_with_a_suggestion() -> None:
    evaluation = run_program("dev", overrides={"adminCidr": ["203.0.113.7/32"], "sshTunelPorts": "6101-6150"})
    message = str(evaluation.error)
    assert "p2pvps:adminCidr: is not a setting of this program; did you mean p2pvps:adminCidrs?" in message
    assert "p2pvps:sshTunelPorts: is not a setting of this program; did you mean p2pvps:sshTunnelPorts?" in message
    assert evaluation.resources == []


def test_an_unknown_key_without_a_near_name_points_at_the_list() -> None:
    message = str(run_program("dev", overrides={"favouriteFruit": "pear"}).error)
    expected = "p2pvps:favouriteFruit: is not a setting of this program; the settings are listed in Pulumi.yaml"
    assert expected in message


def readme_setting_rows() -> dict[str, tuple[str, str]]:
    """`key -> (type, default)` of README.md's configuration table."""
    readme = (PROJECT_DIR / "README.md").read_text()
    table = readme[readme.index("| Key | Type | Default | What it is |") :].split("\n\n", 1)[0]
    rows = [row.split(" | ") for row in table.splitlines()[2:]]
    return {cells[0].strip("| `"): (cells[1], cells[2]) for cells in rows}


def test_the_readme_documents_exactly_the_declared_settings_with_their_types_and_defaults() -> None:
    rows = readme_setting_rows()
    schema = config_schema()
    assert set(rows) == set(schema)
    for key, spec in schema.items():
        kind, default = rows[key]
        expected_kind = "secret" if spec.get("secret") else {"array": "list"}.get(spec["type"], spec["type"])
        assert kind == expected_kind, key
        if "default" in spec:
            written = str(spec["default"]).lower() if isinstance(spec["default"], bool) else str(spec["default"])
            assert default == f"`{written}`", key
