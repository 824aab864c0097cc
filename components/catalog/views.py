"""What the rest of the program derives from the catalog: the data volumes, the secrets, the perimeter."""

from __future__ import annotations

from components.catalog.model import DataVolume, Exposure, Secret, ServiceSpec
from components.ports import Audience, PublicPort, admin_ssh_port


def data_volumes(catalog: tuple[ServiceSpec, ...]) -> tuple[DataVolume, ...]:
    """Each data volume once (services may share one), in a stable order."""
    seen: dict[str, DataVolume] = {}
    for service in catalog:
        for volume in service.volumes:
            if volume.name not in seen or not volume.read_only:
                seen[volume.name] = volume
    return tuple(sorted(seen.values(), key=lambda volume: volume.name))


def needed_secrets(catalog: tuple[ServiceSpec, ...]) -> tuple[Secret, ...]:
    """Every secret the stack needs, once, by name."""
    return tuple(
        sorted({secret.name: secret for s in catalog for secret in s.secrets_used()}.values(), key=lambda s: s.name)
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
