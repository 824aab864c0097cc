"""The clouds the program builds servers on, one module each. A cloud's module (and its SDK) is
imported only when a stack uses it; adding a cloud is one module and one line in `CLOUDS`."""

from __future__ import annotations

from importlib import import_module

from components.clouds.base import Cloud

LOCAL = "local"


CLOUDS = ("digitalocean", "aws", "vultr")
CLOUD_NAMES = (*CLOUDS, LOCAL)


def cloud(name: str) -> Cloud:
    """The cloud called `name` (one of `CLOUDS`); its module and SDK are imported on first use."""
    module = import_module(f"{__name__}.{name}")
    chosen: Cloud = module.CLOUD
    return chosen
