"""The `local` cloud: the stack on the Docker of the machine running Pulumi; no VPS, firewall or DNS."""

from __future__ import annotations

import pulumi

from components.hosts.base import HostHandle
from components.ports import PublicPort
from components.runtime import local_dirs
from components.settings import Settings


class LocalHost(pulumi.ComponentResource):
    """Your own Docker: state under ~/.p2pvps/data, logs under ~/.p2pvps/logs, ports on 127.0.0.1 only."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        perimeter: tuple[PublicPort, ...],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:local:Host", name, None, opts)
        self.handle = HostHandle(
            dirs=local_dirs(),
            publish_addresses=("127.0.0.1",),
        )
        self.register_outputs({"dataDir": self.handle.dirs.data_dir, "logRoot": self.handle.dirs.log_root})
