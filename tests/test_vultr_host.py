"""The Vultr host of the vultr-ewr stack, as `pulumi up` would register it."""

from __future__ import annotations

import pytest
import yaml

from harness import (
    HOST_PUBLIC_KEY,
    INSTANCE_ID,
    RESERVED_IPV4,
    SENTINEL,
    VULTR_OS_ID,
    Evaluation,
    container_env,
    containers,
)

pytestmark = pytest.mark.unit

STACK = "vultr-ewr"
INSTANCE = "vultr:index/instance:Instance"


def test_no_other_cloud_is_touched(vultr: Evaluation) -> None:
    assert not [r.type for r in vultr.resources if r.type.startswith(("digitalocean:", "aws:"))]


def test_instance_runs_ubuntu_lts_behind_the_reserved_ip_and_firewall(vultr: Evaluation) -> None:
    instance = vultr.one(INSTANCE)
    inputs = instance.plain()
    assert inputs["region"] == "ewr" and inputs["plan"] == "vc2-1c-2gb"
    assert inputs["osId"] == int(VULTR_OS_ID)
    assert inputs["reservedIpId"] == vultr.one("vultr:index/reservedIp:ReservedIp").id
    assert inputs["firewallGroupId"] == vultr.one("vultr:index/firewallGroup:FirewallGroup").id
    assert instance.is_secret("userData") and instance.delete_before_replace


def test_firewall_rules_are_exactly_the_port_list(vultr: Evaluation) -> None:
    rules = {
        (r.plain("protocol"), r.plain("ipType"), r.plain("subnet"), r.plain("subnetSize"), r.plain().get("port"))
        for r in vultr.of_type("vultr:index/firewallRule:FirewallRule")
    }
    world = [("v4", "0.0.0.0", 0), ("v6", "::", 0)]
    expected = {("tcp", "v4", "203.0.113.0", 24, "22")}
    expected |= {
        ("tcp", *net, port) for net in world for port in ("80", "443", "4001", "6100", "6101:6200", "40000:40099")
    }
    expected |= {("icmp", *net, None) for net in world}
    assert rules == expected


def test_block_storage_is_protected_retained_and_attached(vultr: Evaluation) -> None:
    storage = vultr.one("vultr:index/blockStorage:BlockStorage")
    assert storage.protect and storage.retain_on_delete
    assert storage.plain("attachedToInstance") == INSTANCE_ID
    assert storage.plain("sizeGb") == 40 and storage.plain("region") == "ewr"
    document = yaml.safe_load(vultr.one(INSTANCE).plain("userData"))
    mount = next(cmd for cmd in document["runcmd"] if cmd[0].endswith("p2pvps-mount-data"))
    assert mount[1:] == ["/dev/vdb", "/srv/p2pvps"]


def test_dns_points_at_the_reserved_ip(vultr: Evaluation) -> None:
    records = {r.plain("name"): r.plain() for r in vultr.of_type("vultr:index/dnsRecord:DnsRecord")}
    assert set(records) == {"", "www", "lt", "*.lt"}
    assert {(r["type"], r["data"], r["domain"], r["ttl"]) for r in records.values()} == {
        ("A", RESERVED_IPV4, "ewr.p2pvps.net", 300)
    }


def test_certbot_uses_the_vultr_hook_with_the_dns_token(vultr: Evaluation) -> None:
    certbot = containers(vultr)["certbot"]
    env = container_env(certbot)
    assert env["DNS_PLUGIN"] == "vultr" and env["VULTR_API_KEY"] == f"{SENTINEL}dnsToken"
    assert "/opt/p2pvps/vultr-dns-hook.py" in {u["file"] for u in certbot.plain("uploads")}


def test_readiness_gate_and_docker_use_the_reserved_ip(vultr: Evaluation) -> None:
    connection = vultr.named("p2pvps-host-ready").plain("connection")
    assert connection["host"] == RESERVED_IPV4 and connection["hostKey"] == HOST_PUBLIC_KEY
    assert vultr.one("pulumi:providers:docker").plain("host") == f"ssh://p2pvps@{RESERVED_IPV4}"
