"""What the container stack needs from a host: a local Docker or a cloud server. Callers use these
methods and attributes and never ask which kind of host they have."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

import pulumi
import pulumi_docker as docker

from components.runtime import HostDirs, Privilege
from components.settings import ImageRegistry


class Host(Protocol):
    """Where the containers run, their state and logs live, and their ports are published."""

    @property
    def dirs(self) -> HostDirs: ...

    @property
    def publish_addresses(self) -> tuple[str, ...]: ...

    @property
    def privilege(self) -> Privilege:
        """How the directory preparation gets the right to give a directory to a container's user."""
        ...

    @property
    def runs_systemd(self) -> bool:
        """A cloud server (Ubuntu: systemd, cgroup v2), where each container gets a slice of its own."""
        ...

    @property
    def dns_credentials(self) -> Mapping[str, pulumi.Output[str]]:
        """certbot's credentials for the cloud's DNS, by the environment variable it reads each from."""
        ...

    @property
    def tls_prerequisites(self) -> tuple[pulumi.Resource, ...]:
        """What must exist before certificates are asked for: the DNS records."""
        ...

    def lifecycle(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """The options of every resource on the host (what replaces or deletes it with the host)."""
        ...

    def docker_provider(self, name: str, parent: pulumi.Resource, registry: ImageRegistry | None) -> docker.Provider:
        """The host's Docker, logged in to `registry` where it has credentials."""
        ...

    def run(self, name: str, script: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        """Runs a shell script on the host when it is created or changes."""
        ...

    def exports(self) -> Mapping[str, pulumi.Input[str]]:
        """Stack outputs about the host: its address, and how to log in where there is a login."""
        ...


def publishes_ipv6(host: Host) -> bool:
    return any(":" in address for address in host.publish_addresses)


def registry_auth(registry: ImageRegistry | None) -> list[docker.ProviderRegistryAuthArgs] | None:
    """The Docker provider's login to the image registry; none for anonymous pulls or without a registry."""
    if registry is None or registry.username is None or registry.password is None:
        return None
    return [
        docker.ProviderRegistryAuthArgs(
            address=registry.address, username=registry.username, password=registry.password
        )
    ]
