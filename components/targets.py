"""Where a stack runs, a cloud's server or your own Docker: the one place that tells them apart.
It gives the catalog what it needs to know before anything exists, and provisions the host."""

from __future__ import annotations

import pulumi

from components.catalog import Secret, SecretSource, StackValues
from components.clouds import cloud
from components.hosts.base import Host
from components.hosts.local import LocalMachine
from components.nginx import HSTS_MAX_AGE, HSTS_MAX_AGE_STAGING
from components.ports import PublicPort
from components.settings import ServerSettings, Settings

# Who reaches the CMS's admin UI on the local stack. Nginx is published on 127.0.0.1 only, so
# every client is this machine, but Docker's proxy hands those connections to Nginx from the
# network's gateway: loopback and the private ranges Docker uses.
LOCAL_ADMIN_CIDRS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def stack_values(settings: Settings) -> StackValues:
    """The catalog's inputs for a stack: its settings and what its target is like."""
    common = {
        "domain": settings.domain,
        "tunnel_domain": settings.tunnel_domain,
        "acme_email": settings.admin_email,
        "acme_staging": "true" if settings.acme_staging else "false",
        "hsts_max_age": HSTS_MAX_AGE_STAGING if settings.acme_staging else HSTS_MAX_AGE,
        "tunnels": settings.tunnels,
    }
    target = settings.target
    if isinstance(target, ServerSettings):
        challenge = cloud(target.cloud).dns_challenge
        return StackValues(
            **common,
            ipv6=target.ipv6,
            admin_cidrs=target.admin.cidrs,
            certbot_image=challenge.certbot_image,
            dns_plugin=challenge.plugin,
            dns_credentials=tuple((env, Secret(env, SecretSource.HOST)) for env in challenge.credentials),
        )
    return StackValues(**common, ipv6=False, admin_cidrs=LOCAL_ADMIN_CIDRS, certbot_image=None, dns_plugin="none")


def provision(name: str, settings: Settings, perimeter: tuple[PublicPort, ...], opts: pulumi.ResourceOptions) -> Host:
    """The stack's host: a cloud's server behind `perimeter`, or your own Docker."""
    target = settings.target
    if isinstance(target, ServerSettings):
        return cloud(target.cloud).provision(name, settings, target, perimeter, opts)
    return LocalMachine(name, opts=opts).host
