"""Renders the Nginx site configuration: the only public web entry of the stack.

Everything that differs between production, the compose template and the live tests is an
explicit parameter (listen ports and address, upstream addresses, certificate paths), so the
tests run exactly the text production runs.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field

from components import cms_routes, dns
from components.package_files import package_text

# Mozilla SSL configuration generator, "intermediate" profile (guideline 5.7).
MOZILLA_INTERMEDIATE_CIPHERS = ":".join(
    (
        "ECDHE-ECDSA-AES128-GCM-SHA256",
        "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384",
        "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305",
        "ECDHE-RSA-CHACHA20-POLY1305",
        "DHE-RSA-AES128-GCM-SHA256",
        "DHE-RSA-AES256-GCM-SHA384",
        "DHE-RSA-CHACHA20-POLY1305",
    )
)
MOZILLA_INTERMEDIATE_CURVES = "X25519:prime256v1:secp384r1"
HSTS_MAX_AGE = 63072000
# Docker's DNS answers with a 600 s TTL; Nginx asks again after this many seconds instead, so it sends
# requests to a container that replaced another under the same alias within seconds.
RESOLVER_VALID_S = 5
# Per source address on the LocalTunnel names: tunnel requests let through at once before the
# 1-a-second rate applies (devices behind one NAT reconnecting together), open connections to the
# API and to the tunnels.
LT_REQUEST_BURST = 10
LT_API_CONNECTIONS = 10
LT_VISITOR_CONNECTIONS = 50
# With staging (untrusted) certificates a long HSTS policy would lock browsers out of the site.
HSTS_MAX_AGE_STAGING = 300
# Who reaches the CMS's admin UI and admin APIs when nothing else is said: this machine only.
LOOPBACK_CIDRS = ("127.0.0.1/32", "::1/128")
# What rate and connection limits count by (maps in nginx-site.conf): the client's network, an IPv4
# address or an IPv6 /64; the same for POST requests only, empty (not counted) for the others.
CLIENT = "$p2pvps_client"
POSTING_CLIENT = "$p2pvps_posting_client"


@dataclass(frozen=True)
class TlsPaths:
    certificate: str
    key: str

    @classmethod
    def under(cls, directory: str) -> TlsPaths:
        """Let's Encrypt's layout: fullchain.pem and privkey.pem in one directory."""
        return cls(f"{directory}/fullchain.pem", f"{directory}/privkey.pem")


SITE_CERT_NAME = "site"
LOCALTUNNEL_CERT_NAME = "lt"
TLS_DIR = "/etc/nginx/tls"


@dataclass(frozen=True)
class NginxParams:
    """What the rendered configuration depends on."""

    domain: str
    tunnel_domain: str
    cms_upstream: str
    localtunnel_upstream: str
    acme_webroot: str
    http_port: int = 80
    https_port: int = 443
    # Every address each server listens on: all IPv4 ("*"), and "[::]" for IPv6.
    listen_addresses: tuple[str, ...] = ("*",)
    public_https_port: int = 443
    site_tls: TlsPaths = field(default_factory=lambda: TlsPaths.under(f"{TLS_DIR}/{SITE_CERT_NAME}"))
    localtunnel_tls: TlsPaths = field(default_factory=lambda: TlsPaths.under(f"{TLS_DIR}/{LOCALTUNNEL_CERT_NAME}"))
    resolver: str | None = "127.0.0.11"
    client_max_body_size: str = "50m"
    hsts_max_age: int = HSTS_MAX_AGE
    admin_cidrs: tuple[str, ...] = LOOPBACK_CIDRS

    def listen(self, port: int, options: str = "") -> str:
        """The `listen` lines of a server block: one per address."""
        return "\n".join(f"    listen {address}:{port}{options};" for address in self.listen_addresses)

    @property
    def redirect_port_suffix(self) -> str:
        return "" if self.public_https_port == 443 else f":{self.public_https_port}"


def _template(name: str) -> string.Template:
    return string.Template(package_text(f"templates/{name}"))


def _tls_block(params: NginxParams, paths: TlsPaths) -> str:
    return _template("nginx-tls.conf").substitute(
        certificate=paths.certificate,
        key=paths.key,
        hsts_max_age=params.hsts_max_age,
        client_max_body_size=params.client_max_body_size,
    )


def _proxy_block(variable: str, upstream: str, *extra: str) -> str:
    """Proxy through a variable, so the upstream name is resolved per request, not at start."""
    block = _template("nginx-proxy.conf").substitute(variable=variable, upstream=upstream).rstrip("\n")
    return "\n".join((block, *(f"        {directive};" for directive in extra)))


def _location(match: str, directives: tuple[str, ...], proxy: str, comment: str) -> str:
    modifier, _, pattern = match.partition(" ")
    quoted = f'{modifier} "{pattern}"' if modifier.startswith("~") else match
    lines = "".join(f"        {directive};\n" for directive in directives)
    return f"    # {comment}\n    location {quoted} {{\n{lines}{proxy}\n    }}\n"


def _cms_locations(params: NginxParams) -> str:
    """The site server's locations: the public routes for anyone, everything else for adminCidrs only."""
    proxy = _proxy_block(
        "cms_upstream",
        params.cms_upstream,
        f'proxy_set_header {cms_routes.SERVICE_TOKEN_HEADER} ""',
        "proxy_cookie_flags ~ secure samesite=strict",
    )
    public = []
    for route in cms_routes.PUBLIC_ROUTES:
        directives = (f"client_max_body_size {route.body_limit}",)
        if route.rate_limit:
            limit = route.rate_limit
            directives += (f"limit_req zone={limit.zone} burst={limit.burst} nodelay", "limit_req_status 429")
        public.append(_location(route.location, directives, proxy, route.callers))
    admin = (
        *(f"allow {cidr}" for cidr in params.admin_cidrs),
        "deny all",
        f"client_max_body_size {cms_routes.ADMIN_BODY_LIMIT}",
    )
    everything_else = _location(
        "/", admin, proxy, "Everything else (the admin UI, the dashboard, the admin APIs): adminCidrs only"
    )
    return "".join(public) + everything_else


def _cms_rate_zones() -> str:
    return "".join(
        f"limit_req_zone {POSTING_CLIENT if limit.posts_only else CLIENT} zone={limit.zone}:10m rate={limit.rate};\n"
        for limit in cms_routes.RATE_LIMITS
    )


def _site_origins(params: NginxParams) -> str:
    """The `map` lines naming the site's own origins (what browsers send as `Origin` from its pages)."""
    return "".join(
        f'    "https://{name}{params.redirect_port_suffix}" 0;\n' for name in dns.site_hostnames(params.domain)
    )


def render_site_config(params: NginxParams) -> str:
    """The `conf.d` file: HTTP (ACME + redirect), the site over HTTPS, LocalTunnel subdomains over HTTPS."""
    resolver = (
        "\n# Upstreams are resolved per request through Docker's DNS, so Nginx starts before they exist,\n"
        "# and follows a container replaced by a new one under the same name within a few seconds.\n"
        f"resolver {params.resolver} valid={RESOLVER_VALID_S}s ipv6=off;\n"
        if params.resolver
        else ""
    )
    localtunnel_api, localtunnel_tunnels = dns.localtunnel_hostnames(params.tunnel_domain)
    return _template("nginx-site.conf").substitute(
        resolver=resolver,
        ciphers=MOZILLA_INTERMEDIATE_CIPHERS,
        curves=MOZILLA_INTERMEDIATE_CURVES,
        http_listen=params.listen(params.http_port),
        http_default_listen=params.listen(params.http_port, " default_server"),
        https_listen=params.listen(params.https_port, " ssl http2"),
        https_default_listen=params.listen(params.https_port, " ssl http2 default_server"),
        acme_webroot=params.acme_webroot,
        redirect_port_suffix=params.redirect_port_suffix,
        site_names=" ".join(dns.site_hostnames(params.domain)),
        localtunnel_api_name=localtunnel_api,
        localtunnel_tunnel_names=localtunnel_tunnels,
        lt_request_burst=LT_REQUEST_BURST,
        lt_api_connections=LT_API_CONNECTIONS,
        lt_visitor_connections=LT_VISITOR_CONNECTIONS,
        site_tls=_tls_block(params, params.site_tls),
        localtunnel_tls=_tls_block(params, params.localtunnel_tls),
        cms_locations=_cms_locations(params),
        cms_rate_zones=_cms_rate_zones(),
        site_origins=_site_origins(params),
        client=CLIENT,
        posting_client=POSTING_CLIENT,
        localtunnel_proxy=_proxy_block(
            "localtunnel_upstream",
            params.localtunnel_upstream,
            "proxy_set_header Upgrade $http_upgrade",
            "proxy_set_header Connection $connection_upgrade",
        ),
    )
