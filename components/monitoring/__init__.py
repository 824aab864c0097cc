"""Watching a stack from outside its server, and who hears about trouble.

Each cloud's module creates what its provider offers (`Cloud.monitoring`): checks of the public
URLs below from the cloud's probes, alerts on the server's own metrics, all mailed to
`alertEmail`. The thresholds are shared, so every cloud alerts on the same conditions where it
can measure them (README: Monitoring).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pulumi

from components import dns

if TYPE_CHECKING:
    from components.settings import ServerSettings, Settings

DOWN_MINUTES = 2
"""A URL failing this long (from any probe region on DigitalOcean) is down."""
SLOW_MS = 2000
"""A response slower than this for `SLOW_MINUTES` is slow (DigitalOcean only: Route 53 has no latency alarm here)."""
SLOW_MINUTES = 5
CERTIFICATE_DAYS = 14
"""Alert this many days before a certificate expires; certbot renews 30 days before, so this means renewal failed."""
CPU_PERCENT = 90
MEMORY_PERCENT = 90
DISK_PERCENT = 85
BUSY_MINUTES = 10
"""CPU, memory or disk above its limit this long alerts."""


@dataclass(frozen=True)
class WatchedUrl:
    """A public HTTPS URL of the stack that must answer: `slug` names its resources."""

    slug: str
    host: str
    path: str = "/"

    @property
    def url(self) -> str:
        return f"https://{self.host}{self.path}"


def watched_urls(settings: Settings) -> tuple[WatchedUrl, ...]:
    """The site's home page (ConnextCMS through Nginx) and LocalTunnel's landing page at `lt.<tunnel domain>`
    (served by the LocalTunnel server itself, through Nginx with the tunnels' certificate)."""
    return (
        WatchedUrl("site", settings.domain),
        WatchedUrl("tunnels", dns.fqdn(dns.LOCALTUNNEL_RECORDS[0], settings.tunnel_domain)),
    )


class Monitoring(Protocol):
    """A cloud's checks and alerts for one stack: its URLs and its machine (by id), alerts to `alertEmail`."""

    def __call__(
        self,
        name: str,
        settings: Settings,
        server: ServerSettings,
        machine_id: pulumi.Output[str],
        opts: pulumi.ResourceOptions,
    ) -> None: ...
