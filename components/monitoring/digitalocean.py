"""DigitalOcean: Uptime checks of the stack's URLs with alerts for down, slow and an expiring certificate,
and Monitoring alert policies on the droplet for CPU, memory and disk (its metrics agent is installed
because the droplet is created with `monitoring`)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as digitalocean

from components.monitoring import (
    BUSY_MINUTES,
    CERTIFICATE_DAYS,
    CPU_PERCENT,
    DISK_PERCENT,
    DOWN_MINUTES,
    MEMORY_PERCENT,
    SLOW_MINUTES,
    SLOW_MS,
    watched_urls,
)
from components.settings import ServerSettings, Settings

DROPLET_METRIC = "v1/insights/droplet/"


@dataclass(frozen=True)
class UptimeRule:
    """One alert on an Uptime check: its type, and where it has one, its threshold and how long it must hold."""

    type: str
    period: str | None = None
    comparison: str | None = None
    threshold: int | None = None


UPTIME_ALERTS = {
    "down": UptimeRule("down", period=f"{DOWN_MINUTES}m"),
    "slow": UptimeRule("latency", period=f"{SLOW_MINUTES}m", comparison="greater_than", threshold=SLOW_MS),
    "certificate": UptimeRule("ssl_expiry", comparison="less_than", threshold=CERTIFICATE_DAYS),
}
DROPLET_ALERTS = {
    "cpu": ("cpu", CPU_PERCENT, "CPU"),
    "memory": ("memory_utilization_percent", MEMORY_PERCENT, "memory"),
    "disk": ("disk_utilization_percent", DISK_PERCENT, "disk"),
}


class DigitalOceanMonitoring(pulumi.ComponentResource):
    """Creates: an HTTPS Uptime check per watched URL with its down, latency and certificate alerts, and
    the droplet's CPU, memory and disk alert policies; every alert mails `alertEmail`."""

    def __init__(
        self,
        name: str,
        settings: Settings,
        machine_id: pulumi.Output[str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:digitalocean:Monitoring", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        prefix = settings.resource_prefix
        recipient = settings.monitoring.alert_email
        for watched in watched_urls(settings):
            check = digitalocean.UptimeCheck(
                f"{name}-{watched.slug}",
                name=f"{prefix}-{watched.slug}",
                target=watched.url,
                type="https",
                enabled=True,
                opts=child,
            )
            for slug, rule in UPTIME_ALERTS.items():
                digitalocean.UptimeAlert(
                    f"{name}-{watched.slug}-{slug}",
                    name=f"{prefix}-{watched.slug}-{slug}",
                    check_id=check.id,
                    type=rule.type,
                    period=rule.period,
                    comparison=rule.comparison,
                    threshold=rule.threshold,
                    notifications=[digitalocean.UptimeAlertNotificationArgs(emails=[recipient])],
                    opts=child,
                )
        for slug, (metric, percent, what) in DROPLET_ALERTS.items():
            digitalocean.MonitorAlert(
                f"{name}-{slug}",
                description=f"{prefix}: {what} above {percent}% for {BUSY_MINUTES} minutes",
                type=f"{DROPLET_METRIC}{metric}",
                compare="GreaterThan",
                value=percent,
                window=f"{BUSY_MINUTES}m",
                entities=[machine_id],
                alerts=digitalocean.MonitorAlertAlertsArgs(emails=[recipient]),
                enabled=True,
                opts=child,
            )
        self.register_outputs({})


def monitoring(
    name: str, settings: Settings, server: ServerSettings, machine_id: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> None:
    DigitalOceanMonitoring(name, settings, machine_id, opts)
