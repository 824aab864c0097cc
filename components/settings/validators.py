"""Checks of single setting values: each returns the message a user sees, or None when the value is good."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import re
from collections.abc import Callable

from components.clouds.base import CloudProfile
from components.settings.model import Retention

_DOMAIN_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_USERNAME = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")
_REGISTRY_HOST = re.compile(r"^(localhost|[a-z0-9-]+(\.[a-z0-9-]+)+)(:[0-9]{1,5})?$")
_REPOSITORY_PART = re.compile(r"^[a-z0-9]+([._-][a-z0-9]+)*$")
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

Check = Callable[[str], str | None]


def quote(value: object) -> str:
    return json.dumps(value)


def one_of(choices: tuple[str, ...], what: str) -> Check:
    return lambda value: (
        None if value in choices else f"{quote(value)} is not {what}; expected one of {', '.join(choices)}"
    )


def domain_error(value: str) -> str | None:
    labels = value.rstrip(".").split(".")
    if len(value) > 253 or len(labels) < 2 or not all(_DOMAIN_LABEL.match(label) for label in labels):
        return f"{quote(value)} is not a valid domain name; expected lowercase labels such as p2pvps.net"
    return None


def tunnel_domain_error(domain: str | None) -> Check:
    """A tunnel domain must be a registrable domain of its own: no cookie it sets may reach the site."""

    def error(value: str) -> str | None:
        shape = domain_error(value)
        if shape is not None or domain is None:
            return shape
        # Imported here: reading the Public Suffix List costs time only stacks that set tunnelDomain spend.
        from publicsuffixlist import PublicSuffixList  # noqa: PLC0415

        registrable = PublicSuffixList().privatesuffix
        site, tunnels = registrable(domain.rstrip(".")), registrable(value.rstrip("."))
        if site is not None and site == tunnels:
            return (
                f"{quote(value)} shares the registrable domain {site} with p2pvps:domain, so tunnel pages could set "
                f"cookies for the site; use a separate domain such as p2pvps-tunnels.net, or leave it unset"
            )
        return None

    return error


def reboot_window_error(value: str) -> str | None:
    if value == REBOOT_OFF or _CLOCK_TIME.match(value):
        return None
    return (
        f"{quote(value)} is not a reboot time; expected HH:MM on the server's clock (UTC, 24-hour), "
        f"such as 03:30, or {REBOOT_OFF} to never reboot automatically"
    )


def email_error(value: str) -> str | None:
    return None if _EMAIL.match(value) else f"{quote(value)} is not a valid e-mail address"


def username_error(value: str) -> str | None:
    if not _USERNAME.match(value):
        return f"{quote(value)} is not a valid Linux user name; expected lowercase letters, digits, _ or -"
    if value in RESERVED_USERS:
        return f"{quote(value)} is reserved on Ubuntu; choose another name such as p2pvps"
    return None


def cidrs_error(values: tuple[str, ...]) -> str | None:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            return f"{quote(value)} is not a valid CIDR; expected e.g. 203.0.113.7/32 or 2001:db8::/48"
        if "/" not in value:
            return f"{quote(value)} has no prefix length; write {value}/32 (IPv4) or {value}/128 (IPv6)"
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


def ssh_keys_error(values: tuple[str, ...]) -> str | None:
    for value in values:
        if not _ssh_key_is_valid(value):
            shown = value if len(value) <= 40 else value[:37] + "..."
            return f"{quote(shown)} is not an OpenSSH public key; paste the one line of your ~/.ssh/id_ed25519.pub"
    return None


def shape_error(pattern: re.Pattern[str], expected: str, cloud: str) -> Check:
    return lambda value: (
        None if pattern.match(value) else f"{quote(value)} is not valid for cloud {cloud}; expected {expected}"
    )


def size_error(profile: CloudProfile, cloud: str) -> Check:
    shape = shape_error(profile.size, profile.size_example, cloud)

    def error(value: str) -> str | None:
        if profile.refused_size is not None and profile.refused_size.match(value):
            return f"{quote(value)} is {profile.refused_size_reason}"
        return shape(value)

    return error


_INTERVAL = re.compile(r"^([0-9]{1,4})h$")
MAX_BACKUP_INTERVAL_HOURS = 168
_RETENTION_ITEM = re.compile(r"^([0-9]{1,4})([dwm])$")
RETENTION_EXAMPLE = "7d,4w,6m"
_S3_URL = re.compile(r"^s3:https://[A-Za-z0-9.-]+(:[0-9]{1,5})?/[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]+)?$")
S3_URL_EXAMPLE = "s3:https://fra1.digitaloceanspaces.com/my-backups/p2pvps"


def backup_interval_error(value: str) -> str | None:
    matched = _INTERVAL.match(value)
    if matched and 1 <= int(matched.group(1)) <= MAX_BACKUP_INTERVAL_HOURS:
        return None
    return (
        f"{quote(value)} is not a backup interval; expected whole hours from 1h to "
        f"{MAX_BACKUP_INTERVAL_HOURS}h (a week), such as 24h for daily or 6h"
    )


def interval_hours(value: str) -> int:
    """`24h` -> 24; the value has passed `backup_interval_error`."""
    return int(value.removesuffix("h"))


def retention_counts(value: str) -> dict[str, int] | None:
    """`7d,4w,6m` -> {"d": 7, "w": 4, "m": 6}; None when it is not of that shape (a unit twice included)."""
    counts: dict[str, int] = {}
    for item in value.replace(" ", "").split(","):
        matched = _RETENTION_ITEM.match(item)
        if matched is None or matched.group(2) in counts:
            return None
        counts[matched.group(2)] = int(matched.group(1))
    return counts


def retention_policy(value: str) -> Retention:
    """A valid `backupRetention` value as the snapshots to keep per period (0 for a period it leaves out)."""
    counts = retention_counts(value) or {}
    return Retention(daily=counts.get("d", 0), weekly=counts.get("w", 0), monthly=counts.get("m", 0))


def retention_error(value: str) -> str | None:
    counts = retention_counts(value)
    if counts is None:
        return (
            f"{quote(value)} is not a retention; expected how many daily (d), weekly (w) and monthly (m) "
            f"snapshots to keep, each at most once, such as {RETENTION_EXAMPLE}"
        )
    if not any(counts.values()):
        return f"{quote(value)} keeps no snapshot at all; keep at least one, such as {RETENTION_EXAMPLE}"
    return None


def s3_url_error(value: str) -> str | None:
    if _S3_URL.match(value):
        return None
    return (
        f"{quote(value)} is not an S3 repository URL; expected s3:https://<endpoint>/<bucket>[/<path>] "
        f"as restic writes it, such as {S3_URL_EXAMPLE}"
    )


def registry_error(value: str) -> str | None:
    """An image repository as Docker names it: a registry host, then lowercase path parts; no scheme, no tag."""
    host, _, path = value.partition("/")
    parts = path.split("/") if path else []
    if _REGISTRY_HOST.match(host) and parts and all(_REPOSITORY_PART.match(part) for part in parts):
        return None
    return (
        f"{quote(value)} is not an image repository; expected a registry host and a lowercase path, without "
        "https:// or a tag, e.g. ghcr.io/<owner>/p2pvps or registry.digitalocean.com/<registry>"
    )
