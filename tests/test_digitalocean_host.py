"""The DigitalOcean host of the dev stack, as `pulumi up -s dev` would register it."""

from __future__ import annotations

from collections import Counter

import pytest

from harness import (
    DROPLET_ID,
    DROPLET_IPV6,
    HOST_PUBLIC_KEY,
    RESERVED_IPV4,
    Evaluation,
    Registration,
    evaluate,
    host_resources,
    stack_config,
)

pytestmark = pytest.mark.unit

DROPLET = "digitalocean:index/droplet:Droplet"
FIREWALL = "digitalocean:index/firewall:Firewall"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
DNS_RECORD = "digitalocean:index/dnsRecord:DnsRecord"
SSH_KEY = "digitalocean:index/sshKey:SshKey"
TAG = "digitalocean:index/tag:Tag"
COMMAND = "command:remote:Command"  # the readiness gate and the host configuration
GATE_NAME = "p2pvps-host-ready"
WORLD = ["0.0.0.0/0", "::/0"]


def inbound(evaluation: Evaluation) -> dict[str, list[dict]]:
    """Inbound rules of the firewall by port range ('' for ICMP)."""
    rules: dict[str, list[dict]] = {}
    for rule in evaluation.one(FIREWALL).plain("inboundRules"):
        rules.setdefault(rule.get("portRange", ""), []).append(rule)
    return rules


def open_ports(evaluation: Evaluation) -> set[int]:
    ports: set[int] = set()
    for port_range in inbound(evaluation):
        if port_range:
            first, _, last = port_range.partition("-")
            ports.update(range(int(first), int(last or first) + 1))
    return ports


def test_host_resources_are_exactly_the_expected_set(dev: Evaluation) -> None:
    assert Counter(r.type for r in host_resources(dev, "p2pvps:digitalocean:Host")) == {
        "p2pvps:digitalocean:Host": 1,
        "p2pvps:digitalocean:Dns": 1,
        "tls:index/privateKey:PrivateKey": 1,
        SSH_KEY: 1,
        VOLUME: 1,
        DROPLET: 1,
        ATTACHMENT: 1,
        RESERVED_IP: 1,
        ASSIGNMENT: 1,
        FIREWALL: 1,
        TAG: 1,
        DNS_RECORD: 4,
        COMMAND: 2,
    }


def test_every_resource_lives_under_the_server_component(dev: Evaluation) -> None:
    server = dev.one("p2pvps:index:Server")
    for registration in dev.resources:
        if registration is server:
            continue
        assert registration.parent, f"{registration.name} has no parent"
        assert server in list(dev.ancestors(registration)), f"{registration.name} is not under the server"
    assert "p2pvps:index:Server" in {dev.by_urn(r.parent).type for r in dev.of_type("p2pvps:digitalocean:Host")}


def test_droplet_runs_ubuntu_lts_with_monitoring_in_the_stack_region(dev: Evaluation) -> None:
    droplet = dev.one(DROPLET)
    assert droplet.plain("image") == "ubuntu-24-04-x64"
    assert droplet.plain("monitoring") is True
    assert droplet.plain("region") == "nyc3"
    assert droplet.plain("size") == "s-1vcpu-2gb"
    assert droplet.plain("name") == "p2pvps-dev"
    assert droplet.delete_before_replace, "the data volume must detach before a replacement droplet attaches it"


def test_one_admin_ssh_key_resource_per_public_key_attached_to_the_droplet() -> None:
    keys = stack_config("dev")["p2pvps:sshPublicKeys"]
    second = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBJgxEIJkj3bJuVkmHVW7cn+b6uOZbtqLRkoZwy3Ax0p second@example.com"
    evaluation = evaluate("dev", overrides={"sshPublicKeys": [*keys, second]})
    registered = evaluation.of_type(SSH_KEY)
    assert sorted(k.plain("publicKey") for k in registered) == sorted([*keys, second])
    assert sorted(evaluation.one(DROPLET).plain("sshKeys")) == sorted(f"fp:{k.name}" for k in registered)


def test_user_data_is_secret_because_it_carries_the_host_private_key(dev: Evaluation) -> None:
    droplet = dev.one(DROPLET)
    assert droplet.is_secret("userData")
    assert "host-private-key" in droplet.plain("userData")


def test_reserved_ip_is_assigned_to_the_droplet_and_is_the_public_address(dev: Evaluation) -> None:
    assignment = dev.one(ASSIGNMENT)
    assert assignment.plain("dropletId") == int(DROPLET_ID)
    assert assignment.plain("ipAddress") == RESERVED_IPV4
    assert dev.one(RESERVED_IP).plain("region") == "nyc3"
    assert dev.exports["publicAddress"] == RESERVED_IPV4
    assert dev.exports["sshCommand"] == f"ssh p2pvps@{RESERVED_IPV4}"
    assert dev.exports["siteUrl"] == "https://dev.p2pvps.net/"


def test_dns_points_site_and_localtunnel_names_at_the_reserved_ip(dev: Evaluation) -> None:
    records = {(r.plain("type"), r.plain("name")): r.plain() for r in dev.of_type(DNS_RECORD)}
    assert set(records) == {("A", "@"), ("A", "www"), ("A", "lt"), ("A", "*.lt")}
    for record in records.values():
        assert record["value"] == RESERVED_IPV4
        assert record["domain"] == "dev.p2pvps.net"
        assert record["ttl"] == 300


def test_ipv6_stack_adds_aaaa_records_for_the_droplet_address() -> None:
    evaluation = evaluate("ams3")
    assert evaluation.one(DROPLET).plain("ipv6") is True
    aaaa = [r for r in evaluation.of_type(DNS_RECORD) if r.plain("type") == "AAAA"]
    assert {r.plain("name") for r in aaaa} == {"@", "www", "lt", "*.lt"}
    assert {r.plain("value") for r in aaaa} == {DROPLET_IPV6}


def test_dns_zone_is_created_only_when_asked(dev: Evaluation) -> None:
    assert not dev.of_type("digitalocean:index/domain:Domain")
    evaluation = evaluate("dev", overrides={"createDnsZone": True})
    zone = evaluation.one("digitalocean:index/domain:Domain")
    assert zone.plain("name") == "dev.p2pvps.net"
    for record in evaluation.of_type(DNS_RECORD):
        assert zone.urn in record.dependencies


def test_data_volume_is_protected_retained_and_independent_of_the_droplet(dev: Evaluation) -> None:
    volume = dev.one(VOLUME)
    droplet = dev.one(DROPLET)
    assert volume.protect and volume.retain_on_delete
    assert volume.plain("size") == 20
    assert volume.plain("region") == "nyc3"
    assert droplet.urn not in volume.dependencies
    assert DROPLET_ID not in str(volume.inputs)
    attachment = dev.one(ATTACHMENT)
    assert attachment.plain("volumeId") == volume.id
    assert attachment.plain("dropletId") == int(DROPLET_ID)


def test_admin_ssh_is_open_only_to_admin_cidrs(dev: Evaluation) -> None:
    rules = inbound(dev)
    assert [r["sourceAddresses"] for r in rules["22"]] == [["203.0.113.0/24"]]


def test_web_tunnel_and_swarm_ports_are_open_to_the_world(dev: Evaluation) -> None:
    rules = inbound(dev)
    for port_range in ("80", "443", "6100", "6101-6200", "4001", "40000-40099"):
        assert [r["sourceAddresses"] for r in rules[port_range]] == [WORLD], port_range
        assert rules[port_range][0]["protocol"] == "tcp"


@pytest.mark.parametrize(
    ("port", "what"),
    [
        (27017, "MongoDB"),
        (3500, "legacy MongoDB"),
        (4002, "OpenBazaar API"),
        (9228, "Node inspector"),
        (9229, "Node inspector"),
        (2375, "Docker API"),
        (2376, "Docker TLS API"),
        (3000, "KeystoneJS"),
        (3434, "Listing-Manager"),
        (3002, "LocalTunnel server"),
    ],
)
def test_internal_ports_are_never_opened(dev: Evaluation, port: int, what: str) -> None:
    assert port not in open_ports(dev), f"{what} ({port}) must not be reachable from the internet"


def test_the_droplet_is_born_inside_the_firewall(dev: Evaluation) -> None:
    """The firewall applies to a tag and exists before the droplet, which is created with that tag; a
    firewall attached by droplet id could only come after the droplet, leaving it open while it boots."""
    firewall, droplet, tag = dev.one(FIREWALL), dev.one(DROPLET), dev.one(TAG)
    assert tag.plain("name") == "p2pvps-dev-firewall"
    assert firewall.plain("tags") == ["p2pvps-dev-firewall"]
    assert "dropletIds" not in firewall.plain()
    assert "p2pvps-dev-firewall" in droplet.plain("tags")
    assert firewall.urn in droplet.dependencies
    assert droplet.urn not in firewall.dependencies


def test_firewall_allows_all_outbound(dev: Evaluation) -> None:
    firewall = dev.one(FIREWALL)
    outbound = {(r["protocol"], r.get("portRange", "")) for r in firewall.plain("outboundRules")}
    assert outbound == {("tcp", "1-65535"), ("udp", "1-65535"), ("icmp", "")}


def test_moving_a_tunnel_range_moves_the_firewall_rule() -> None:
    evaluation = evaluate("dev", overrides={"sshTunnelPorts": "7000-7099"})
    rules = inbound(evaluation)
    assert "7000-7099" in rules and "6101-6200" not in rules


def test_readiness_gate_waits_for_cloud_init_over_a_pinned_host_key(dev: Evaluation) -> None:
    gate = dev.named(GATE_NAME)
    assert "cloud-init status --wait" in gate.plain("create")
    assert ': "${cloud_init_log:=/var/log/cloud-init-output.log}"' in gate.plain("create")
    assert 'tail -n 40 "$cloud_init_log"' in gate.plain("create")
    connection = gate.plain("connection")
    assert connection["host"] == RESERVED_IPV4
    assert connection["user"] == "p2pvps"
    assert connection["hostKey"] == HOST_PUBLIC_KEY
    assert connection["dialErrorLimit"] == -1
    assert "privateKey" not in connection and "password" not in connection
    assert gate.is_secret("connection")
    assert gate.custom_timeouts["create"] == "20m"
    assert gate.plain("triggers") == [DROPLET_ID]


def test_readiness_gate_waits_for_address_volume_and_firewall(dev: Evaluation) -> None:
    gate = dev.named(GATE_NAME)
    for type_ in (ASSIGNMENT, ATTACHMENT, FIREWALL):
        assert dev.one(type_).urn in gate.dependencies, type_


def test_host_key_is_generated_once_as_ed25519(dev: Evaluation) -> None:
    assert dev.one("tls:index/privateKey:PrivateKey").plain("algorithm") == "ED25519"


def test_same_config_registers_identical_inputs_twice() -> None:
    def snapshot(evaluation: Evaluation) -> dict[str, tuple]:
        return {r.urn: (r.inputs, sorted(r.dependencies), r.parent) for r in evaluation.resources}

    assert snapshot(evaluate("dev")) == snapshot(evaluate("dev"))


def names(registrations: list[Registration]) -> list[str]:
    return sorted(r.name for r in registrations)


def test_resource_names_do_not_depend_on_the_region() -> None:
    """Names are state identities: a region stack and dev share them, so one program serves both."""
    assert names(evaluate("dev").resources) == names(evaluate("dev", overrides={"region": "fra1"}).resources)
