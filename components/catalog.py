"""The P2P VPS services: one description that the firewall, the host and the container stack read."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from components.ports import Audience, PortRange, PublicPort, admin_ssh_port
from components.settings import Settings


class Exposure(Enum):
    """How far a container port reaches."""

    PUBLIC = "public"
    INTERNAL = "internal"


@dataclass(frozen=True)
class ServicePort:
    purpose: str
    ports: PortRange
    exposure: Exposure
    protocol: str = "tcp"


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    ports: tuple[ServicePort, ...] = ()


def build_catalog(settings: Settings) -> tuple[ServiceSpec, ...]:
    tunnels = settings.tunnels
    return (
        ServiceSpec(
            "nginx",
            ports=(
                ServicePort("HTTP", PortRange.single(80), Exposure.PUBLIC),
                ServicePort("HTTPS", PortRange.single(443), Exposure.PUBLIC),
            ),
        ),
        ServiceSpec("certbot"),
        ServiceSpec("connextcms", ports=(ServicePort("KeystoneJS", PortRange.single(3000), Exposure.INTERNAL),)),
        ServiceSpec("mongodb", ports=(ServicePort("MongoDB", PortRange.single(27017), Exposure.INTERNAL),)),
        ServiceSpec(
            "openbazaar",
            ports=(
                ServicePort("OpenBazaar swarm", PortRange.single(4001), Exposure.PUBLIC),
                ServicePort("OpenBazaar API", PortRange.single(4002), Exposure.INTERNAL),
            ),
        ),
        ServiceSpec(
            "listing-manager", ports=(ServicePort("Listing-Manager", PortRange.single(3434), Exposure.INTERNAL),)
        ),
        ServiceSpec(
            "ssh-server",
            ports=(
                ServicePort("SSH-Server", PortRange.single(tunnels.ssh_server), Exposure.PUBLIC),
                ServicePort("SSH tunnels", tunnels.ssh_tunnels, Exposure.PUBLIC),
            ),
        ),
        ServiceSpec(
            "localtunnel",
            ports=(
                ServicePort("LocalTunnel server", PortRange.single(3002), Exposure.INTERNAL),
                ServicePort("LocalTunnel client sockets", tunnels.localtunnel_clients, Exposure.PUBLIC),
            ),
        ),
    )


def public_ports(catalog: tuple[ServiceSpec, ...]) -> tuple[PublicPort, ...]:
    """The perimeter: admin SSH plus every port a service declares public."""
    service_ports = (
        PublicPort(port.purpose, port.protocol, port.ports, Audience.EVERYONE)
        for service in catalog
        for port in service.ports
        if port.exposure is Exposure.PUBLIC
    )
    return (admin_ssh_port(), *sorted(service_ports, key=lambda rule: (rule.ports, rule.protocol)))
