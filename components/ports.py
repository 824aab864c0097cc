"""Port ranges and the cloud-neutral list of ports the perimeter firewall opens."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from enum import Enum

ANYWHERE = ("0.0.0.0/0", "::/0")
ADMIN_SSH_PORT = 22
HTTP_PORT = 80
HTTPS_PORT = 443
OPENBAZAAR_SWARM_PORT = 4001
# The public ports no setting moves; the configurable tunnel ports must stay clear of them.
FIXED_PUBLIC_PORTS = {
    ADMIN_SSH_PORT: "admin SSH",
    HTTP_PORT: "HTTP",
    HTTPS_PORT: "HTTPS",
    OPENBAZAAR_SWARM_PORT: "the OpenBazaar swarm",
}

_RANGE = re.compile(r"^\s*(\d{1,5})\s*(?:-\s*(\d{1,5})\s*)?$")


@dataclass(frozen=True, order=True)
class PortRange:
    """An inclusive range of TCP/UDP ports; a single port has first == last."""

    first: int
    last: int

    @classmethod
    def single(cls, port: int) -> PortRange:
        return cls(port, port)

    @classmethod
    def parse(cls, text: str) -> PortRange | None:
        """`"6101-6200"` or `"4001"`; None when the text is not a valid range."""
        match = _RANGE.match(text)
        if not match:
            return None
        first = int(match.group(1))
        last = int(match.group(2) or first)
        if not 1 <= first <= last <= 65535:
            return None
        return cls(first, last)

    def __str__(self) -> str:
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"

    def __len__(self) -> int:
        return self.last - self.first + 1

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.first <= port <= self.last

    def overlaps(self, other: PortRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    def ports(self) -> range:
        return range(self.first, self.last + 1)


class Audience(Enum):
    """Who a public port is opened to."""

    ADMINS = "admins"
    EVERYONE = "everyone"


@dataclass(frozen=True)
class PublicPort:
    """One inbound firewall rule, independent of any cloud's API."""

    purpose: str
    protocol: str
    ports: PortRange
    audience: Audience

    def sources(self, admin_cidrs: tuple[str, ...]) -> tuple[str, ...]:
        return admin_cidrs if self.audience is Audience.ADMINS else ANYWHERE


def admin_ssh_port() -> PublicPort:
    return PublicPort("admin SSH", "tcp", PortRange.single(ADMIN_SSH_PORT), Audience.ADMINS)


def split_by_family(cidrs: tuple[str, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(IPv4 CIDRs, IPv6 CIDRs), each in the given order."""
    versions = [ipaddress.ip_network(cidr, strict=False).version for cidr in cidrs]
    ipv4 = tuple(cidr for cidr, version in zip(cidrs, versions, strict=True) if version == 4)
    ipv6 = tuple(cidr for cidr, version in zip(cidrs, versions, strict=True) if version == 6)
    return ipv4, ipv6
