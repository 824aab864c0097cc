"""The DNS names the server answers for, relative to the zone (`@` is the apex)."""

from __future__ import annotations

from typing import TypeVar

Address = TypeVar("Address")

SITE_RECORDS = ("@", "www")
LOCALTUNNEL_RECORDS = ("lt", "*.lt")
RECORD_NAMES = (*SITE_RECORDS, *LOCALTUNNEL_RECORDS)
TTL_SECONDS = 300


def fqdn(record: str, domain: str) -> str:
    return domain if record == "@" else f"{record}.{domain}"


def site_hostnames(domain: str) -> tuple[str, ...]:
    return tuple(fqdn(record, domain) for record in SITE_RECORDS)


def localtunnel_hostnames(domain: str) -> tuple[str, ...]:
    return tuple(fqdn(record, domain) for record in LOCALTUNNEL_RECORDS)


def record_slug(record: str) -> str:
    """A resource-name-safe form of a record name: `apex`, `www`, `lt`, `wildcard-lt`."""
    return {"@": "apex", "*.lt": "wildcard-lt"}.get(record, record)


def address_records(ipv4: Address, ipv6: Address | None) -> list[tuple[str, Address]]:
    """(record type, address) pairs: an A record, and an AAAA record when there is an IPv6 address."""
    return [("A", ipv4)] if ipv6 is None else [("A", ipv4), ("AAAA", ipv6)]
