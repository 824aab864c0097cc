"""The monitoring part of the settings: on or off, and where alerts go."""

from __future__ import annotations

from components.settings.model import NAMESPACE, MonitoringSettings
from components.settings.reader import Reader
from components.settings.validators import email_error


def monitoring_settings(read: Reader, admin_email: str | None, *, on_a_cloud: bool) -> MonitoringSettings | None:
    """On by default on a cloud; the local stack has nothing outside this machine to watch it, so `true` is refused."""
    alert_email = read.check("alertEmail", read.text("alertEmail", required=False), email_error)
    enabled = read.boolean("monitoring", default=on_a_cloud)
    if enabled and not on_a_cloud:
        read.problems.add(
            "monitoring",
            "true is not possible on the local stack: no cloud watches your own machine, so nothing would be "
            f"checked and no alert sent; remove it (`pulumi config rm {NAMESPACE}:monitoring`) or set it to false",
        )
        return None
    recipient = alert_email or admin_email
    if enabled is None or recipient is None:
        return None
    return MonitoringSettings(enabled=enabled, alert_email=recipient)
