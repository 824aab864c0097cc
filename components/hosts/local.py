"""The `local` cloud: the stack on the Docker of the machine running Pulumi; no VPS, firewall or DNS."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.hosts.base import registry_auth
from components.runtime import HostDirs, Privilege, local_dirs
from components.settings import ImageRegistry


@dataclass(frozen=True)
class LocalHost:
    """Your own Docker: state under ~/.p2pvps/data, logs under ~/.p2pvps/logs, ports on 127.0.0.1 only."""

    dirs: HostDirs = field(default_factory=local_dirs)
    publish_addresses: tuple[str, ...] = ("127.0.0.1",)
    dns_credentials: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    tls_prerequisites: tuple[pulumi.Resource, ...] = ()
    privilege = Privilege.BEST_EFFORT
    runs_systemd = False

    def lifecycle(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent)

    def docker_provider(self, name: str, parent: pulumi.Resource, registry: ImageRegistry | None) -> docker.Provider:
        """The Docker the Pulumi CLI talks to (DOCKER_HOST or the local socket)."""
        return docker.Provider(name, registry_auth=registry_auth(registry), opts=pulumi.ResourceOptions(parent=parent))

    def run(self, name: str, script: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        return command.local.Command(name, create=script, opts=opts)

    def exports(self) -> Mapping[str, pulumi.Input[str]]:
        return {"publicAddress": "127.0.0.1"}


class LocalMachine(pulumi.ComponentResource):
    """The local host as a resource of the stack, so its directories show in `pulumi stack`."""

    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("p2pvps:local:Host", name, None, opts)
        self.host = LocalHost()
        self.register_outputs({"dataDir": self.host.dirs.data_dir, "logRoot": self.host.dirs.log_root})
