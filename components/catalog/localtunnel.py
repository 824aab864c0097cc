"""LocalTunnel: a web subdomain per device, behind Nginx; its client sockets are public."""

from __future__ import annotations

from components import dns
from components.catalog import ssh_server
from components.catalog.model import (
    NODE_UID,
    Exposure,
    Limits,
    ServicePort,
    ServiceSpec,
    StackValues,
    address,
    image_healthcheck,
    single_port,
)

NAME = "localtunnel"
PORT = 3002
ADDRESS = address(NAME, PORT)


def service(values: StackValues) -> ServiceSpec:
    clients = values.tunnels.localtunnel_clients
    return ServiceSpec(
        NAME,
        "LocalTunnel server: a web subdomain per device",
        limits=Limits(memory_mb=256, pids=64),
        build="localtunnel",
        healthcheck=image_healthcheck(),
        ports=(
            single_port("LocalTunnel server", PORT, Exposure.INTERNAL),
            ServicePort("LocalTunnel client sockets", clients, Exposure.PUBLIC),
        ),
        volumes=(ssh_server.DEVICES.read_only_copy(),),
        log_owner_uid=NODE_UID,
        env=(
            ("LT_PORT", str(PORT)),
            # "::" takes IPv4 too (as ::ffff:a.b.c.d), for the server and every client port.
            ("LT_ADDRESS", "::" if values.ipv6 else "0.0.0.0"),
            ("LT_DOMAIN", dns.fqdn("lt", values.tunnel_domain)),
            ("LT_CLIENT_PORTS", str(clients)),
            ("LT_SECURE", "true"),
        ),
    )
