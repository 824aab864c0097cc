"""Debian's nginx serving the site configuration the program renders, on loopback, with a test CA.

Only render parameters differ from production (listen address and ports, upstream addresses,
certificate paths, no resolver); the text itself is `components.nginx.render_site_config`'s.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from components import dns
from components.nginx import LOOPBACK_CIDRS, NginxParams, TlsPaths, render_site_config
from e2e_helpers import background, free_port, in_netns, nsenter, port_is_free, wait_until
from tools import require, run

DOMAIN = "dev.p2pvps.test"


@dataclass(frozen=True)
class TestCa:
    """A CA and, signed by it, a CA:FALSE serverAuth leaf for the site and the LocalTunnel names."""

    ca: Path
    site: TlsPaths
    localtunnel: TlsPaths


def _openssl(*args: str) -> None:
    subprocess.run([require("openssl"), *args], check=True, capture_output=True)


def self_signed(directory: Path, common_name: str, *extensions: str, days: int = 1) -> TlsPaths:
    """A self-signed pair in Let's Encrypt's layout (fullchain.pem, privkey.pem) under `directory`."""
    directory.mkdir(parents=True)
    paths = TlsPaths.under(str(directory))
    added = [argument for extension in extensions for argument in ("-addext", extension)]
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(days), "-subj", f"/CN={common_name}",
        *added, "-keyout", paths.key, "-out", paths.certificate,
    )  # fmt: skip
    return paths


def _leaf(directory: Path, ca: TlsPaths, names: tuple[str, ...]) -> TlsPaths:
    directory.mkdir(parents=True)
    key, request, certificate = directory / "privkey.pem", directory / "request.pem", directory / "fullchain.pem"
    san = ",".join(f"DNS:{name}" for name in names)
    _openssl(
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        f"/CN={names[0]}",
        "-keyout",
        str(key),
        "-out",
        str(request),
    )
    extensions = directory / "leaf.ext"
    extensions.write_text(
        f"basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
        f"extendedKeyUsage=serverAuth\nsubjectAltName={san}\n"
    )
    _openssl(
        "x509",
        "-req",
        "-in",
        str(request),
        "-CA",
        ca.certificate,
        "-CAkey",
        ca.key,
        "-CAcreateserial",
        "-days",
        "30",
        "-sha256",
        "-extfile",
        str(extensions),
        "-out",
        str(certificate),
    )
    return TlsPaths(str(certificate), str(key))


def make_test_ca(directory: Path, domain: str = DOMAIN, tunnel_domain: str | None = None) -> TestCa:
    directory.mkdir(parents=True, exist_ok=True)
    ca = self_signed(
        directory / "ca",
        "p2pvps test CA",
        "basicConstraints=critical,CA:TRUE",
        "keyUsage=critical,keyCertSign,cRLSign",
        days=30,
    )
    return TestCa(
        ca=Path(ca.certificate),
        site=_leaf(directory / "site", ca, dns.site_hostnames(domain)),
        localtunnel=_leaf(directory / "lt", ca, dns.localtunnel_hostnames(tunnel_domain or domain)),
    )


@contextmanager
def network_namespace(directory: Path, addresses: tuple[str, ...]) -> Iterator[int]:
    """A network namespace of the test's own, loopback up with `addresses` (CIDR notation) added to it;
    yields the pid of the process holding it."""
    own = os.readlink("/proc/self/ns/net")
    with background([require("unshare"), "-n", "sleep", "infinity"], directory / "netns.out") as holder:
        wait_until(lambda: os.readlink(f"/proc/{holder.pid}/ns/net") != own, "the network namespace")
        ip = [*nsenter(holder.pid), require("ip")]
        for command in (["link", "set", "lo", "up"], *(["addr", "add", a, "dev", "lo", "nodad"] for a in addresses)):
            result = run([*ip, *command])
            assert result.returncode == 0, result.stderr
        yield holder.pid


@dataclass(frozen=True)
class RunningNginx:
    http_port: int
    https_port: int
    ca: Path
    webroot: Path
    config: str


def main_config(directory: Path, include: Path | str, *, pid: str | None = None, foreground: bool = True) -> str:
    """A main nginx.conf keeping logs and temp files (and the pid, unless given) in `directory`,
    including the site configuration `include` (a file or a glob).

    Workers run as root here because pytest's temporary directories are private to root.
    """
    temp = {name: directory / name for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")}
    return (
        f"user root;\npid {pid or directory / 'nginx.pid'};\nerror_log {directory}/error.log;\n"
        + ("daemon off;\n" if foreground else "")
        + "events {}\nhttp {\n"
        + f"    access_log {directory}/access.log;\n"
        + "".join(f"    {name}_temp_path {path};\n" for name, path in temp.items())
        + f"    include {include};\n}}\n"
    )


@contextmanager
def running_nginx(
    directory: Path,
    tls: TestCa,
    *,
    cms_upstream: str,
    localtunnel_upstream: str,
    domain: str = DOMAIN,
    tunnel_domain: str | None = None,
    admin_cidrs: tuple[str, ...] = LOOPBACK_CIDRS,
    listen_addresses: tuple[str, ...] = ("127.0.0.1",),
    netns_pid: int | None = None,
) -> Iterator[RunningNginx]:
    """Start nginx with the rendered site configuration (in `netns_pid`'s network namespace if given);
    stop it afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    webroot = directory / "acme"
    (webroot / ".well-known" / "acme-challenge").mkdir(parents=True)
    http_port, https_port = free_port(), free_port()
    params = NginxParams(
        domain=domain,
        tunnel_domain=tunnel_domain or domain,
        http_port=http_port,
        https_port=https_port,
        listen_addresses=listen_addresses,
        public_https_port=https_port,
        cms_upstream=cms_upstream,
        localtunnel_upstream=localtunnel_upstream,
        site_tls=tls.site,
        localtunnel_tls=tls.localtunnel,
        acme_webroot=str(webroot),
        resolver=None,
        admin_cidrs=admin_cidrs,
    )
    config = render_site_config(params)
    with nginx_serving(directory, config, https_port, netns_pid):
        yield RunningNginx(http_port, https_port, tls.ca, webroot, config)


@contextmanager
def nginx_serving(
    directory: Path, site_config: str, port: int, netns_pid: int | None = None, hosts: Path | None = None
) -> Iterator[None]:
    """Run nginx in the foreground with `site_config` under `directory` (in `netns_pid`'s network
    namespace if given, with `hosts` as its /etc/hosts in a mount namespace of its own if given) until
    it listens on `port`; stop it after."""
    site = directory / "site.conf"
    site.write_text(site_config)
    main = directory / "nginx.conf"
    main.write_text(main_config(directory, site))
    command = [require("nginx"), "-p", str(directory), "-e", str(directory / "error.log"), "-c", str(main)]
    if hosts is not None:
        bind_hosts = 'mount --bind "$0" /etc/hosts && exec "$@"'
        command = [require("unshare"), "-m", "sh", "-c", bind_hosts, str(hosts), *command]
    prefix = [] if netns_pid is None else nsenter(netns_pid)

    def listening() -> bool:
        return not (port_is_free(port) if netns_pid is None else in_netns(netns_pid, lambda: port_is_free(port)))

    with background([*prefix, *command], directory / "nginx.out") as process:
        wait_until(lambda: process.poll() is None and listening(), "nginx to listen")
        yield
