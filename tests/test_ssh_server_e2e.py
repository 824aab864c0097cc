"""The SSH-Server image with the real OpenSSH client: each device's key opens its own tunnel and nothing else.

Each container runs with `--network none`: a device's `ssh -R 0.0.0.0:PORT:...` binds every
interface of sshd's network namespace, and in a private namespace that is only loopback. The client,
the device's local service and the renter's TCP client are put in that namespace (nsenter, setns).
The renter connects to 127.0.0.2, which reaches a tunnel bound to 0.0.0.0 but not one bound to
127.0.0.1, so the test sees whether GatewayPorts honours the client's address. Attackers connect
from 127.0.0.2 (`ssh -b`), so that a limit on them can be seen sparing the devices on 127.0.0.1.
Devices are registered with the image's own `p2pvps-device`, as the operator does with `docker exec`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import socket
import subprocess
import sys
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

pytestmark = pytest.mark.e2e

T = TypeVar("T")

CONTEXT = COMPOSE_DIR / "ssh-server"
# Not the image's defaults (6100, 6101-6200): the test proves the environment moves them.
SSH_PORT = 2222
TUNNEL_PORTS = PortRange(2300, 2309)
REFUSED_PORTS = (2299, 2310, 6101)
LEGACY_USER = "legacy"
TUNNEL_PASSWORD = "correct horse battery staple"
PUBLIC_HOST = "p2pvps.test"
# Another loopback address: it reaches a listener on 0.0.0.0, never one on 127.0.0.1.
RENTER_ADDRESS = "127.0.0.2"
ATTACKER_ADDRESS = "127.0.0.2"
APP_BODY = "hello from the device behind NAT"
PASSWORD_LOGIN = (
    *("-o", "PreferredAuthentications=password"),
    *("-o", "PubkeyAuthentication=no"),
    *("-o", "NumberOfPasswordPrompts=1"),
)
PER_SOURCE_MAX_STARTUPS = 5
# The current ssh-audit (requirements-dev.txt) knows OpenSSH 10; Debian 12's 2.5.0 is /usr/bin/ssh-audit.
CURRENT_SSH_AUDIT = Path(sys.executable).parent / "ssh-audit"
# What ssh-audit may still warn about, each kept on purpose (compose/ssh-server/README.md says why).
EXPLAINED_AUDIT_WARNINGS = {
    ("kex", "curve25519-sha256"): "does not provide protection against post-quantum attacks",
    ("kex", "curve25519-sha256@libssh.org"): "does not provide protection against post-quantum attacks",
    ("kex", "diffie-hellman-group18-sha512"): "does not provide protection against post-quantum attacks",
    ("kex", "diffie-hellman-group16-sha512"): "does not provide protection against post-quantum attacks",
    ("kex", "diffie-hellman-group-exchange-sha256"): "does not provide protection against post-quantum attacks",
}


@dataclass(frozen=True)
class SshServer:
    """A running SSH-Server container and what a client needs to reach it."""

    container: Container
    pid: int
    state: Path
    devices: Path
    logs: Path
    known_hosts: Path

    def ssh(
        self,
        *options: str,
        user: str,
        key: Path | None = None,
        password: bool = False,
        source: str = LOOPBACK,
        command: str = "",
    ) -> list[str]:
        """The OpenSSH client in the container's network namespace, checking the host key strictly.

        It logs in as `user` with `key`, or with a password through sshpass (password from $SSHPASS),
        from the loopback address `source`.
        """
        if password:
            auth: tuple[str, ...] = PASSWORD_LOGIN
        else:
            assert key is not None
            auth = ("-i", str(key), "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes")
        client = [
            require("ssh"),
            *("-F", "/dev/null", "-p", str(SSH_PORT), "-o", "ConnectTimeout=5", "-b", source),
            *("-o", f"UserKnownHostsFile={self.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *auth,
            *options,
            f"{user}@{LOOPBACK}",
            *([command] if command else []),
        ]
        return [*nsenter(self.pid), *([require("sshpass"), "-e"] if password else []), *client]

    def device_command(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """`docker exec [-i] CONTAINER p2pvps-device ARGS`, as the operator runs it."""
        interactive = ["--interactive"] if stdin is not None else []
        docker = self.container.docker
        return run(
            [docker.cli, "exec", *interactive, self.container.name, "p2pvps-device", *args],
            env=docker.env(),
            input=stdin,
            timeout=30,
        )

    def register(self, name: str, key: Path) -> int:
        """Adds device `name` with `key`; its tunnel port."""
        added = self.device_command("add", name, key.with_suffix(".pub").read_text().strip())
        assert added.returncode == 0, added.stderr
        return tunnel_port_in(added.stdout)

    def fetch(self, port: int) -> str:
        """What a renter gets from `port` (an HTTP/1.0 GET read to the end; a reset ends the reply)."""
        connection = in_netns(self.pid, lambda: socket.create_connection((RENTER_ADDRESS, port), 5))
        chunks = []
        with connection, contextlib.suppress(ConnectionResetError):
            connection.settimeout(5)
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            chunks.extend(iter(lambda: connection.recv(65536), b""))
        return b"".join(chunks).decode(errors="replace")

    def banner_from(self, source: str) -> bytes:
        """The first bytes sshd sends to a new TCP connection from `source` (empty when it closes at once)."""

        def greet() -> bytes:
            with socket.socket() as connection:
                connection.bind((source, 0))
                connection.settimeout(5)
                connection.connect((LOOPBACK, SSH_PORT))
                try:
                    return connection.recv(256)
                except ConnectionResetError:
                    return b""

        return in_netns(self.pid, greet)


def tunnel_port_in(output: str) -> int:
    match = re.search(r"SSH tunnel port:\s+(\d+)", output)
    assert match, output
    return int(match.group(1))


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
MakeKey = Callable[..., Path]


@pytest.fixture(scope="module")
def image(build_image: Callable[..., str]) -> str:
    return build_image(CONTEXT)


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    with scratch_dir("ssh-e2e") as directory:
        yield directory


@pytest.fixture(scope="module")
def make_key(workdir: Path) -> MakeKey:
    """`make_key(name, type="ed25519", bits=None)`: a new key pair of a device; the private key's path."""

    def make(name: str, key_type: str = "ed25519", bits: int | None = None) -> Path:
        key = workdir / "keys" / name
        key.parent.mkdir(exist_ok=True)
        size = ["-b", str(bits)] if bits else []
        made = run([require("ssh-keygen"), "-q", "-t", key_type, *size, "-N", "", "-C", name, "-f", str(key)])
        assert made.returncode == 0, made.stderr
        return key

    return make


@pytest.fixture(scope="module")
def launch(docker: Docker, image: str, workdir: Path) -> Launch:
    """Starts an SSH-Server on /state and /devices named `state` and waits until it is healthy."""

    @contextlib.contextmanager
    def start(state: str, *docker_options: str, **extra_env: str) -> Iterator[SshServer]:
        state_dir, devices, logs = workdir / state, workdir / f"{state}-devices", workdir / f"{state}-logs"
        for directory in (state_dir, devices, logs):
            directory.mkdir(exist_ok=True)
        env = {
            "SSH_PORT": str(SSH_PORT),
            "SSH_LISTEN_ADDRESS": LOOPBACK,
            "TUNNEL_PORTS": str(TUNNEL_PORTS),
            "TUNNEL_USER": LEGACY_USER,
            "PUBLIC_HOST": PUBLIC_HOST,
            "LT_HOST": f"lt.{PUBLIC_HOST}",
            **extra_env,
        }
        mounts = [f"{state_dir}:/state", f"{devices}:/devices", f"{logs}:/var/log/p2pvps"]
        volumes = [option for mount in mounts for option in ("--volume", mount)]
        with docker.container(image, "none", *env_options(env), *volumes, *docker_options) as container:
            container.wait_healthy()
            yield SshServer(container, container.pid, state_dir, devices, logs, known_hosts_from_state(state_dir))

    return start


@pytest.fixture(scope="module")
def server(launch: Launch) -> Iterator[SshServer]:
    """The SSH-Server as deployed by default: registered keys only, no TUNNEL_PASSWORD."""
    with launch("state") as running:
        yield running


@pytest.fixture(scope="module")
def device_a(server: SshServer, make_key: MakeKey) -> tuple[Path, int]:
    key = make_key("devicea")
    return key, server.register("devicea", key)


@pytest.fixture(scope="module")
def device_b(server: SshServer, make_key: MakeKey, device_a: tuple[Path, int]) -> tuple[Path, int]:
    key = make_key("deviceb")
    return key, server.register("deviceb", key)


@contextlib.contextmanager
def tunnel(
    server: SshServer, port: int, app_port: int, user: str, *, key: Path | None = None, password: bool = False
) -> Iterator[subprocess.Popen[bytes]]:
    """A device's reverse tunnel from `port` to its local app; ready when a renter can connect."""
    log = server.state.parent / f"ssh-R-{user}-{port}.log"
    env = password_env(TUNNEL_PASSWORD) if password else None
    command = server.ssh(*remote_forward(port, app_port), user=user, key=key, password=password)
    with background(command, log, env=env) as client:

        def forwarding() -> bool:
            assert client.poll() is None, f"ssh -R {port} exited: {log.read_text()}"
            return APP_BODY in server.fetch(port)

        wait_until(lambda: unless_refused(forwarding), f"the tunnel on port {port}", timeout=15)
        yield client


def unless_refused(check: Callable[[], T]) -> T | None:
    """`check()`, or None while its connection is refused (nothing listens there yet)."""
    try:
        return check()
    except ConnectionRefusedError:
        return None


def forward_outcome(server: SshServer, port: int, app_port: int, user: str, key: Path) -> str:
    """'refused' when sshd refuses the remote forward, 'forwarding' when the client stays up with it."""
    try:
        result = run(server.ssh(*remote_forward(port, app_port), user=user, key=key), timeout=8)
    except subprocess.TimeoutExpired:
        return "forwarding"
    assert "remote port forwarding failed" in result.stderr, result.stderr
    return "refused"


def test_static_sshd_config_passes_sshd_t(docker: Docker, image: str) -> None:
    """The file as shipped, checked by the image's own sshd (OpenSSH 10, which knows every directive)."""
    check = "ssh-keygen -q -t ed25519 -N '' -f /tmp/key && exec /usr/sbin/sshd -t -f /etc/ssh/sshd_config -h /tmp/key"
    checked = docker.run_once(image, "none", "--entrypoint", "/bin/sh", command=("-c", check))
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


def test_a_registered_device_tunnel_reaches_its_local_service(server: SshServer, device_a: tuple[Path, int]) -> None:
    key, port = device_a
    assert port == TUNNEL_PORTS.first
    with web_app(APP_BODY, netns_pid=server.pid) as app_port, tunnel(server, port, app_port, "devicea", key=key):
        assert APP_BODY in server.fetch(port)


@pytest.mark.parametrize("port", REFUSED_PORTS)
def test_a_tunnel_outside_the_range_is_refused(server: SshServer, device_a: tuple[Path, int], port: int) -> None:
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        assert forward_outcome(server, port, app_port, "devicea", device_a[0]) == "refused"


def test_device_b_cannot_take_device_a_port_even_after_a_disconnects(
    server: SshServer, device_a: tuple[Path, int], device_b: tuple[Path, int]
) -> None:
    (key_a, port_a), (key_b, _) = device_a, device_b
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        with tunnel(server, port_a, app_port, "devicea", key=key_a):
            assert forward_outcome(server, port_a, app_port, "deviceb", key_b) == "refused"
        assert forward_outcome(server, port_a, app_port, "deviceb", key_b) == "refused"
        with tunnel(server, port_a, app_port, "devicea", key=key_a):
            assert APP_BODY in server.fetch(port_a)


def test_a_device_key_binds_its_own_port_only(
    server: SshServer, device_a: tuple[Path, int], device_b: tuple[Path, int]
) -> None:
    (key_a, port_a), (_, port_b) = device_a, device_b
    unassigned = TUNNEL_PORTS.last
    assert unassigned not in (port_a, port_b)
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        assert forward_outcome(server, port_b, app_port, "devicea", key_a) == "refused"
        assert forward_outcome(server, unassigned, app_port, "devicea", key_a) == "refused"
        with tunnel(server, port_a, app_port, "devicea", key=key_a):
            assert forward_outcome(server, unassigned, app_port, "devicea", key_a) == "refused"


def test_a_device_key_logs_in_only_as_its_own_device(
    server: SshServer, device_a: tuple[Path, int], device_b: tuple[Path, int]
) -> None:
    login = run(server.ssh("-N", user="deviceb", key=device_a[0]), timeout=15)
    assert login.returncode == 255
    assert "Permission denied (publickey)" in login.stderr


def test_an_unregistered_key_is_refused(server: SshServer, make_key: MakeKey, device_a: tuple[Path, int]) -> None:
    stranger = make_key("stranger")
    login = run(server.ssh("-N", user="devicea", key=stranger), timeout=15)
    assert login.returncode == 255
    assert "Permission denied (publickey)" in login.stderr


def test_a_removed_device_loses_its_tunnel_and_cannot_log_in_again(launch: Launch, make_key: MakeKey) -> None:
    with launch("state-remove") as fresh, web_app(APP_BODY, netns_pid=fresh.pid) as app_port:
        key = make_key("evicted")
        port = fresh.register("evicted", key)
        with tunnel(fresh, port, app_port, "evicted", key=key) as client:
            removed = fresh.device_command("remove", "evicted")
            assert removed.returncode == 0, removed.stderr
            client.wait(10)
            wait_until(lambda: unless_refused(lambda: fresh.fetch(port)) is None, f"port {port} to close")
        login = run(fresh.ssh(*remote_forward(port, app_port), user="evicted", key=key), timeout=15)
        assert login.returncode == 255
        assert "Permission denied (publickey)" in login.stderr


def test_local_forwarding_is_refused(server: SshServer, device_a: tuple[Path, int]) -> None:
    with web_app(APP_BODY, netns_pid=server.pid) as app_port:
        local_port = TUNNEL_PORTS.last + 10
        log = server.state.parent / "ssh-L.log"
        forward = ["-N", "-L", f"{RENTER_ADDRESS}:{local_port}:{LOOPBACK}:{app_port}"]
        with background(server.ssh(*forward, user="devicea", key=device_a[0]), log) as client:
            reply = wait_until(lambda: unless_refused(lambda: server.fetch(local_port) or "closed"), "ssh -L")
            assert client.poll() is None
        assert APP_BODY not in reply
        assert "administratively prohibited" in log.read_text()


def test_a_device_gets_no_shell_and_no_command(server: SshServer, device_a: tuple[Path, int]) -> None:
    command = run(server.ssh(user="devicea", key=device_a[0], command="id"), timeout=15)
    assert command.returncode != 0
    assert "uid=" not in command.stdout
    assert "open failed" in command.stderr
    terminal = run(server.ssh("-tt", user="devicea", key=device_a[0]), timeout=15, input="id\nexit\n")
    assert terminal.returncode != 0
    assert "uid=" not in terminal.stdout


def test_root_cannot_log_in(server: SshServer, make_key: MakeKey) -> None:
    login = run(server.ssh(user="root", key=make_key("root-attempt"), command="true"), timeout=15)
    assert login.returncode == 255
    assert "Permission denied" in login.stderr


def test_password_login_is_off_without_tunnel_password(server: SshServer, device_a: tuple[Path, int]) -> None:
    for user in ("devicea", LEGACY_USER):
        login = run(server.ssh("-N", user=user, password=True), timeout=15, env=password_env(TUNNEL_PASSWORD))
        assert login.returncode == 255
        assert "Permission denied (publickey)" in login.stderr


def test_one_source_cannot_hold_more_than_its_share_of_unauthenticated_connections(launch: Launch) -> None:
    with launch("state-startups") as fresh:
        held = []

        def connect() -> socket.socket:
            connection = socket.socket()
            connection.bind((ATTACKER_ADDRESS, 0))
            connection.settimeout(5)
            connection.connect((LOOPBACK, SSH_PORT))
            return connection

        try:
            for _ in range(PER_SOURCE_MAX_STARTUPS):
                connection = in_netns(fresh.pid, connect)
                held.append(connection)
                assert connection.recv(256).startswith(b"SSH-2.0-")
            assert not fresh.banner_from(ATTACKER_ADDRESS).startswith(b"SSH-2.0-")
            assert fresh.banner_from(LOOPBACK).startswith(b"SSH-2.0-")
        finally:
            for connection in held:
                connection.close()


def test_a_source_that_keeps_failing_to_log_in_is_shut_out_while_devices_connect(
    launch: Launch, make_key: MakeKey
) -> None:
    with launch("state-penalties") as fresh, web_app(APP_BODY, netns_pid=fresh.pid) as app_port:
        key = make_key("patient")
        port = fresh.register("patient", key)
        guesser = make_key("guesser")
        for _ in range(6):
            run(fresh.ssh("-N", user="patient", key=guesser, source=ATTACKER_ADDRESS), timeout=15)
        assert not fresh.banner_from(ATTACKER_ADDRESS).startswith(b"SSH-2.0-")
        with tunnel(fresh, port, app_port, "patient", key=key):
            assert APP_BODY in fresh.fetch(port)
        assert "penalty: failed authentication" in (fresh.logs / "sshd.log").read_text()


def test_ssh_audit_finds_no_failure_and_only_the_explained_warnings(server: SshServer) -> None:
    audit = [str(CURRENT_SSH_AUDIT), "--json", "--skip-rate-test", "--port", str(SSH_PORT), LOOPBACK]
    result = run([*nsenter(server.pid), *audit], timeout=60)
    report = json.loads(result.stdout)
    findings = {
        (section, entry["algorithm"]): entry.get("notes", {})
        for section in ("kex", "key", "enc", "mac")
        for entry in report[section]
    }
    failures = {name: notes["fail"] for name, notes in findings.items() if notes.get("fail")}
    warnings = {name: notes["warn"] for name, notes in findings.items() if notes.get("warn")}
    assert failures == {}
    assert report["cves"] == []
    assert warnings == {name: [why] for name, why in EXPLAINED_AUDIT_WARNINGS.items()}
    assert result.returncode == 2, "ssh-audit exits 2 for warnings, 3 for failures"


def test_debian_ssh_audit_finds_no_failure(server: SshServer) -> None:
    """Debian 12's ssh-audit 2.5.0 predates OpenSSH 9.9: it warns of the algorithms it does not know
    (and, misreading the version "10.0" as older than 2.x, lists CVEs of OpenSSH 2 to 7), fails none."""
    debian_audit = ["/usr/bin/ssh-audit", "--no-colors", "--level", "fail", "--port", str(SSH_PORT), LOOPBACK]
    result = run([*nsenter(server.pid), *debian_audit], timeout=60)
    assert "OpenSSH 10" in run([*nsenter(server.pid), *debian_audit[:2], *debian_audit[4:]], timeout=60).stdout
    assert "[fail]" not in result.stdout
    assert result.returncode != 3, "ssh-audit exits 3 when it finds a failure"


def test_tunnel_password_enables_password_login_for_the_legacy_account_only(
    launch: Launch, device_a: tuple[Path, int]
) -> None:
    with launch("state-password", TUNNEL_PASSWORD=TUNNEL_PASSWORD) as with_password:
        with (
            web_app(APP_BODY, netns_pid=with_password.pid) as app_port,
            tunnel(with_password, TUNNEL_PORTS.first, app_port, LEGACY_USER, password=True),
        ):
            assert APP_BODY in with_password.fetch(TUNNEL_PORTS.first)
        wrong = run(with_password.ssh("-N", user=LEGACY_USER, password=True), timeout=15, env=password_env("wrong"))
        assert wrong.returncode == 255
        assert "Permission denied" in wrong.stderr
        assert "legacy password login on for legacy" in with_password.container.logs()


def test_a_short_tunnel_password_stops_the_container(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none", "--env", "TUNNEL_PASSWORD=sshuserpassword")
    assert started.returncode == 64
    assert "TUNNEL_PASSWORD has 15 characters; a shared password needs at least 20" in started.stderr


def test_the_container_ends_with_sshd_and_a_new_one_keeps_host_keys_and_devices(
    launch: Launch, make_key: MakeKey
) -> None:
    key = make_key("survivor")
    with launch("state-recreated") as first:
        port = first.register("survivor", key)
        presented_first = host_keys_presented(first)
        assert first.container.exec("kill", "-TERM", "1").returncode == 0
        wait_until(lambda: not first.container.is_running(), "the container to end with sshd")
    with launch("state-recreated") as second, web_app(APP_BODY, netns_pid=second.pid) as app_port:
        assert host_keys_presented(second) == presented_first
        on_state = {" ".join(key.read_text().split()[:2]) for key in (second.state / "host-keys").glob("*.pub")}
        assert presented_first == on_state
        with tunnel(second, port, app_port, "survivor", key=key):
            assert APP_BODY in second.fetch(port)


def host_keys_presented(server: SshServer) -> set[str]:
    """`type base64` of every host key sshd presents (ssh-keyscan)."""
    scan = run([*nsenter(server.pid), require("ssh-keyscan"), "-p", str(SSH_PORT), LOOPBACK], timeout=15)
    assert scan.returncode == 0, scan.stderr
    return {" ".join(line.split()[1:3]) for line in scan.stdout.splitlines() if not line.startswith("#")}


# IPv6 in the container's own network namespace (Docker turns it off for --network none).
IPV6_ON = ("--sysctl", "net.ipv6.conf.all.disable_ipv6=0", "--sysctl", "net.ipv6.conf.lo.disable_ipv6=0")


def test_with_ipv6_sshd_and_tunnels_answer_on_both_families(launch: Launch, make_key: MakeKey) -> None:
    """SSH_LISTEN_ADDRESS with an IPv6 address, and a device asking for every address (`*`) as told."""
    key = make_key("dualstack")
    with launch("state-ipv6", *IPV6_ON, SSH_LISTEN_ADDRESS=f"{LOOPBACK} ::1") as fresh:
        port = fresh.register("dualstack", key)
        assert banner_at(fresh, "::1").startswith(b"SSH-2.0-")
        with web_app(APP_BODY, netns_pid=fresh.pid) as app_port:
            forward = ["-N", "-o", "ExitOnForwardFailure=yes", "-R", f"*:{port}:{LOOPBACK}:{app_port}"]
            log = fresh.state.parent / "ssh-R-dualstack.log"
            with background(fresh.ssh(*forward, user="dualstack", key=key), log) as client:
                wait_until(lambda: unless_refused(lambda: APP_BODY in fresh.fetch(port)), "the IPv4 side of the tunnel")
                assert client.poll() is None
                assert APP_BODY in fetch_over_ipv6(fresh, port)


def banner_at(server: SshServer, address: str) -> bytes:
    def greet() -> bytes:
        with socket.create_connection((address, SSH_PORT), timeout=5) as connection:
            return connection.recv(256)

    return in_netns(server.pid, greet)


def fetch_over_ipv6(server: SshServer, port: int) -> str:
    """What a renter gets from [::1]:`port` (an HTTP/1.0 GET read to the end)."""

    def fetch() -> bytes:
        with socket.create_connection(("::1", port), timeout=5) as connection:
            connection.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return b"".join(iter(lambda: connection.recv(65536), b""))

    return in_netns(server.pid, fetch).decode(errors="replace")


def test_a_tunnel_range_containing_the_ssh_port_is_refused(docker: Docker, image: str) -> None:
    started = docker.run_once(image, "none", "--env", "SSH_PORT=2300", "--env", f"TUNNEL_PORTS={TUNNEL_PORTS}")
    assert started.returncode == 64
    assert f"TUNNEL_PORTS {TUNNEL_PORTS} contains SSH_PORT 2300" in started.stderr


@pytest.fixture()
def registry(launch: Launch, request: pytest.FixtureRequest) -> Iterator[SshServer]:
    """A fresh SSH-Server with an empty registry, for one test."""
    with launch(f"state-{request.node.name.replace('[', '-').rstrip(']')}") as fresh:
        yield fresh


def listed_devices(server: SshServer) -> dict[str, int]:
    """NAME -> PORT from `p2pvps-device list`."""
    listed = server.device_command("list")
    assert listed.returncode == 0, listed.stderr
    rows = [line.split() for line in listed.stdout.splitlines()[1:]]
    return {row[0]: int(row[1]) for row in rows}


def test_add_prints_everything_the_device_needs(registry: SshServer, make_key: MakeKey) -> None:
    key = make_key("printed")
    added = registry.device_command("add", "printed", key.with_suffix(".pub").read_text())
    assert added.returncode == 0, added.stderr
    port = tunnel_port_in(added.stdout)
    credential = re.search(r"Web credential:\s+([0-9a-f]{40})\b", added.stdout)
    assert credential, added.stdout
    host_key = (registry.state / "host-keys" / "ssh_host_ed25519_key.pub").read_text().split()[:2]
    assert f"[{PUBLIC_HOST}]:{SSH_PORT} {' '.join(host_key)}" in added.stdout
    assert f"-p {SSH_PORT} -R '*:{port}:127.0.0.1:22' printed@{PUBLIC_HOST}" in added.stdout
    assert f"--host https://printed:{credential.group(1)}@lt.{PUBLIC_HOST} --subdomain printed" in added.stdout
    shown = registry.device_command("show", "printed")
    assert shown.returncode == 0
    assert credential.group(1) not in shown.stdout
    assert f"-R '*:{port}:" in shown.stdout


def test_list_and_remove(registry: SshServer, make_key: MakeKey) -> None:
    first, second = make_key("listed1"), make_key("listed2")
    ports = {"listed1": registry.register("listed1", first), "listed2": registry.register("listed2", second)}
    assert listed_devices(registry) == ports
    fingerprint = run([require("ssh-keygen"), "-l", "-f", str(first.with_suffix(".pub"))]).stdout.split()[1]
    assert fingerprint in registry.device_command("list").stdout
    assert registry.device_command("remove", "listed1").returncode == 0
    assert listed_devices(registry) == {"listed2": ports["listed2"]}
    again = registry.device_command("remove", "listed1")
    assert again.returncode == 65
    assert "no device named 'listed1'" in again.stderr


def test_a_duplicate_name_or_key_is_refused(registry: SshServer, make_key: MakeKey) -> None:
    key, other = make_key("original"), make_key("impostor")
    registry.register("original", key)
    same_name = registry.device_command("add", "original", other.with_suffix(".pub").read_text())
    assert same_name.returncode == 65
    assert "a device named 'original' is already registered" in same_name.stderr
    same_key = registry.device_command("add", "copycat", key.with_suffix(".pub").read_text())
    assert same_key.returncode == 65
    assert "this key is already registered for device 'original'; every device needs its own key" in same_key.stderr
    assert listed_devices(registry) == {"original": TUNNEL_PORTS.first}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("abc", "4 to 32 characters"),
        ("a" * 33, "4 to 32 characters"),
        ("Device1", "invalid device name"),
        ("1device", "invalid device name"),
        ("device-", "invalid device name"),
        ("de-v1", "a name with a hyphen needs at least 6 characters"),
        ("dev_ice", "invalid device name"),
        ("xn--pypal-4ve", "no '--'"),
        ("alph\\1411", "invalid device name"),
        ("root", "system account of the container"),
        ("sshd", "system account of the container"),
        (LEGACY_USER, "the legacy password account"),
    ],
)
def test_a_bad_device_name_is_refused(server: SshServer, make_key: MakeKey, name: str, message: str) -> None:
    key = make_key(f"badname-{len(name)}-{name[:8]}")
    added = server.device_command("add", name, key.with_suffix(".pub").read_text())
    assert added.returncode == 65
    assert message in added.stderr


def test_a_bad_key_is_refused(server: SshServer, make_key: MakeKey) -> None:
    good = make_key("keycheck").with_suffix(".pub").read_text().split()
    weak = make_key("weakrsa", "rsa", 1024).with_suffix(".pub").read_text()
    cases = {
        f'restrict,permitlisten="*" {" ".join(good)}': "key type 'restrict,permitlisten=\"*\"' is not accepted",
        f"{good[0]} {good[1][:20]}\f\r{good[1][20:]}": "the key part may hold only base64 characters",
        f"{good[0]} {good[1][:-8]}AAAAAAA=": "not a valid ssh-ed25519 public key",
        "ssh-ed25519": "not an OpenSSH public key",
        weak: "RSA key of 1024 bits; at least 2048 are required",
    }
    for key, message in cases.items():
        added = server.device_command("add", "keycheck", key)
        assert added.returncode == 65, key
        assert message in added.stderr


def test_commands_on_a_name_take_it_literally(registry: SshServer, make_key: MakeKey) -> None:
    """`awk -v` would read "alph\\1411" as "alpha1"; the other commands check names as `add` does."""
    registry.register("alpha1", make_key("alpha1"))
    for command in ("remove", "token", "show"):
        refused = registry.device_command(command, "alph\\1411")
        assert refused.returncode == 65
        assert "invalid device name" in refused.stderr
    assert listed_devices(registry) == {"alpha1": TUNNEL_PORTS.first}


def test_a_key_can_come_from_stdin(registry: SshServer, make_key: MakeKey) -> None:
    key = make_key("piped")
    added = registry.device_command("add", "piped", "-", stdin=key.with_suffix(".pub").read_text())
    assert added.returncode == 0, added.stderr
    assert listed_devices(registry) == {"piped": TUNNEL_PORTS.first}


def test_ports_are_never_handed_out_twice(registry: SshServer, make_key: MakeKey) -> None:
    """Round robin over the range: a removed device's port comes back only after every other port."""
    first = [registry.register(f"early{n}", make_key(f"early{n}")) for n in range(3)]
    assert first == [2300, 2301, 2302]
    assert registry.device_command("remove", "early0").returncode == 0
    assert registry.register("later", make_key("later")) == 2303
    parallel = add_at_once(registry, {f"parallel{n}": make_key(f"parallel{n}") for n in range(6)})
    assert sorted(parallel.values()) == list(range(2304, 2310))
    assert registry.register("wrapped", make_key("wrapped")) == 2300
    full = registry.device_command("add", "onetoomany", make_key("onetoomany").with_suffix(".pub").read_text())
    assert full.returncode == 65
    assert f"no free port in TUNNEL_PORTS {TUNNEL_PORTS}" in full.stderr
    held = listed_devices(registry)
    assert sorted(held.values()) == list(TUNNEL_PORTS.ports())


def add_at_once(server: SshServer, keys: dict[str, Path]) -> dict[str, int]:
    """Runs `p2pvps-device add` for every device at the same moment, inside the container; NAME -> port."""
    adds = [
        f"p2pvps-device add {name} {shlex.quote(key.with_suffix('.pub').read_text().strip())} >/tmp/{name}.out 2>&1 &"
        for name, key in keys.items()
    ]
    script = "\n".join([*adds, "wait", *(f"cat /tmp/{name}.out" for name in keys)])
    together = server.container.exec("sh", "-c", script)
    assert together.returncode == 0, together.stderr
    ports = {
        name: int(port)
        for name, port in re.findall(
            r"Device (\S+) registered\.\n.*?SSH tunnel port:\s+(\d+)", together.stdout, flags=re.DOTALL
        )
    }
    assert ports.keys() == keys.keys(), together.stdout
    assert {name: port for name, port in listed_devices(server).items() if name in keys} == ports
    return ports


def test_a_new_credential_replaces_the_old_one(registry: SshServer, make_key: MakeKey) -> None:
    registry.register("rotated", make_key("rotated"))
    before = (registry.devices / "registry").read_text()
    rotated = registry.device_command("token", "rotated")
    assert rotated.returncode == 0, rotated.stderr
    credential = re.search(r"Web credential:\s+([0-9a-f]{40})\b", rotated.stdout)
    assert credential
    after = (registry.devices / "registry").read_text()
    assert before != after
    assert hashlib.sha256(credential.group(1).encode()).hexdigest() in after
    assert credential.group(1) not in after


def test_the_registry_is_readable_but_not_writable_by_the_localtunnel_user(
    registry: SshServer, make_key: MakeKey
) -> None:
    registry.register("readable", make_key("readable"))
    assert (registry.devices / "registry").stat().st_mode & 0o777 == 0o644
    assert registry.devices.stat().st_mode & 0o777 == 0o755
