"""Host backends, one module per cloud; a cloud's SDK is imported only when a stack uses it."""

from __future__ import annotations

import importlib

import pulumi

from components.hosts.base import HostHandle
from components.ports import PublicPort
from components.settings import Settings

BACKENDS = {
    "digitalocean": ("components.hosts.digitalocean", "DigitalOceanHost"),
    "aws": ("components.hosts.aws", "AwsHost"),
    "vultr": ("components.hosts.vultr", "VultrHost"),
    "local": ("components.hosts.local", "LocalHost"),
}


def create_host(
    name: str,
    settings: Settings,
    perimeter: tuple[PublicPort, ...],
    opts: pulumi.ResourceOptions,
) -> HostHandle:
    module_name, class_name = BACKENDS[settings.cloud]
    backend = getattr(importlib.import_module(module_name), class_name)
    return backend(name, settings, perimeter, opts=opts).handle
