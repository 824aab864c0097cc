"""The DNS names the server answers for, relative to the zone (`@` is the apex)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

Address = TypeVar("Address")
Zone = TypeVar("Zone")

SITE_RECORDS = ("@", "www")
LOCALTUNNEL_RECORDS = ("lt", "*.lt")
RECORD_NAMES = (*SITE_RECORDS, *LOCALTUNNEL_RECORDS)
TTL_SECONDS = 300


def fqdn(record: str, domain: str) -> str:
    return domain if record == "@" else f"{record}.{domain}"


def site_hostnames(domain: str) -> tuple[str, ...]:
    return tuple(fqdn(record, domain) for record in SITE_RECORDS)


def localtunnel_hostnames(tunnel_domain: str) -> tuple[str, ...]:
    """The LocalTunnel API name and its wildcard: `lt.<tunnel domain>`, `*.lt.<tunnel domain>`."""
    return tuple(fqdn(record, tunnel_domain) for record in LOCALTUNNEL_RECORDS)


def zones(domain: str, tunnel_domain: str, zone: Callable[[str, str], Zone]) -> list[tuple[str, Zone, tuple[str, ...]]]:
    """(zone name, `zone(slug, zone name)`, record names) for each DNS zone of the stack: every name in
    `domain` (slug `zone`), or the LocalTunnel names in the tunnel domain's zone (slug `tunnel-zone`).
    The LocalTunnel names are in the last zone either way."""
    if tunnel_domain == domain:
        return [(domain, zone("zone", domain), RECORD_NAMES)]
    return [
        (domain, zone("zone", domain), SITE_RECORDS),
        (tunnel_domain, zone("tunnel-zone", tunnel_domain), LOCALTUNNEL_RECORDS),
    ]


def record_slug(record: str) -> str:
    """A resource-name-safe form of a record name: `apex`, `www`, `lt`, `wildcard-lt`."""
    return {"@": "apex", "*.lt": "wildcard-lt"}.get(record, record)


def address_records(ipv4: Address, ipv6: Address | None) -> list[tuple[str, Address]]:
    """(record type, address) pairs: an A record, and an AAAA record when there is an IPv6 address."""
    return [("A", ipv4)] if ipv6 is None else [("A", ipv4), ("AAAA", ipv6)]
