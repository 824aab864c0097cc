"""certbot: issues and renews the site's and the LocalTunnel names' certificates, forever."""

from __future__ import annotations

from components.catalog.model import DataVolume, Healthcheck, Limits, ServiceSpec, StackValues, static_file

NAME = "certbot"
CERTIFICATES = DataVolume("letsencrypt", "/etc/letsencrypt")
ACME_WEBROOT = DataVolume("acme-webroot", "/var/www/acme", mode="0755")
"""Where HTTP-01 challenge files are written by certbot and served by Nginx."""
LOOP = "/opt/p2pvps/certbot-loop.sh"


def service(values: StackValues) -> ServiceSpec:
    assert values.certbot_image is not None
    return ServiceSpec(
        NAME,
        "Let's Encrypt: HTTP-01 for the site, DNS-01 for the *.lt wildcard; renews forever",
        limits=Limits(memory_mb=256, pids=64),
        image=values.certbot_image,
        entrypoint=("/bin/sh", LOOP),
        healthcheck=Healthcheck(("/bin/sh", LOOP, "--check"), start_period_s=240),
        volumes=(CERTIFICATES, ACME_WEBROOT),
        log_path="/var/log/letsencrypt",
        env=(
            ("P2PVPS_DOMAIN", values.domain),
            ("P2PVPS_TUNNEL_DOMAIN", values.tunnel_domain),
            ("ACME_EMAIL", values.acme_email),
            ("ACME_STAGING", values.acme_staging),
            ("ACME_WEBROOT", ACME_WEBROOT.target),
            ("DNS_PLUGIN", values.dns_plugin),
            *values.dns_credentials,
        ),
        files=(
            static_file("certbot/certbot-loop.sh", LOOP),
            static_file("certbot/vultr-dns-hook.py", "/opt/p2pvps/vultr-dns-hook.py", executable=True),
        ),
        needs_dns=True,
    )
