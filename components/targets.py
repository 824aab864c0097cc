"""Where a stack runs, a cloud's server or your own Docker: the one place that tells them apart.
It gives the catalog what it needs to know before anything exists, and provisions the host."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

import pulumi

from components.backup_storage import Repository, configured, local_directory
from components.catalog import BackupValues, Secret, SecretSource, StackValues
from components.clouds import cloud
from components.hosts.base import Host
from components.hosts.local import LocalMachine
from components.nginx import HSTS_MAX_AGE, HSTS_MAX_AGE_STAGING
from components.ports import PublicPort
from components.settings import BackupSettings, ServerSettings, Settings

if TYPE_CHECKING:
    from components.hosts.remote import RemoteHost

# Who reaches the CMS's admin UI on the local stack. Nginx is published on 127.0.0.1 only, so
# every client is this machine, but Docker's proxy hands those connections to Nginx from the
# network's gateway: loopback and the private ranges Docker uses.
LOCAL_ADMIN_CIDRS = ("127.0.0.0/8", "::1/128", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")


def backup_values(backup: BackupSettings, *, s3: bool) -> BackupValues | None:
    """The backup service's inputs, or None when backups are off."""
    if not backup.enabled:
        return None
    return BackupValues(
        interval_hours=str(backup.interval_hours),
        keep_daily=str(backup.retention.daily),
        keep_weekly=str(backup.retention.weekly),
        keep_monthly=str(backup.retention.monthly),
        s3=s3,
        restores=backup.restore_from is not None,
    )


def stack_values(settings: Settings) -> StackValues:
    """The catalog's inputs for a stack: its settings and what its target is like."""
    target = settings.target
    on_s3 = isinstance(target, ServerSettings) or settings.backup.repository is not None
    common = {
        "domain": settings.domain,
        "tunnel_domain": settings.tunnel_domain,
        "acme_email": settings.admin_email,
        "acme_staging": "true" if settings.acme_staging else "false",
        "hsts_max_age": HSTS_MAX_AGE_STAGING if settings.acme_staging else HSTS_MAX_AGE,
        "tunnels": settings.tunnels,
        "backup": backup_values(settings.backup, s3=on_s3),
    }
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


def backup_repository(name: str, settings: Settings, opts: pulumi.ResourceOptions) -> Repository | None:
    """The stack's backup repository: `backupRepository` if set, else the cloud's private object storage
    with a key for it alone, else (the local stack) a directory on this machine; None when backups are off."""
    parent = opts.parent
    assert parent is not None
    backup = settings.backup
    if not backup.enabled:
        return None
    if backup.repository is not None:
        return configured(name, backup.repository, parent)
    target = settings.target
    if isinstance(target, ServerSettings):
        return cloud(target.cloud).backup_storage(name, settings, target, opts)
    return local_directory(name, parent)


def watch(name: str, settings: Settings, host: Host, opts: pulumi.ResourceOptions) -> None:
    """The cloud's checks of the stack's URLs and alerts on its server, to `alertEmail`; nothing with
    `monitoring` off or on the local stack (no cloud watches your own machine)."""
    target = settings.target
    if not settings.monitoring.enabled or not isinstance(target, ServerSettings):
        return
    server = cast("RemoteHost", host)  # `provision` gives a server's stack a RemoteHost
    cloud(target.cloud).monitoring(name, settings, target, server.machine.id, opts)
