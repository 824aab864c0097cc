"""The SSH-Server image with the real OpenSSH client: reverse tunnels in range only, and nothing else.

Each container runs with `--network none`: a device's `ssh -R 0.0.0.0:PORT:...` binds every
interface of sshd's network namespace, and in a private namespace that is only loopback. The client,
the device's local service and the renter's TCP client are put in that namespace (nsenter, setns).
The renter connects to 127.0.0.2, which reaches a tunnel bound to 0.0.0.0 but not one bound to
127.0.0.1, so the test sees whether GatewayPorts honours the client's address. Password logins use
Debian's sshpass in front of the same OpenSSH client.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

from components.catalog import COMPOSE_DIR
from components.ports import PortRange
from docker_daemon import Container, Docker, env_options
from e2e_helpers import (
    LOOPBACK,
    background,
    in_netns,
    nsenter,
    scratch_dir,
    wait_until,
    web_app,
)
from tools import require, run

T = TypeVar("T")

CONTEXT = COMPOSE_DIR / "ssh-server"
# Not the image's defaults (6100, 6101-6200): the test proves the environment moves them.
SSH_PORT = 2222
TUNNEL_PORTS = PortRange(2300, 2302)
REFUSED_PORTS = (2299, 2303, 6101)
TUNNEL_USER = "device"
TUNNEL_PASSWORD = "correct horse battery staple"
# Another loopback address: it reaches a listener on 0.0.0.0, never one on 127.0.0.1.
RENTER_ADDRESS = "127.0.0.2"
APP_BODY = "hello from the device behind NAT"
PASSWORD_LOGIN = (
    *("-o", "PreferredAuthentications=password"),
    *("-o", "PubkeyAuthentication=no"),
    *("-o", "NumberOfPasswordPrompts=1"),
)


@dataclass(frozen=True)
class SshServer:
    """A running SSH-Server container and what a client needs to reach it."""

    container: Container
    pid: int
    state: Path
    logs: Path
    client_key: Path
    known_hosts: Path

    def ssh(self, *options: str, user: str = TUNNEL_USER, password: bool = False, command: str = "") -> list[str]:
        """The OpenSSH client in the container's network namespace, checking the host key strictly.

        It logs in with the device's key, or with `password` through sshpass (password from $SSHPASS).
        """
        key_login = ("-i", str(self.client_key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes")
        auth = PASSWORD_LOGIN if password else key_login
        client = [
            require("ssh"),
            *("-F", "/dev/null", "-p", str(SSH_PORT), "-o", "ConnectTimeout=5"),
            *("-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *auth,
            *options,
            f"{user}@{LOOPBACK}",
            *([command] if command else []),
        ]
        return [*nsenter(self.pid), *([require("sshpass"), "-e"] if password else []), *client]

    def fetch(self, port: int) -> str:
        """What a renter gets from `port` (an HTTP/1.0 GET read to the end; a reset ends the reply)."""
        connection = in_netns(self.pid, lambda: socket.create_connection((RENTER_ADDRESS, port), 5))
        chunks = []
        with connection, contextlib.suppress(ConnectionResetError):
            connection.settimeout(5)
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            chunks.extend(iter(lambda: connection.recv(65536), b""))
        return b"".join(chunks).decode(errors="replace")


def remote_forward(port: int, app_port: int) -> list[str]:
    """Options of a device's tunnel, as the P2P VPS client asks for it: bound on 0.0.0.0."""
    return ["-N", "-o", "ExitOnForwardFailure=yes", "-R", f"0.0.0.0:{port}:{LOOPBACK}:{app_port}"]


def known_hosts_from_state(state: Path) -> Path:
    """known_hosts made from the public host keys in /state."""
    path = state.parent / f"{state.name}-known_hosts"
    keys = sorted((state / "host-keys").glob("*.pub"))
    path.write_text("".join(f"[{LOOPBACK}]:{SSH_PORT} {key.read_text()}" for key in keys))
    return path


def password_env(password: str) -> dict[str, str]:
    return os.environ | {"SSHPASS": password}


Launch = Callable[..., contextlib.AbstractContextManager[SshServer]]


@pytest.fixture(scope="module")
def image(build_image: Callable[..., str]) -> str:
    return build_image(CONTEXT)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with scratch_dir("ssh-e2e") as directory:
        yield directory


@pytest.fixture(scope="module")
def client_key(workdir: Path) -> Path:
    key = workdir / "device_ed25519"
    made = run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-C", "device", "-f", str(key)])
    assert made.returncode == 0, made.stderr
    return key


@pytest.fixture(scope="module")
def launch(docker: Docker, image: str, workdir: Path, client_key: Path) -> Launch:
    """Starts an SSH-Server on /state `state` (made with the device's key if new) and waits until healthy."""

    @contextlib.contextmanager
    def start(state: str, **extra_env: str) -> Iterator[SshServer]:
        state_dir, logs = workdir / state, workdir / f"{state}-logs"
        if not state_dir.exists():
            state_dir.mkdir(mode=0o750)
            (state_dir / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
        logs.mkdir(exist_ok=True)
        env = {
            "SSH_PORT": str(SSH_PORT),
            "SSH_LISTEN_ADDRESS": LOOPBACK,
            "TUNNEL_PORTS": str(TUNNEL_PORTS),
            "TUNNEL_USER": TUNNEL_USER,
            **extra_env,
        }
        mounts = ["--volume", f"{state_dir}:/state", "--volume", f"{logs}:/var/log/p2pvps"]
        with docker.container(image, "none", *env_options(env), *mounts) as container:
            container.wait_healthy()
            yield SshServer(container, container.pid, state_dir, logs, client_key, known_hosts_from_state(state_dir))

    return start


@pytest.fixture(scope="module")
def server(launch: Launch) -> Iterator[SshServer]:
    """The SSH-Server as deployed by default: keys only, no TUNNEL_PASSWORD."""
    with launch("state") as running:
        yield running


@contextlib.contextmanager
def tunnel(server: SshServer, port: int, app_port: int, password: bool = False) -> Iterator[None]:
    """A device's reverse tunnel from `port` to its local app; ready when a renter can connect."""
    log = server.state.parent / f"ssh-R-{port}.log"
    env = password_env(TUNNEL_PASSWORD) if password else None
    with background(server.ssh(*remote_forward(port, app_port), password=password), log, env=env) as client:

        def forwarding() -> bool:
            assert client.poll() is None, f"ssh -R {port} exited: {log.read_text()}"
            return APP_BODY in server.fetch(port)

        wait_until(lambda: unless_refused(forwarding), f"the tunnel on port {port}", timeout=15)
        yield


def unless_refused(check: Callable[[], T]) -> T | None:
    """`check()`, or None while its connection is refused (nothing listens there yet)."""
    try:
        return check()
    except ConnectionRefusedError:
        return None


def forward_outcome(server: SshServer, port: int, app_port: int) -> str:
    """'refused' when sshd refuses the remote forward, 'forwarding' when the client stays up with it."""
    try:
        result = run(server.ssh(*remote_forward(port, app_port)), timeout=8)
    except subprocess.TimeoutExpired:
        return "forwarding"
    assert "remote port forwarding failed" in result.stderr, result.stderr
    return "refused"


def test_static_sshd_config_passes_sshd_t(workdir: Path) -> None:
    host_key = workdir / "sshd-t_host_key"
    run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)])
    checked = run([require("sshd"), "-t", "-f", str(CONTEXT / "sshd_config"), "-h", str(host_key)])
    assert checked.returncode == 0, checked.stderr


def test_sshd_is_pid_1_and_logs_to_the_mounted_directory(server: SshServer) -> None:
    assert server.container.exec("readlink", "/proc/1/exe").stdout.strip() == "/usr/sbin/sshd"
    # sshd retitles itself: "sshd: /usr/sbin/sshd -D -E ... [listener] ...".
    assert "/usr/sbin/sshd -D -E /var/log/p2pvps/sshd.log" in server.container.exec("cat", "/proc/1/cmdline").stdout
    log = server.logs / "sshd.log"
    assert f"Server listening on {LOOPBACK} port {SSH_PORT}." in log.read_text()


def test_healthcheck_probes_the_ssh_port(server: SshServer) -> None:
    assert "/usr/local/bin/p2pvps-healthcheck" in server.container.inspect("{{json .Config.Healthcheck.Test}}")
    assert server.container.exec("p2pvps-healthcheck").returncode == 0
    assert server.container.exec("p2pvps-healthcheck", env={"SSH_PORT": str(SSH_PORT + 1)}).returncode != 0


@pytest.mark.parametrize("port", [TUNNEL_PORTS.first, TUNNEL_PORTS.last])
def test_a_device_tunnel_in_range_reaches_its_local_service(server: SshServer, port: int) -> None:
    with web_app(APP_BODY, netns_pid=server.pid) as app_port, tunnel(server, port, app_port):
        assert APP_BODY in server.fetch(port)


@pytest.mark.parametrize("port", REFUSED_PORTS)
def test_a_tunnel_outside_the_range_is_refused(server: SshServer, port: int) -> None:
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        assert forward_outcome(server, port, app_port) == "refused"


def test_local_forwarding_is_refused(server: SshServer) -> None:
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        local_port = TUNNEL_PORTS.last + 10
        log = server.state.parent / "ssh-L.log"
        forward = ["-N", "-L", f"{RENTER_ADDRESS}:{local_port}:{LOOPBACK}:{app_port}"]
        with background(server.ssh(*forward), log) as client:
            reply = wait_until(lambda: unless_refused(lambda: server.fetch(local_port) or "closed"), "ssh -L")
            assert client.poll() is None
        assert APP_BODY not in reply
        assert "administratively prohibited" in log.read_text()


def test_the_tunnel_account_gets_no_shell_and_no_command(server: SshServer) -> None:
    command = run(server.ssh(command="id"), timeout=15)
    assert command.returncode != 0
    assert "uid=" not in command.stdout
    assert "This account is currently not available." in command.stdout + command.stderr
    terminal = run(server.ssh("-tt"), timeout=15, input="id\nexit\n")
    assert terminal.returncode != 0
    assert "uid=" not in terminal.stdout
    assert "PTY allocation request failed" in terminal.stderr


def test_root_cannot_log_in(server: SshServer) -> None:
    login = run(server.ssh(user="root", command="true"), timeout=15)
    assert login.returncode == 255
    assert "Permission denied" in login.stderr


def test_password_login_is_off_without_tunnel_password(server: SshServer) -> None:
    login = run(server.ssh("-N", password=True), timeout=15, env=password_env(TUNNEL_PASSWORD))
    assert login.returncode == 255
    assert "Permission denied (publickey)" in login.stderr


def test_tunnel_password_enables_password_login_for_the_tunnel_account(launch: Launch) -> None:
    with launch("state-password", TUNNEL_PASSWORD=TUNNEL_PASSWORD) as with_password:
        with (
            web_app(APP_BODY, netns_pid=with_password.pid) as app_port,
            tunnel(with_password, TUNNEL_PORTS.first, app_port, password=True),
        ):
            assert APP_BODY in with_password.fetch(TUNNEL_PORTS.first)
        wrong = run(with_password.ssh("-N", password=True), timeout=15, env=password_env("wrong"))
        assert wrong.returncode == 255
        assert "Permission denied" in wrong.stderr


def test_the_container_ends_with_sshd_and_a_new_one_presents_the_same_host_keys(launch: Launch) -> None:
    with launch("state-recreated") as first:
        presented_first = host_keys_presented(first)
        assert first.container.exec("kill", "-TERM", "1").returncode == 0
        wait_until(lambda: not first.container.is_running(), "the container to end with sshd")
    with launch("state-recreated") as second:
        assert host_keys_presented(second) == presented_first
        on_state = {" ".join(key.read_text().split()[:2]) for key in (second.state / "host-keys").glob("*.pub")}
        assert presented_first == on_state


def host_keys_presented(server: SshServer) -> set[str]:
    """`type base64` of every host key sshd presents (ssh-keyscan)."""
    scan = run([*nsenter(server.pid), require("ssh-keyscan"), "-p", str(SSH_PORT), LOOPBACK], timeout=15)
    assert scan.returncode == 0, scan.stderr
    return {" ".join(line.split()[1:3]) for line in scan.stdout.splitlines() if not line.startswith("#")}


def test_a_tunnel_range_containing_the_ssh_port_is_refused(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none", "--env", "SSH_PORT=2300", "--env", f"TUNNEL_PORTS={TUNNEL_PORTS}")
    assert started.returncode == 64
    assert f"TUNNEL_PORTS {TUNNEL_PORTS} contains SSH_PORT 2300" in started.stderr
