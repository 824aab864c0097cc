"""The LocalTunnel image behind the real Nginx site configuration, with the real `lt` client: every tunnel
belongs to its registered device, and hostile requests get an answer and leave nothing open.

Everything listens on 127.0.0.1: the server container runs with `--network host` and
LT_ADDRESS=127.0.0.1, Debian's nginx runs the text `components.nginx.render_site_config` renders for
production (with test ports and a test CA's certificate), and the npm `localtunnel` client 2.0.2 is
installed for the session into a scratch directory. The client resolves lt.<domain> itself, so it
runs in a private mount namespace whose /etc/hosts maps that name to 127.0.0.1; the browser side
is curl with --resolve. Devices are registered with the SSH-Server image's own `p2pvps-device` into
a registry directory both containers mount, as in production. Attackers come from 127.0.0.2.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
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
    in_netns,
    scratch_dir,
    wait_until,
    web_app,
)
from live_nginx import RunningNginx, make_test_ca, running_nginx
from tools import require, run

pytestmark = pytest.mark.e2e

CONTEXT = COMPOSE_DIR / "localtunnel"
SSH_SERVER_CONTEXT = COMPOSE_DIR / "ssh-server"
DOMAIN = "p2pvps.test"
LT_DOMAIN = f"lt.{DOMAIN}"
OWNER = "device42"
NEIGHBOUR = "otherdevice"
LT_CLIENT_VERSION = "2.0.2"
NODE_UID = 1000
APP_BODY = "hello from the rented device's web app"
ATTACKER_ADDRESS = "127.0.0.2"
MAX_TUNNELS_PER_SOURCE = 3
HOSTILE_SUBDOMAINS = ("constructor", "__proto__", "hasOwnProperty", "toString")
# Nginx limits tunnel requests per source address: tests that are not about that limit each use
# addresses of their own.
_SOURCES = (f"127.0.2.{n}" for n in itertools.count(1))


def fresh_source() -> str:
    return next(_SOURCES)


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


@dataclass(frozen=True)
class Registry:
    """The device registry directory, changed with the SSH-Server image's `p2pvps-device`."""

    docker: Docker
    ssh_image: str
    directory: Path
    keys: Path

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.docker.run_once(
            self.ssh_image,
            "none",
            *("--volume", f"{self.directory}:/devices", "--entrypoint", "p2pvps-device"),
            *env_options({"PUBLIC_HOST": DOMAIN, "LT_HOST": LT_DOMAIN}),
            command=args,
        )

    def add(self, name: str) -> str:
        """Registers device `name` with a new key; the LocalTunnel credential `add` printed."""
        key = self.keys / name
        made = run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(key)])
        assert made.returncode == 0, made.stderr
        added = self.command("add", name, key.with_suffix(".pub").read_text().strip())
        assert added.returncode == 0, added.stderr
        credential = re.search(r"Web credential:\s+([0-9a-f]{40})\b", added.stdout)
        assert credential, added.stdout
        return credential.group(1)


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
def registry(docker: Docker, build_image: Callable[..., str], workdir: Path) -> Registry:
    directory, keys = workdir / "devices", workdir / "device-keys"
    directory.mkdir()
    keys.mkdir()
    return Registry(docker, build_image(SSH_SERVER_CONTEXT), directory, keys)


@pytest.fixture(scope="module")
def credentials(registry: Registry) -> dict[str, str]:
    """The credentials of the devices registered before the server starts."""
    return {name: registry.add(name) for name in (OWNER, NEIGHBOUR)}


@pytest.fixture(scope="module")
def ports() -> Ports:
    """Distinct free loopback ports: one block, so no two can coincide."""
    block = free_port_range(10)
    first = block.first
    return Ports(lt=first, cms=first + 1, clients=PortRange(first + 2, block.last))


@pytest.fixture(scope="module")
def lt_server(docker: Docker, image: str, workdir: Path, ports: Ports, registry: Registry) -> Iterator[Container]:
    logs = workdir / "lt-logs"
    logs.mkdir()
    os.chown(logs, NODE_UID, NODE_UID)
    env = {
        "LT_PORT": str(ports.lt),
        "LT_ADDRESS": LOOPBACK,
        "LT_DOMAIN": LT_DOMAIN,
        "LT_CLIENT_PORTS": str(ports.clients),
        "LT_SECURE": "true",
        "LT_MAX_TUNNELS_PER_SOURCE": str(MAX_TUNNELS_PER_SOURCE),
    }
    mounts = ["--volume", f"{logs}:/var/log/p2pvps", "--volume", f"{registry.directory}:/devices:ro"]
    with docker.container(image, "host", *env_options(env), *mounts) as container:
        container.wait_healthy()
        yield container


@pytest.fixture(scope="module")
def nginx(workdir: Path, ports: Ports, lt_server: Container) -> Iterator[RunningNginx]:
    """The production site configuration in Debian's nginx, with a test CA, in front of the server."""
    tls = make_test_ca(workdir / "tls", DOMAIN)
    with running_nginx(
        workdir / "nginx",
        tls,
        domain=DOMAIN,
        cms_upstream=f"{LOOPBACK}:{ports.cms}",
        localtunnel_upstream=f"{LOOPBACK}:{ports.lt}",
    ) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def app_port() -> Iterator[int]:
    with web_app(APP_BODY) as port:
        yield port


@dataclass(frozen=True)
class Client:
    """A running stock `lt` client and the file its output goes to."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text()


StartClient = Callable[..., contextlib.AbstractContextManager[Client]]


@pytest.fixture(scope="module")
def start_client(lt_client: Path, workdir: Path, nginx: RunningNginx) -> StartClient:
    """`start_client(user, subdomain, app)`: the stock `lt` client in the background, as a device runs it:
    `lt --host https://USER@lt.<domain>:<https> --port APP --local-host 127.0.0.1 --subdomain NAME`
    (USER is `NAME:CREDENTIAL`), with lt.<domain> resolved to 127.0.0.1 in a private mount namespace
    and DEBUG=localtunnel:client; its output goes to lt-client-<subdomain>-<n>.log."""
    hosts = workdir / "hosts"
    hosts.write_text(f"{LOOPBACK} localhost {LT_DOMAIN}\n")
    private_hosts = [require("unshare"), "--mount", "--propagation", "private", "sh", "-c"]
    private_hosts += ['mount --bind "$0" /etc/hosts && exec "$@"', str(hosts)]
    env = os.environ | {"NODE_EXTRA_CA_CERTS": str(nginx.ca), "DEBUG": "localtunnel:client"}
    runs = itertools.count()

    @contextlib.contextmanager
    def start(user: str, subdomain: str, app: int) -> Iterator[Client]:
        client = [require("node"), str(lt_client), "--host", f"https://{user}@{LT_DOMAIN}:{nginx.https_port}"]
        client += ["--port", str(app), "--local-host", LOOPBACK, "--subdomain", subdomain]
        log = workdir / f"lt-client-{subdomain}-{next(runs)}.log"
        with background([*private_hosts, *client], log, env=env) as process:
            yield Client(process, log)

    return start


@pytest.fixture(scope="module")
def tunnel(start_client: StartClient, app_port: int, credentials: dict[str, str]) -> Iterator[Tunnel]:
    """The owner's `lt` client, with its credential in --host as `p2pvps-device add` prints it."""
    with start_client(f"{OWNER}:{credentials[OWNER]}", OWNER, app_port) as client:

        def url() -> str | None:
            assert client.process.poll() is None, f"lt exited:\n{client.output()}"
            match = re.search(r"your url is: (\S+)", client.output())
            return match.group(1) if match else None

        yield Tunnel(client.process, wait_until(url, "lt to print its URL"))


def https_get(
    proxy: RunningNginx, host: str, path: str = "", *, user: str | None = None, source: str = LOOPBACK
) -> tuple[int, str]:
    """Status and body of https://HOST:<https>/PATH through nginx, HOST resolved to 127.0.0.1, from `source`."""
    curl = [require("curl"), "--silent", "--show-error", "--max-time", "10", "--cacert", str(proxy.ca)]
    curl += ["--interface", source, "--resolve", f"{host}:{proxy.https_port}:{LOOPBACK}"]
    curl += ["--write-out", "\n%{http_code}", *(["--user", user] if user else [])]
    fetched = run([*curl, f"https://{host}:{proxy.https_port}/{path}"])
    assert fetched.returncode == 0, fetched.stderr
    body, _, status = fetched.stdout.rpartition("\n")
    return int(status), body


def serves_the_app(proxy: RunningNginx) -> bool:
    return https_get(proxy, f"{OWNER}.{LT_DOMAIN}") == (200, APP_BODY)


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


def open_sockets_to(pid: int, port: int) -> int:
    """How many connected sockets process `pid` holds on its local `port` (any state but LISTEN)."""
    listed = run([require("ss"), "-H", "-t", "-a", "-n", "-p", f"sport = :{port}"])
    return sum(1 for line in listed.stdout.splitlines() if f"pid={pid}," in line and not line.startswith("LISTEN"))


def tunnel_port(tunnel: Tunnel, lt_server: Container, ports: Ports) -> int:
    """The server port the owner's client keeps its sockets on."""
    listening = {local for local, _ in socket_ports(lt_server.pid, listening=True)} & set(ports.clients.ports())
    peers = {peer for _, peer in socket_ports(tunnel.process.pid, listening=False)} & listening
    assert len(peers) == 1, (listening, peers)
    return peers.pop()


def test_the_device_app_answers_through_nginx_and_the_tunnel(tunnel: Tunnel, nginx: RunningNginx) -> None:
    assert tunnel.url == f"https://{OWNER}.{LT_DOMAIN}"
    assert wait_until(lambda: serves_the_app(nginx), f"{APP_BODY!r} from {OWNER}.{LT_DOMAIN}")


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


@pytest.mark.parametrize("subdomain", [OWNER, NEIGHBOUR, "brandnew1"])
@pytest.mark.parametrize("credential", ["none", "wrong", "neighbour's"])
def test_a_tunnel_request_without_the_device_credential_is_refused_and_the_owner_keeps_serving(
    tunnel: Tunnel, nginx: RunningNginx, credentials: dict[str, str], subdomain: str, credential: str
) -> None:
    user = {
        "none": None,
        "wrong": f"{subdomain}:{'0' * 40}",
        "neighbour's": f"{NEIGHBOUR}:{credentials[NEIGHBOUR]}",
    }[credential]
    if (subdomain, credential) == (NEIGHBOUR, "neighbour's"):
        user = f"{OWNER}:{credentials[NEIGHBOUR]}"  # the neighbour's secret under another name
    status, body = https_get(nginx, LT_DOMAIN, subdomain, user=user, source=fresh_source())
    assert status == (401 if user is None else 403), body
    assert "message" in json.loads(body)
    assert serves_the_app(nginx)


def test_a_random_subdomain_is_never_handed_out(tunnel: Tunnel, nginx: RunningNginx) -> None:
    status, body = https_get(nginx, LT_DOMAIN, "?new", source=fresh_source())
    assert '"url"' not in body, (status, body)
    assert serves_the_app(nginx)


def test_the_stock_client_with_a_wrong_credential_gets_no_tunnel_and_says_why(
    tunnel: Tunnel, start_client: StartClient, nginx: RunningNginx, app_port: int
) -> None:
    """`lt` 2.0.2 retries a refusal about once a second; with DEBUG=localtunnel:client it prints the status."""
    with start_client(f"{OWNER}:{'f' * 40}", OWNER, app_port) as client:
        wait_until(lambda: "Request failed with status code 403" in client.output(), "lt to print the refusal")
    assert "your url is" not in client.output()
    assert serves_the_app(nginx)


def open_tunnel(registry: Registry, nginx: RunningNginx, name: str) -> tuple[str, int]:
    """Registers device `name` and asks for its tunnel from an address of its own: (that address, the tunnel port).

    The device's sockets must come from that address, within a second (the server's grace period)."""
    source = fresh_source()
    credential = registry.add(name)
    status, body = https_get(nginx, LT_DOMAIN, name, user=f"{name}:{credential}", source=source)
    assert status == 200, body
    return source, json.loads(body)["port"]


@contextlib.contextmanager
def visiting(nginx: RunningNginx, host: str) -> Iterator[dict[str, tuple[int, str]]]:
    """A visitor's request to `host` in the background; after the block, its (status, body) is in ["reply"]."""
    visitor: dict[str, tuple[int, str]] = {}
    fetch = threading.Thread(target=lambda: visitor.update(reply=https_get(nginx, host)))
    fetch.start()
    try:
        yield visitor
    finally:
        fetch.join(15)


def test_a_socket_from_another_address_cannot_join_the_tunnel(registry: Registry, nginx: RunningNginx) -> None:
    """The intruder connects first; without the defence it would be handed the visitor's request."""
    source, port = open_tunnel(registry, nginx, "joined")
    with keep_online(ATTACKER_ADDRESS, port) as intruder, keep_online(source, port) as owner:
        with visiting(nginx, f"joined.{LT_DOMAIN}") as visitor:
            request = owner.recv(65536)
            owner.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nowner")
        try:
            intercepted = intruder.recv(65536)
        except ConnectionResetError:
            intercepted = b""
    assert request.startswith(b"GET / HTTP/1.1"), request
    assert intercepted == b"", "the server closed the intruder's socket without a request"
    assert visitor["reply"] == (200, "owner")


def test_a_request_the_device_drops_is_answered_502(registry: Registry, nginx: RunningNginx) -> None:
    source, port = open_tunnel(registry, nginx, "dropping")
    with keep_online(source, port) as device, visiting(nginx, f"dropping.{LT_DOMAIN}") as visitor:
        assert device.recv(65536).startswith(b"GET / HTTP/1.1")
        device.shutdown(socket.SHUT_RDWR)
    assert visitor["reply"][0] == 502


def test_a_device_answering_an_impossible_status_gets_its_visitor_a_502(
    registry: Registry, nginx: RunningNginx, lt_server: Container
) -> None:
    """A device answering "HTTP/1.1 099" made the server throw (and, with an exit on errors, stop)."""
    source, port = open_tunnel(registry, nginx, "oddstatus")
    with keep_online(source, port) as device, visiting(nginx, f"oddstatus.{LT_DOMAIN}") as visitor:
        assert device.recv(65536).startswith(b"GET / HTTP/1.1")
        device.sendall(b"HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n")
    assert visitor["reply"][0] == 502
    assert lt_server.is_running()
    assert serves_the_app(nginx)


def test_the_device_reconnecting_replaces_its_own_tunnel(
    registry: Registry, nginx: RunningNginx, start_client: StartClient
) -> None:
    """A second client with the device's credential (the device restarted) takes over its subdomain."""
    user = f"restarted:{registry.add('restarted')}"
    host = f"restarted.{LT_DOMAIN}"
    with (
        web_app("before the restart") as old_app,
        web_app("after the restart") as new_app,
        start_client(user, "restarted", old_app),
    ):
        wait_until(lambda: https_get(nginx, host) == (200, "before the restart"), f"{host} to serve")
        with start_client(user, "restarted", new_app):
            wait_until(lambda: https_get(nginx, host) == (200, "after the restart"), "the new client to serve")


@pytest.mark.parametrize("subdomain", HOSTILE_SUBDOMAINS)
def test_a_request_for_an_object_property_subdomain_gets_a_prompt_404(
    tunnel: Tunnel, lt_server: Container, ports: Ports, nginx: RunningNginx, subdomain: str
) -> None:
    """`constructor` made upstream's request handler throw and leave the request open."""
    before = open_sockets_to(lt_server.pid, ports.lt)
    head = raw_head(ports.lt, f"GET / HTTP/1.1\r\nHost: {subdomain}.{LT_DOMAIN}\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404"), head
    assert https_get(nginx, f"{subdomain}.{LT_DOMAIN}")[0] == 404
    wait_until(lambda: open_sockets_to(lt_server.pid, ports.lt) <= before, "the refused sockets to close")
    assert lt_server.is_running()
    assert serves_the_app(nginx)


# Whether a browser gets that far: the wildcard certificate covers one label, and curl takes the name.
@pytest.mark.parametrize(("host", "through_nginx"), [("xn--", True), ("-", False), ("xn--.a", False), ("a..b", False)])
def test_a_host_name_that_is_no_tunnel_name_gets_a_404(
    tunnel: Tunnel, lt_server: Container, ports: Ports, nginx: RunningNginx, host: str, *, through_nginx: bool
) -> None:
    """tldjs threw on some of these names (xn--), which any visitor can send through the *.lt server."""
    head = raw_head(ports.lt, f"GET / HTTP/1.1\r\nHost: {host}.{LT_DOMAIN}\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404"), head
    if through_nginx:
        assert https_get(nginx, f"{host}.{LT_DOMAIN}")[0] == 404
    assert lt_server.is_running()
    assert serves_the_app(nginx)


def test_a_url_node_cannot_forward_is_answered_400(tunnel: Tunnel, lt_server: Container, ports: Ports) -> None:
    """From the stack network (Nginx refuses it first): a tab in a tunnel's URL made http.request throw."""
    head = raw_head(ports.lt, f"GET /a\tb HTTP/1.1\r\nHost: {OWNER}.{LT_DOMAIN}\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400"), head
    assert lt_server.is_running()


def test_a_refused_upgrade_whose_client_resets_does_not_stop_the_server(
    tunnel: Tunnel, lt_server: Container, ports: Ports, nginx: RunningNginx
) -> None:
    """The server wrote its refusal to a socket without an error listener: a reset made it throw."""
    upgrade = f"GET / HTTP/1.1\r\nHost: {LT_DOMAIN}\r\nConnection: Upgrade\r\nUpgrade: x\r\n\r\n"
    for _ in range(5):
        with socket.create_connection((LOOPBACK, ports.lt), timeout=5) as connection:
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            connection.sendall(upgrade.encode())
    assert serves_the_app(nginx)
    assert lt_server.is_running()


@pytest.mark.parametrize("host", [f"Host: {LT_DOMAIN}\r\n", "", f"Host: {HOSTILE_SUBDOMAINS[0]}.{LT_DOMAIN}\r\n"])
def test_an_upgrade_that_goes_nowhere_is_answered_and_closed(
    tunnel: Tunnel, lt_server: Container, ports: Ports, nginx: RunningNginx, host: str
) -> None:
    before = open_sockets_to(lt_server.pid, ports.lt)
    upgrade = f"GET / HTTP/1.1\r\n{host}Connection: Upgrade\r\nUpgrade: websocket\r\n\r\n"
    head = raw_head(ports.lt, upgrade)
    assert re.match(rb"HTTP/1.1 40[04] ", head), head
    wait_until(lambda: open_sockets_to(lt_server.pid, ports.lt) <= before, "the refused socket to close")
    assert lt_server.is_running()
    assert serves_the_app(nginx)


def raw_head(port: int, request: str) -> bytes:
    """The status line and headers the server sends back to one raw request (5 s at most); then hangs up."""
    with socket.create_connection((LOOPBACK, port), timeout=5) as connection:
        connection.sendall(request.encode())
        received = b""
        deadline = time.monotonic() + 5
        while b"\r\n\r\n" not in received and time.monotonic() < deadline:
            chunk = connection.recv(65536)
            if not chunk:
                break
            received += chunk
    assert b"\r\n\r\n" in received, f"no complete answer within 5 s: {received!r}"
    return received.split(b"\r\n\r\n", 1)[0]


def test_tunnels_are_capped_per_source_address(
    tunnel: Tunnel, registry: Registry, nginx: RunningNginx, lt_server: Container
) -> None:
    """MAX_TUNNELS_PER_SOURCE tunnels from one address; one more is refused with 429, other addresses are not."""
    source = "127.0.0.4"
    devices = {name: registry.add(name) for name in (f"capped{n}" for n in range(MAX_TUNNELS_PER_SOURCE + 1))}
    held = []
    try:
        for name, credential in list(devices.items())[:MAX_TUNNELS_PER_SOURCE]:
            status, body = https_get(nginx, LT_DOMAIN, name, user=f"{name}:{credential}", source=source)
            assert status == 200, body
            held.append(keep_online(source, json.loads(body)["port"]))
        last, credential = list(devices.items())[-1]
        status, body = https_get(nginx, LT_DOMAIN, last, user=f"{last}:{credential}", source=source)
        assert status == 429, body
        assert f"too many tunnels from {source}" in json.loads(body)["message"]
        status, body = https_get(nginx, LT_DOMAIN, last, user=f"{last}:{credential}", source="127.0.0.5")
        assert status == 200, body
    finally:
        for connection in held:
            connection.close()
    assert serves_the_app(nginx)


def keep_online(source: str, port: int) -> socket.socket:
    """A tunnel socket from `source`, so the server keeps the tunnel past its one-second grace period."""
    connection = socket.socket()
    connection.bind((source, 0))
    connection.settimeout(5)
    connection.connect((LOOPBACK, port))
    return connection


@pytest.mark.parametrize("change", ["remove", "token"])
def test_a_removed_or_rekeyed_device_loses_its_tunnel(
    registry: Registry, nginx: RunningNginx, start_client: StartClient, app_port: int, change: str
) -> None:
    """`p2pvps-device remove` or `token`: the open tunnel closes, the old credential opens no new one."""
    name = f"{change}device"
    credential = registry.add(name)
    host = f"{name}.{LT_DOMAIN}"
    with start_client(f"{name}:{credential}", name, app_port):
        wait_until(lambda: https_get(nginx, host) == (200, APP_BODY), f"{host} to serve")
        assert registry.command(change, name).returncode == 0
        assert https_get(nginx, host)[0] == 404
    status, _ = https_get(nginx, LT_DOMAIN, name, user=f"{name}:{credential}", source=fresh_source())
    assert status == 403


def test_nginx_rate_limits_tunnel_requests_per_source(nginx: RunningNginx, credentials: dict[str, str]) -> None:
    statuses = [https_get(nginx, LT_DOMAIN, "nosuchdevice", user="x:y", source="127.0.0.6")[0] for _ in range(25)]
    assert 429 in statuses, statuses
    assert statuses[0] == 403
    assert https_get(nginx, LT_DOMAIN, "nosuchdevice", user="x:y", source="127.0.0.7")[0] == 403


@dataclass(frozen=True)
class OnePortServer:
    """A second LocalTunnel server with one client port, spoken to directly (no Nginx)."""

    container: Container
    port: int
    client_port: int

    def ask(self, name: str, credential: str) -> bytes:
        """The status line and headers of `name`'s tunnel request with `credential`."""
        auth = base64.b64encode(f"{name}:{credential}".encode()).decode()
        request = f"GET /{name} HTTP/1.1\r\nHost: {LT_DOMAIN}\r\nAuthorization: Basic {auth}\r\n\r\n"
        return raw_head(self.port, request)


@pytest.fixture()
def one_port_server(docker: Docker, image: str, registry: Registry, workdir: Path) -> Iterator[OnePortServer]:
    block = free_port_range(2)
    env = {"LT_PORT": str(block.first), "LT_ADDRESS": LOOPBACK, "LT_DOMAIN": LT_DOMAIN}
    env |= {"LT_CLIENT_PORTS": str(block.last), "LT_SECURE": "true"}
    logs = workdir / f"lt-one-port-logs-{block.first}"
    logs.mkdir()
    os.chown(logs, NODE_UID, NODE_UID)
    mounts = ["--volume", f"{logs}:/var/log/p2pvps", "--volume", f"{registry.directory}:/devices:ro"]
    with docker.container(image, "host", *env_options(env), *mounts) as server:
        server.wait_healthy()
        yield OnePortServer(server, block.first, block.last)


def closed_by_server(connection: socket.socket) -> bool:
    """Whether the server closes `connection` (within its 5 s timeout) without sending anything."""
    try:
        return connection.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_a_full_port_range_is_a_prompt_503(one_port_server: OnePortServer, registry: Registry) -> None:
    """With one client port, a second device's tunnel request is answered 503 at once, not left waiting."""
    first, second = registry.add("portfull1"), registry.add("portfull2")
    assert one_port_server.ask("portfull1", first).startswith(b"HTTP/1.1 200")
    with keep_online(LOOPBACK, one_port_server.client_port):
        assert one_port_server.ask("portfull2", second).startswith(b"HTTP/1.1 503")


def test_replacing_a_tunnel_closes_its_sockets_and_frees_its_port(
    one_port_server: OnePortServer, registry: Registry
) -> None:
    """Each new request of a device that keeps its old socket open takes the one port again, and the
    server closes the old socket (upstream left both open: a port used up per reconnection)."""
    credential = registry.add("holding")
    previous: socket.socket | None = None
    try:
        for _ in range(4):
            assert one_port_server.ask("holding", credential).startswith(b"HTTP/1.1 200")
            if previous is not None:
                assert closed_by_server(previous), "the replaced tunnel's socket is closed by the server"
                previous.close()
            previous = keep_online(LOOPBACK, one_port_server.client_port)
    finally:
        if previous is not None:
            previous.close()


def test_an_unreadable_registry_keeps_the_last_one_read_in_force(
    one_port_server: OnePortServer, registry: Registry
) -> None:
    """A registry whose mode was changed by hand made every request throw (and the server stop)."""
    credential = registry.add("steady")
    assert one_port_server.ask("steady", credential).startswith(b"HTTP/1.1 200")
    registry_file = registry.directory / "registry"
    registry_file.chmod(0o600)
    changed = registry_file.stat().st_mtime + 1
    os.utime(registry_file, (changed, changed))  # so the server reads the file again
    try:
        assert one_port_server.ask("steady", credential).startswith(b"HTTP/1.1 200")
        assert one_port_server.ask("steady", "0" * 40).startswith(b"HTTP/1.1 403")
        assert one_port_server.container.is_running()
    finally:
        registry_file.chmod(0o644)
    assert "cannot read /devices/registry (EACCES)" in one_port_server.container.logs()


def test_an_unknown_subdomain_is_404(nginx: RunningNginx) -> None:
    assert https_get(nginx, f"nosuchdevice.{LT_DOMAIN}")[0] == 404


def test_an_unexpected_exception_ends_the_process(
    docker: Docker, image: str, workdir: Path, registry: Registry
) -> None:
    """main.js's handler: an error nothing catches ends node with 70, so the restart policy starts a clean one."""
    throw_later = "require('./main.js'); setTimeout(() => { throw new Error('unexpected') }, 500)"
    env = {"LT_PORT": "1", "LT_ADDRESS": LOOPBACK, "LT_DOMAIN": LT_DOMAIN, "LT_MAX_SOCKETS": "10"}
    env |= {"LT_MAX_TUNNELS_PER_SOURCE": "10", "LT_CLIENT_PORTS": "40000-40009"}
    ended = docker.run_once(
        image,
        "none",
        *("--entrypoint", "node", "--user", "0", *env_options(env)),
        command=("-r", "esm", "-e", throw_later),
    )
    assert ended.returncode == 70, ended.stdout + ended.stderr
    assert "unexpected error, exiting for a clean restart: Error: unexpected" in ended.stderr


# IPv6 in the container's own network namespace (Docker turns it off for --network none).
IPV6_ON = ("--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.lo.disable_ipv6=0")


def exchange(source: str, port: int, request: bytes) -> bytes:
    """Everything a server on `source`'s own loopback address answers to `request` sent from `source`
    (call it inside the namespace of that server); a reset ends the answer."""
    family = socket.AF_INET6 if ":" in source else socket.AF_INET
    with socket.socket(family) as connection:
        connection.settimeout(5)
        connection.bind((source, 0))
        connection.connect((source, port))
        connection.sendall(request)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            chunks.extend(iter(lambda: connection.recv(65536), b""))
    return b"".join(chunks)


def device_socket(source: str, port: int) -> socket.socket:
    connection = socket.socket(socket.AF_INET6 if ":" in source else socket.AF_INET)
    connection.settimeout(5)
    connection.bind((source, 0))
    connection.connect((source, port))
    return connection


def test_with_ipv6_the_server_and_tunnel_ports_take_both_families(
    docker: Docker, image: str, registry: Registry, workdir: Path
) -> None:
    """LT_ADDRESS "::": an IPv6 device and an IPv4 one each get a working tunnel, their sockets from
    their own address only (an IPv4 socket arrives as ::ffff:a.b.c.d and counts as that address)."""
    env = {"LT_PORT": "3002", "LT_ADDRESS": "::", "LT_DOMAIN": LT_DOMAIN, "LT_CLIENT_PORTS": "40000-40003"}
    logs = workdir / "lt-ipv6-logs"
    logs.mkdir()
    os.chown(logs, NODE_UID, NODE_UID)
    mounts = ["--volume", f"{logs}:/var/log/p2pvps", "--volume", f"{registry.directory}:/devices:ro"]
    devices = {name: registry.add(name) for name in ("sixdevice", "fourdevice")}

    def tunnel_round_trip(name: str, own: str, other: str) -> tuple[bytes, bytes, bytes]:
        """(the intruder's share, what the device got, what the visitor got) for device `name` on `own`."""
        auth = base64.b64encode(f"{name}:{devices[name]}".encode()).decode()
        ask = f"GET /{name} HTTP/1.1\r\nHost: {LT_DOMAIN}\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n"
        reply = exchange(own, 3002, (ask + "\r\n").encode())
        assert reply.startswith(b"HTTP/1.1 200"), reply
        port = json.loads(reply.split(b"\r\n\r\n", 1)[1])["port"]
        with device_socket(own, port) as device:
            intruder = exchange(other, port, b"")
            visitor: dict[str, bytes] = {}
            visit = f"GET / HTTP/1.1\r\nHost: {name}.{LT_DOMAIN}\r\nConnection: close\r\n\r\n".encode()
            fetch = threading.Thread(target=lambda: visitor.update(reply=exchange(LOOPBACK, 3002, visit)))
            fetch.start()
            request = device.recv(65536)
            device.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\nConnection: close\r\n\r\ndevice")
            fetch.join(15)
        return intruder, request, visitor.get("reply", b"")

    with docker.container(image, "none", *IPV6_ON, *env_options(env), *mounts) as server:
        server.wait_healthy()
        for name, own, other in (("sixdevice", "::1", LOOPBACK), ("fourdevice", LOOPBACK, "::1")):
            intruder, request, reply = in_netns(server.pid, lambda: tunnel_round_trip(name, own, other))  # noqa: B023
            assert intruder == b"", f"a socket from {other} joins no tunnel opened from {own}"
            assert request.startswith(b"GET / HTTP/1.1")
            assert reply.endswith(b"device")


def test_the_server_is_node_as_pid_1_with_uid_1000(lt_server: Container) -> None:
    status = Path(f"/proc/{lt_server.pid}/status").read_text()
    assert re.search(r"^Name:\s+node$", status, flags=re.MULTILINE)
    assert re.search(rf"^Uid:\s+{NODE_UID}\s+{NODE_UID}\s", status, flags=re.MULTILINE)


def test_the_log_reaches_stdout_and_the_mounted_file(
    tunnel: Tunnel, lt_server: Container, workdir: Path, ports: Ports
) -> None:
    expected = (f"server listening on port: {ports.lt}", f"making new client with id {OWNER} for {LOOPBACK}")
    file_log = (workdir / "lt-logs" / "localtunnel.log").read_text()
    container_log = lt_server.logs()
    for line in expected:
        assert line in file_log
        assert line in container_log


def test_no_credential_reaches_the_log(tunnel: Tunnel, lt_server: Container, credentials: dict[str, str]) -> None:
    log = lt_server.logs()
    assert all(credential not in log for credential in credentials.values())


def test_the_healthcheck_asks_the_status_api(lt_server: Container, ports: Ports) -> None:
    assert "/usr/local/bin/p2pvps-healthcheck" in lt_server.inspect("{{json .Config.Healthcheck.Test}}")
    assert lt_server.exec("p2pvps-healthcheck").returncode == 0
    assert lt_server.exec("p2pvps-healthcheck", env={"LT_PORT": str(ports.cms)}).returncode != 0


def test_lt_domain_is_required(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none")
    assert started.returncode == 64
    assert "LT_DOMAIN is required" in started.stderr


def test_the_device_registry_must_be_mounted(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none", "--env", f"LT_DOMAIN={LT_DOMAIN}")
    assert started.returncode == 64
    assert "/devices must be a volume" in started.stderr


def test_a_client_range_containing_the_server_port_is_refused(docker: Docker, image: str, registry: Registry) -> None:
    options = ["--env", f"LT_DOMAIN={LT_DOMAIN}", "--env", "LT_PORT=40010", "--env", "LT_CLIENT_PORTS=40000-40099"]
    options += ["--volume", f"{registry.directory}:/devices:ro"]
    started = docker.run_once(image, "none", *options)
    assert started.returncode == 64
    assert "LT_CLIENT_PORTS 40000-40099 contains LT_PORT 40010" in started.stderr
