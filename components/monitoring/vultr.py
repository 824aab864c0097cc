"""Vultr: nothing. Its Pulumi provider (ediri_vultr) has no uptime check, metric alert or notification
resource, so no cloud watches a Vultr stack; `pulumi up` says so while monitoring is on (README: Monitoring)."""

from __future__ import annotations

import pulumi

from components.settings import NAMESPACE, ServerSettings, Settings

UNWATCHED = (
    "Vultr's provider offers no uptime checks or alerts: nothing watches this stack and no alert reaches "
    f"{{recipient}}. Watch https://{{domain}}/ from elsewhere, or set {NAMESPACE}:monitoring false to say you know."
)


def monitoring(
    name: str, settings: Settings, server: ServerSettings, machine_id: pulumi.Output[str], opts: pulumi.ResourceOptions
) -> None:
    pulumi.log.warn(
        UNWATCHED.format(recipient=settings.monitoring.alert_email, domain=settings.domain), resource=opts.parent
    )
