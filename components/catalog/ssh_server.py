"""SSH-Server: reverse SSH tunnels from rented devices, one account per device, no shell."""

from __future__ import annotations

from components import dns
from components.catalog.model import (
    DataVolume,
    Exposure,
    Limits,
    Secret,
    SecretSource,
    ServicePort,
    ServiceSpec,
    StackValues,
    image_healthcheck,
    single_port,
)

NAME = "ssh-server"
DEVICES = DataVolume("devices", "/devices", mode="0755")
"""The device registry: written by the SSH-Server's p2pvps-device, read by sshd and LocalTunnel."""


def service(values: StackValues) -> ServiceSpec:
    tunnels = values.tunnels
    return ServiceSpec(
        NAME,
        "Reverse SSH tunnels from rented devices; no shell",
        limits=Limits(memory_mb=512, pids=512),
        build="ssh-server",
        healthcheck=image_healthcheck(),
        ports=(
            single_port("SSH-Server", tunnels.ssh_server, Exposure.PUBLIC),
            ServicePort("SSH tunnels", tunnels.ssh_tunnels, Exposure.PUBLIC),
        ),
        volumes=(DataVolume("ssh-server", "/state"), DEVICES),
        env=(
            ("SSH_PORT", str(tunnels.ssh_server)),
            ("SSH_LISTEN_ADDRESS", "0.0.0.0 ::" if values.ipv6 else "0.0.0.0"),
            ("TUNNEL_PORTS", str(tunnels.ssh_tunnels)),
            ("PUBLIC_HOST", values.domain),
            ("LT_HOST", dns.fqdn("lt", values.tunnel_domain)),
            ("TUNNEL_PASSWORD", Secret("TUNNEL_PASSWORD", SecretSource.CONFIG, required=False)),
        ),
    )
