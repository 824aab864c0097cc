"""Nginx: the stack's one web entry, for the site and the LocalTunnel subdomains."""

from __future__ import annotations

from components import dns
from components.catalog import certbot, connextcms, localtunnel
from components.catalog.model import (
    Exposure,
    Limits,
    ServiceFile,
    ServiceSpec,
    StackValues,
    image_healthcheck,
    single_port,
)
from components.nginx import LOCALTUNNEL_CERT_NAME, SITE_CERT_NAME, NginxParams, render_site_config
from components.ports import HTTP_PORT, HTTPS_PORT

NAME = "nginx"
SITE_CONFIG = "/etc/nginx/conf.d/default.conf"
COMPOSE_TEMPLATE = "nginx/templates/default.conf.template"
"""The site configuration as a template of the compose rendering, filled in by the image at start."""


def tls_names(domain: str, tunnel_domain: str) -> str:
    """`name=host,host ...` pairs telling Nginx (and certbot) which names each certificate covers."""
    site = ",".join(dns.site_hostnames(domain))
    localtunnel_names = ",".join(dns.localtunnel_hostnames(tunnel_domain))
    return f"{SITE_CERT_NAME}={site} {LOCALTUNNEL_CERT_NAME}={localtunnel_names}"


def site_config(values: StackValues) -> str:
    """The site configuration, proxying to the CMS and LocalTunnel and serving certbot's webroot."""
    return render_site_config(
        NginxParams(
            domain=values.domain,
            tunnel_domain=values.tunnel_domain,
            cms_upstream=connextcms.ADDRESS,
            localtunnel_upstream=localtunnel.ADDRESS,
            acme_webroot=certbot.ACME_WEBROOT.target,
            listen_addresses=("*", "[::]") if values.ipv6 else ("*",),
            hsts_max_age=values.hsts_max_age,
            admin_cidrs=values.admin_cidrs,
        )
    )


def service(values: StackValues) -> ServiceSpec:
    config = ServiceFile(
        target=SITE_CONFIG,
        content=site_config(values),
        compose_source=f"./{COMPOSE_TEMPLATE}",
        compose_target=f"/etc/{COMPOSE_TEMPLATE}",
    )
    return ServiceSpec(
        NAME,
        "TLS entry: the site and LocalTunnel subdomains",
        limits=Limits(memory_mb=128, pids=64),
        build="nginx",
        healthcheck=image_healthcheck(start_period_s=20),
        ports=(single_port("HTTP", HTTP_PORT, Exposure.PUBLIC), single_port("HTTPS", HTTPS_PORT, Exposure.PUBLIC)),
        volumes=(certbot.CERTIFICATES.read_only_copy(), certbot.ACME_WEBROOT.read_only_copy()),
        log_path="/var/log/nginx",
        env=(
            ("P2PVPS_DOMAIN", values.domain),
            ("P2PVPS_TUNNEL_DOMAIN", values.tunnel_domain),
            ("P2PVPS_TLS_NAMES", tls_names(values.domain, values.tunnel_domain)),
            ("P2PVPS_ADMIN_CIDRS", " ".join(values.admin_cidrs)),
            ("NGINX_ENVSUBST_FILTER", "^P2PVPS_"),
        ),
        files=(config,),
        needs_dns=True,
    )
