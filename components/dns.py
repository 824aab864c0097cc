"""The DNS names the server answers for, relative to the zone (`@` is the apex)."""

from __future__ import annotations

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
