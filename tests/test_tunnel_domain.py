"""`tunnelDomain`: the tunnels on a registrable domain of their own, on every cloud and in every container
that names them; without it, nothing moves."""

from __future__ import annotations

import json

import pytest

from harness import Evaluation, container_env, containers, evaluate, looked_up_zone

pytestmark = pytest.mark.unit

TUNNELS = "p2pvps-tunnels.net"
SITE_RECORDS = {"@", "www"}
TUNNEL_RECORDS = {"lt", "*.lt"}


def with_tunnel_domain(stack: str, **overrides: object) -> Evaluation:
    return evaluate(stack, overrides={"tunnelDomain": TUNNELS, **overrides})


@pytest.mark.parametrize(
    ("stack", "record_type", "zone_key"),
    [
        ("dev", "digitalocean:index/dnsRecord:DnsRecord", "domain"),
        ("vultr-ewr", "vultr:index/dnsRecord:DnsRecord", "domain"),
    ],
)
def test_the_tunnel_names_go_into_the_tunnel_domains_zone(stack: str, record_type: str, zone_key: str) -> None:
    (site_domain,) = {record.plain(zone_key) for record in evaluate(stack).of_type(record_type)}
    zones: dict[str, set[str]] = {}
    for record in with_tunnel_domain(stack).of_type(record_type):
        zones.setdefault(record.plain(zone_key), set()).add(record.plain("name") or "@")
    assert zones == {site_domain: SITE_RECORDS, TUNNELS: TUNNEL_RECORDS}


@pytest.mark.parametrize(
    ("stack", "zone_type", "zone_key"),
    [("dev", "digitalocean:index/domain:Domain", "name"), ("vultr-ewr", "vultr:index/dnsDomain:DnsDomain", "domain")],
)
def test_create_dns_zone_creates_both_zones(stack: str, zone_type: str, zone_key: str) -> None:
    created = {zone.plain(zone_key) for zone in with_tunnel_domain(stack, createDnsZone=True).of_type(zone_type)}
    assert TUNNELS in created
    assert len(created) == 2


def test_aws_records_and_the_certbot_policy_use_the_tunnel_zone() -> None:
    evaluation = with_tunnel_domain("aws-us-east-1")
    zones = {r.plain("name"): r.plain("zoneId") for r in evaluation.of_type("aws:route53/record:Record")}
    site_zone, tunnel_zone = looked_up_zone("us-east-1.p2pvps.net"), looked_up_zone(TUNNELS)
    assert zones == {
        "us-east-1.p2pvps.net": site_zone,
        "www.us-east-1.p2pvps.net": site_zone,
        f"lt.{TUNNELS}": tunnel_zone,
        f"*.lt.{TUNNELS}": tunnel_zone,
    }
    policy = json.loads(evaluation.named("p2pvps-host-certbot-policy").plain("policy"))
    write = next(s for s in policy["Statement"] if s["Action"] == "route53:ChangeResourceRecordSets")
    assert write["Resource"] == f"arn:aws:route53:::hostedzone/{tunnel_zone}"
    names = write["Condition"]["ForAllValues:StringLike"]["route53:ChangeResourceRecordSetsNormalizedRecordNames"]
    assert names == [f"_acme-challenge.lt.{TUNNELS}"]


def test_every_container_names_the_tunnel_domain() -> None:
    services = containers(with_tunnel_domain("dev"))
    assert container_env(services["localtunnel"])["LT_DOMAIN"] == f"lt.{TUNNELS}"
    assert container_env(services["ssh-server"])["LT_HOST"] == f"lt.{TUNNELS}"
    assert container_env(services["certbot"])["P2PVPS_TUNNEL_DOMAIN"] == TUNNELS
    nginx = services["nginx"]
    assert container_env(nginx)["P2PVPS_TLS_NAMES"] == (
        f"site=dev.p2pvps.net,www.dev.p2pvps.net lt=lt.{TUNNELS},*.lt.{TUNNELS}"
    )
    config = nginx.plain("uploads")[0]["content"]
    assert f"server_name lt.{TUNNELS};" in config
    assert f"server_name *.lt.{TUNNELS};" in config
    assert "lt.dev.p2pvps.net" not in config


def test_without_a_tunnel_domain_the_tunnels_live_under_the_domain() -> None:
    services = containers(evaluate("dev"))
    assert container_env(services["localtunnel"])["LT_DOMAIN"] == "lt.dev.p2pvps.net"
    assert container_env(services["certbot"])["P2PVPS_TUNNEL_DOMAIN"] == "dev.p2pvps.net"
