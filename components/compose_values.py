"""The catalog's inputs for the Compose rendering: Compose variables (set in .env) where a Pulumi stack
has its settings, and Pulumi.yaml's defaults where both renderings must agree."""

from __future__ import annotations

from dataclasses import replace

from components.catalog import BackupValues, Secret, SecretSource, StackValues
from components.clouds import digitalocean
from components.nginx import HSTS_MAX_AGE
from components.ports import PortRange
from components.project import config_schema
from components.settings import TunnelPorts
from components.settings.validators import interval_hours, retention_policy


def default_tunnels() -> TunnelPorts:
    """The tunnel ports Pulumi.yaml defaults to, so both renderings agree."""
    schema = config_schema()
    ssh_tunnels = PortRange.parse(str(schema["sshTunnelPorts"]["default"]))
    clients = PortRange.parse(str(schema["localtunnelPorts"]["default"]))
    assert ssh_tunnels is not None and clients is not None
    return TunnelPorts(int(schema["sshServerPort"]["default"]), ssh_tunnels, clients)


def default_backup() -> BackupValues:
    """The backup service with Pulumi.yaml's schedule and retention as defaults of Compose variables; the
    repository is an S3 one, set in .env."""
    schema = config_schema()
    hours = interval_hours(str(schema["backupSchedule"]["default"]))
    keep = retention_policy(str(schema["backupRetention"]["default"]))
    return BackupValues(
        interval_hours=f"${{BACKUP_INTERVAL_HOURS:-{hours}}}",
        keep_daily=f"${{BACKUP_KEEP_DAILY:-{keep.daily}}}",
        keep_weekly=f"${{BACKUP_KEEP_WEEKLY:-{keep.weekly}}}",
        keep_monthly=f"${{BACKUP_KEEP_MONTHLY:-{keep.monthly}}}",
        s3=True,
    )


def compose_values() -> StackValues:
    """Catalog inputs as Compose variables (set in .env); certbot's DNS-01 goes through DigitalOcean DNS."""
    return StackValues(
        domain="${P2PVPS_DOMAIN:?set P2PVPS_DOMAIN in .env}",
        tunnel_domain="${P2PVPS_TUNNEL_DOMAIN:?set P2PVPS_TUNNEL_DOMAIN in .env}",
        acme_email="${ACME_EMAIL:?set ACME_EMAIL in .env}",
        acme_staging="${ACME_STAGING:-false}",
        hsts_max_age=HSTS_MAX_AGE,
        tunnels=default_tunnels(),
        ipv6=False,
        certbot_image=digitalocean.DNS_CHALLENGE.certbot_image,
        dns_plugin=digitalocean.DNS_CHALLENGE.plugin,
        admin_cidrs=("${P2PVPS_ADMIN_CIDRS:?set P2PVPS_ADMIN_CIDRS in .env}",),
        dns_credentials=tuple(
            (env, Secret(env, SecretSource.HOST, required=False)) for env in digitalocean.DNS_CHALLENGE.credentials
        ),
        backup=default_backup(),
    )


def template_values() -> StackValues:
    """Catalog inputs for the Nginx template, which the image fills in with plain envsubst."""
    return replace(
        compose_values(),
        domain="${P2PVPS_DOMAIN}",
        tunnel_domain="${P2PVPS_TUNNEL_DOMAIN}",
        admin_cidrs=("${P2PVPS_ADMIN_CIDRS}",),
    )
