"""The LocalTunnel image behind the real Nginx site configuration, with the real `lt` client.

Everything listens on 127.0.0.1: the server container runs with `--network host` and
LT_ADDRESS=127.0.0.1, Debian's nginx runs the text `components.nginx.render_site_config` renders for
production (with test ports and a test CA's certificate), and the npm `localtunnel` client 2.0.2 is
installed for the session into a scratch directory. The client resolves lt.<domain> itself, so it
runs in a private mount namespace whose /etc/hosts maps that name to 127.0.0.1; the browser side
is curl with --resolve.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.catalog import COMPOSE_DIR
from components.ports import PortRange
from docker_daemon import Container, Docker, env_options, local_ca_certificates
from e2e_helpers import (
    LOOPBACK,
    background,
    free_port_range,
    scratch_dir,
    wait_until,
    web_app,
)
from live_nginx import RunningNginx, make_test_ca, running_nginx
from tools import require, run

CONTEXT = COMPOSE_DIR / "localtunnel"
DOMAIN = "p2pvps.test"
LT_DOMAIN = f"lt.{DOMAIN}"
SUBDOMAIN = "device42"
LT_CLIENT_VERSION = "2.0.2"
NODE_UID = 1000
APP_BODY = "hello from the rented device's web app"


@dataclass(frozen=True)
class Ports:
    lt: int
    clients: PortRange
    cms: int


@dataclass(frozen=True)
class Tunnel:
    """The running `lt` client and the URL the server gave it."""

    process: subprocess.Popen[bytes]
    url: str


@pytest.fixture(scope="session")
def lt_client() -> Iterator[Path]:
    """The npm `localtunnel` client at the pinned version, installed into a scratch directory."""
    with scratch_dir("lt-client") as directory:
        npm_install = [require("npm"), "install", "--prefix", str(directory), "--no-save", "--no-audit", "--no-fund"]
        installed = run([*npm_install, f"localtunnel@{LT_CLIENT_VERSION}"], timeout=300)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        yield directory / "node_modules" / "localtunnel" / "bin" / "lt.js"


@pytest.fixture(scope="module")
def image(build_image: Callable[..., str]) -> str:
    # npm must trust the machine's egress proxy, if it has one; production builds pass nothing.
    return build_image(CONTEXT, {"EXTRA_CA_CERTS": local_ca_certificates()})


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with scratch_dir("lt-e2e") as directory:
        directory.chmod(0o755)  # nginx workers (www-data) read below it
        yield directory


@pytest.fixture(scope="module")
def ports() -> Ports:
    """Distinct free loopback ports: one block, so no two can coincide."""
    block = free_port_range(6)
    first = block.first
    return Ports(lt=first, cms=first + 1, clients=PortRange(first + 2, block.last))


@pytest.fixture(scope="module")
def lt_server(docker: Docker, image: str, workdir: Path, ports: Ports) -> Iterator[Container]:
    logs = workdir / "lt-logs"
    logs.mkdir()
    os.chown(logs, NODE_UID, NODE_UID)
    env = {
        "LT_PORT": str(ports.lt),
        "LT_ADDRESS": LOOPBACK,
        "LT_DOMAIN": LT_DOMAIN,
        "LT_CLIENT_PORTS": str(ports.clients),
        "LT_SECURE": "true",
    }
    with docker.container(image, "host", *env_options(env), "--volume", f"{logs}:/var/log/p2pvps") as container:
        container.wait_healthy()
        yield container


@pytest.fixture(scope="module")
def nginx(workdir: Path, ports: Ports, lt_server: Container) -> Iterator[RunningNginx]:
    """The production site configuration in Debian's nginx, with a test CA, in front of the server."""
    tls = make_test_ca(workdir / "tls", DOMAIN)
    upstreams = {"cms_upstream": f"{LOOPBACK}:{ports.cms}", "localtunnel_upstream": f"{LOOPBACK}:{ports.lt}"}
    with running_nginx(workdir / "nginx", tls, domain=DOMAIN, **upstreams) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def app_port() -> Iterator[int]:
    with web_app(APP_BODY) as port:
        yield port


@pytest.fixture(scope="module")
def tunnel(lt_client: Path, workdir: Path, nginx: RunningNginx, app_port: int) -> Iterator[Tunnel]:
    """`lt --host https://lt.<domain>:<https> --port <app> --local-host 127.0.0.1 --subdomain device42`."""
    hosts = workdir / "hosts"
    hosts.write_text(f"{LOOPBACK} localhost {LT_DOMAIN}\n")
    client = [require("node"), str(lt_client), "--host", f"https://{LT_DOMAIN}:{nginx.https_port}"]
    client += ["--port", str(app_port), "--local-host", LOOPBACK, "--subdomain", SUBDOMAIN]
    private_hosts = [require("unshare"), "--mount", "--propagation", "private", "sh", "-c"]
    private_hosts += ['mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    log = workdir / "lt-client.log"
    env = os.environ | {"NODE_EXTRA_CA_CERTS": str(nginx.ca)}
    with background([*private_hosts, *client], log, env=env) as process:

        def url() -> str | None:
            assert process.poll() is None, f"lt exited:\n{log.read_text()}"
            match = re.search(r"your url is: (\S+)", log.read_text())
            return match.group(1) if match else None

        yield Tunnel(process, wait_until(url, "lt to print its URL"))


def https_get(proxy: RunningNginx, host: str, path: str = "") -> tuple[int, str]:
    """Status and body of https://HOST:<https>/PATH through nginx, HOST resolved to 127.0.0.1."""
    curl = [require("curl"), "--silent", "--show-error", "--max-time", "10", "--cacert", str(proxy.ca)]
    curl += ["--resolve", f"{host}:{proxy.https_port}:{LOOPBACK}", "--write-out", "\n%{http_code}"]
    fetched = run([*curl, f"https://{host}:{proxy.https_port}/{path}"])
    assert fetched.returncode == 0, fetched.stderr
    body, _, status = fetched.stdout.rpartition("\n")
    return int(status), body


def socket_ports(pid: int, listening: bool) -> list[tuple[int, int]]:
    """(local port, peer port) of the TCP sockets of process `pid`, listening or connected (ss)."""
    listed = run([require("ss"), "-H", "-t", "-n", "-p", *(["-l"] if listening else [])])
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines() if f"pid={pid}," in line]
    return [(_port(row[3]), _port(row[4])) for row in rows]


def _port(address: str) -> int:
    """The port of an `ss` address such as 127.0.0.1:3002; 0 for a wildcard peer (`*`)."""
    port = address.rsplit(":", 1)[1]
    return 0 if port == "*" else int(port)


def test_the_device_app_answers_through_nginx_and_the_tunnel(tunnel: Tunnel, nginx: RunningNginx) -> None:
    host = f"{SUBDOMAIN}.{LT_DOMAIN}"
    assert tunnel.url == f"https://{host}"
    assert wait_until(lambda: https_get(nginx, host) == (200, APP_BODY), f"{APP_BODY!r} from {host}")


def test_client_sockets_only_use_ports_from_lt_client_ports(
    tunnel: Tunnel, lt_server: Container, ports: Ports, app_port: int, nginx: RunningNginx
) -> None:
    listening = {local for local, _ in socket_ports(lt_server.pid, listening=True)} - {ports.lt}
    assert listening, "the server listens for no client sockets"
    assert all(port in ports.clients for port in listening), f"{sorted(listening)} not in {ports.clients}"
    client_peers = {peer for _, peer in socket_ports(tunnel.process.pid, listening=False)} - {
        nginx.https_port,
        app_port,
    }
    assert client_peers and client_peers <= listening


def test_new_clients_get_https_urls_and_ports_from_the_range(nginx: RunningNginx, ports: Ports) -> None:
    for name in ("otherdevice1", "otherdevice2"):
        status, body = https_get(nginx, LT_DOMAIN, name)
        assert status == 200, body
        reply = json.loads(body)
        assert reply["url"] == f"https://{name}.{LT_DOMAIN}"
        assert reply["port"] in ports.clients


def test_an_unknown_subdomain_is_404(nginx: RunningNginx) -> None:
    assert https_get(nginx, f"nosuchdevice.{LT_DOMAIN}")[0] == 404


def test_the_server_is_node_as_pid_1_with_uid_1000(lt_server: Container) -> None:
    status = Path(f"/proc/{lt_server.pid}/status").read_text()
    assert re.search(r"^Name:\s+node$", status, flags=re.MULTILINE)
    assert re.search(rf"^Uid:\s+{NODE_UID}\s+{NODE_UID}\s", status, flags=re.MULTILINE)


def test_the_log_reaches_stdout_and_the_mounted_file(
    tunnel: Tunnel, lt_server: Container, workdir: Path, ports: Ports
) -> None:
    expected = (f"server listening on port: {ports.lt}", f"making new client with id {SUBDOMAIN}")
    file_log = (workdir / "lt-logs" / "localtunnel.log").read_text()
    container_log = lt_server.logs()
    for line in expected:
        assert line in file_log
        assert line in container_log


def test_the_healthcheck_asks_the_status_api(lt_server: Container, ports: Ports) -> None:
    assert "/usr/local/bin/p2pvps-healthcheck" in lt_server.inspect("{{json .Config.Healthcheck.Test}}")
    assert lt_server.exec("p2pvps-healthcheck").returncode == 0
    assert lt_server.exec("p2pvps-healthcheck", env={"LT_PORT": str(ports.cms)}).returncode != 0


def test_lt_domain_is_required(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none")
    assert started.returncode == 64
    assert "LT_DOMAIN is required" in started.stderr


def test_a_client_range_containing_the_server_port_is_refused(docker: Docker, image: str) -> None:
    options = ["--env", f"LT_DOMAIN={LT_DOMAIN}", "--env", "LT_PORT=40010", "--env", "LT_CLIENT_PORTS=40000-40099"]
    started = docker.run_once(image, "none", *options)
    assert started.returncode == 64
    assert "LT_CLIENT_PORTS 40000-40099 contains LT_PORT 40010" in started.stderr
