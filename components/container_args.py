"""What a container is created with, derived from its catalog entry: environment, published ports,
healthcheck, and the versioned name of a container that starts before its predecessor stops."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pulumi
import pulumi_docker as docker

from components.catalog import Exposure, ServiceSpec

DIGEST_CHARS = 12


def _seconds(value: int) -> str:
    return f"{value}s"


def environment(spec: ServiceSpec, secrets: Mapping[str, pulumi.Output[str]]) -> list[pulumi.Input[str]]:
    """`NAME=value` entries; secret values stay secret Outputs, so Pulumi encrypts the whole list."""
    entries: list[pulumi.Input[str]] = []
    for key, value in spec.env:
        if isinstance(value, str):
            entries.append(f"{key}={value}")
        else:
            entries.append(pulumi.Output.concat(key, "=", secrets[value.name]))
    return entries


def published_ports(spec: ServiceSpec, addresses: tuple[str, ...]) -> list[docker.ContainerPortArgs]:
    """Only public ports are published (on each host address); internal ones stay on the stack network."""
    return [
        docker.ContainerPortArgs(internal=port, external=port, ip=address, protocol=rule.protocol)
        for rule in spec.ports
        if rule.exposure is Exposure.PUBLIC
        for port in rule.ports.ports()
        for address in addresses
    ]


def healthcheck(spec: ServiceSpec) -> docker.ContainerHealthcheckArgs:
    check = spec.healthcheck
    return docker.ContainerHealthcheckArgs(
        tests=["CMD", *check.test],
        interval=_seconds(check.interval_s),
        timeout=_seconds(check.timeout_s),
        retries=check.retries,
        start_period=_seconds(check.start_period_s),
    )


def _digest(values: Mapping[str, Any]) -> str:
    text = json.dumps(values, sort_keys=True, default=vars)
    return hashlib.sha256(text.encode()).hexdigest()[:DIGEST_CHARS]


def versioned_name(name: str, definition: Mapping[str, Any]) -> pulumi.Output[str]:
    """`name`-<digest of everything the container is created with>: whatever replaces the container (a new image,
    environment, file or mount) also renames it, so the new one can be created while the old one still runs.

    Not secret although the environment's secrets are hashed in: they are generated (32 random characters
    each), and 48 bits of a hash over them and the rest tell nothing about any of them.
    """
    resolved = pulumi.Output.from_input(dict(definition)).apply(lambda values: f"{name}-{_digest(values)}")
    return pulumi.Output.unsecret(resolved)
