"""No container reaches the cloud metadata service, which serves the user data and with it the SSH
host's private key (security review, finding 6); the host itself still does (cloud-init needs it).

The guard script is taken from the user data the program renders and run with the real `iptables`
and `ip6tables` (Debian's, nft backend) in network namespaces this test makes and deletes:

    container --veth-- host --veth-- cloud: 169.254.169.254, fd00:ec2::254 (the metadata service)
                       DOCKER-USER          and 198.51.100.10, 2001:db8:2::10 (anywhere else),
                       in FORWARD           with listeners on port 80

The host forwards the container's packets through a DOCKER-USER chain wired as Docker wires it
(a jump at the top of FORWARD, a RETURN at the end of the chain, policy DROP, the container's
traffic accepted after it), and reaches the metadata address over a link route, as on
DigitalOcean. The cloud's addresses sit on its veth (this kernel has no dummy driver). Nothing is
routed outside these three namespaces.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.metadata_guard import BLOCKED, COMMENT, DOCKER_DROP_IN_PATH, GUARD_PATH, docker_drop_in, guard_script
from e2e_helpers import in_netns_file
from harness import Evaluation, cloud_stacks, evaluate, host_config, host_config_files, machine
from tools import require, run

pytestmark = pytest.mark.tools

ROLES = ("container", "host", "cloud")
METADATA = ("169.254.169.254", "fd00:ec2::254")
ELSEWHERE = ("198.51.100.10", "2001:db8:2::10")
CONNECT_TIMEOUT_S = 2.0
ANSWER = b"user-data with the host's private key\n"
# The container's link, as Docker numbers a bridge network (IPv6: the program's own prefix).
CONTAINER_LINK = ("172.18.0.1/16", "172.18.0.2/16", "fd70:3270:7673::1/64", "fd70:3270:7673::2/64")
UPLINK = ("192.0.2.1/24", "192.0.2.2/24", "2001:db8:1::1/64", "2001:db8:1::2/64")


def user_data(evaluation: Evaluation) -> dict[str, Any]:
    return yaml.safe_load(machine(evaluation).plain("userData"))


@dataclass
class Lab:
    """Three named network namespaces and the listeners in the cloud one."""

    suffix: str
    listeners: list[socket.socket] = field(default_factory=list)

    def name(self, role: str) -> str:
        return f"p2pvps-{role}-{self.suffix}"

    def sh(self, role: str, script: str) -> str:
        """Run shell in a namespace; fail the test with its output if it fails."""
        result = run([require("ip"), "netns", "exec", self.name(role), "sh", "-eu", "-c", script])
        assert result.returncode == 0, f"{role}: {script}\n{result.stdout}{result.stderr}"
        return result.stdout

    def inside(self, role: str, action: Any) -> Any:
        return in_netns_file(Path("/run/netns") / self.name(role), action)

    def listen(self, address: str) -> None:
        def bind() -> socket.socket:
            server = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET)
            server.bind((address, 80))
            server.listen()
            return server

        server = self.inside("cloud", bind)
        self.listeners.append(server)
        threading.Thread(target=_answer_forever, args=(server,), daemon=True).start()

    def reaches(self, role: str, address: str) -> bool:
        """Whether a connection from `role` to `address`:80 is answered (False: it timed out, dropped)."""

        def attempt() -> bool:
            try:
                with socket.create_connection((address, 80), timeout=CONNECT_TIMEOUT_S) as connection:
                    return connection.recv(1024) == ANSWER
            except TimeoutError:
                return False
            except ConnectionRefusedError:
                return False

        return bool(self.inside(role, attempt))

    def warm_up(self) -> None:
        """Resolve every neighbour on both links first (the host's own connections and the container's knocks
        on the host, refused), so the first forwarded connection is not spent waiting for address resolution."""
        for address in ELSEWHERE:
            assert self.reaches("host", address), f"the lab is broken: the host cannot reach {address}"
        for host_side in (CONTAINER_LINK[0], CONTAINER_LINK[2]):
            assert not self.reaches("container", host_side.split("/")[0])

    def apply_guard(self, script: str) -> None:
        self.sh("host", script)

    def docker_starts(self) -> None:
        """What dockerd does to the firewall on start, for IPv4 and IPv6: DOCKER-USER kept as it is (created if
        missing), a RETURN appended if missing, the jump moved to the top of FORWARD; then its own accepts."""
        for command in ("iptables", "ip6tables"):
            self.sh(
                "host",
                f"{command} -n -L DOCKER-USER >/dev/null 2>&1 || {command} -N DOCKER-USER\n"
                f"{command} -C DOCKER-USER -j RETURN 2>/dev/null || {command} -A DOCKER-USER -j RETURN\n"
                f"{command} -D FORWARD -j DOCKER-USER 2>/dev/null || true\n"
                f"{command} -I FORWARD 1 -j DOCKER-USER\n"
                f"{command} -P FORWARD DROP\n"
                f"{command} -C FORWARD -i to-ctr -j ACCEPT 2>/dev/null || {command} -A FORWARD -i to-ctr -j ACCEPT\n"
                f"{command} -C FORWARD -o to-ctr -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT 2>/dev/null"
                f" || {command} -A FORWARD -o to-ctr -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n",
            )

    def docker_user_rules(self, command: str) -> list[str]:
        listed = self.sh("host", f"{command} -S DOCKER-USER")
        return [line for line in listed.splitlines() if line.startswith("-A DOCKER-USER")]


def _answer_forever(server: socket.socket) -> None:
    while True:
        try:
            connection, _ = server.accept()
        except OSError:
            return
        with connection:
            connection.sendall(ANSWER)


def _build(lab: Lab) -> None:
    ip = shlex.quote(require("ip"))
    container, host, cloud = (lab.name(role) for role in ROLES)
    host_side, container_side, host_side6, container_side6 = CONTAINER_LINK
    up, up_peer, up6, up_peer6 = UPLINK
    for name in (container, host, cloud):
        result = run([require("ip"), "netns", "add", name])
        assert result.returncode == 0, result.stderr
    setup = f"""
        {ip} link add to-ctr netns {host} type veth peer name eth0 netns {container}
        {ip} link add to-cloud netns {host} type veth peer name eth0 netns {cloud}
        for ns in {container} {host} {cloud}; do {ip} -n "$ns" link set lo up; done
        {ip} -n {container} link set eth0 up
        {ip} -n {container} addr add {container_side} dev eth0
        {ip} -n {container} addr add {container_side6} dev eth0 nodad
        {ip} -n {container} route add default via {host_side.split("/")[0]}
        {ip} -n {container} -6 route add default via {host_side6.split("/")[0]}
        {ip} -n {host} link set to-ctr up
        {ip} -n {host} link set to-cloud up
        {ip} -n {host} addr add {host_side} dev to-ctr
        {ip} -n {host} addr add {host_side6} dev to-ctr nodad
        {ip} -n {host} addr add {up} dev to-cloud
        {ip} -n {host} addr add {up6} dev to-cloud nodad
        {ip} -n {host} route add 169.254.0.0/16 dev to-cloud
        {ip} -n {host} route add default via {up_peer.split("/")[0]}
        {ip} -n {host} -6 route add default via {up_peer6.split("/")[0]}
        {ip} -n {cloud} link set eth0 up
        {ip} -n {cloud} addr add {up_peer} dev eth0
        {ip} -n {cloud} addr add {up_peer6} dev eth0 nodad
        {ip} -n {cloud} route add 172.18.0.0/16 via {up.split("/")[0]}
        {ip} -n {cloud} -6 route add fd70:3270:7673::/64 via {up6.split("/")[0]}
    """
    for address in (*METADATA, *ELSEWHERE):
        setup += f"{ip} -n {cloud} addr add {address}/{128 if ':' in address else 32} dev eth0 nodad\n"
    result = run(["sh", "-eu", "-c", setup])
    assert result.returncode == 0, result.stderr
    lab.sh("host", "sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1")
    for address in (*METADATA, *ELSEWHERE):
        lab.listen(address)
    lab.warm_up()


@contextlib.contextmanager
def network_lab() -> Iterator[Lab]:
    lab = Lab(suffix=f"{os.getpid()}-{threading.get_ident() % 10000}")
    try:
        _build(lab)
        yield lab
    finally:
        for server in lab.listeners:
            server.close()
        for role in ROLES:
            run([require("ip"), "netns", "delete", lab.name(role)])


@pytest.fixture
def lab() -> Iterator[Lab]:
    with network_lab() as made:
        yield made


@pytest.fixture(scope="module")
def rendered_guard() -> str:
    """The guard exactly as the DigitalOcean stack's host configuration writes it."""
    return host_config_files(evaluate("dev"))[GUARD_PATH]


@pytest.mark.parametrize("stack", cloud_stacks())
def test_every_server_runs_the_guard_before_docker_starts(stack: str) -> None:
    evaluation = evaluate(stack)
    files = host_config_files(evaluation)
    assert files[GUARD_PATH] == guard_script()
    assert f"put {GUARD_PATH} 0755 root " in host_config(evaluation)
    assert files[DOCKER_DROP_IN_PATH] == docker_drop_in()
    assert f"ExecStartPre={GUARD_PATH}" in docker_drop_in().splitlines()


def test_systemd_accepts_the_drop_in_and_finds_the_guard_the_host_configuration_writes(tmp_path: Path) -> None:
    """`systemd-analyze verify` of docker.service (a stand-in unit) with every file the user data and the
    host configuration write placed under a root directory: the drop-ins parse and their commands exist
    and are executable."""
    evaluation = evaluate("dev")
    files = {item["path"]: item["content"] for item in user_data(evaluation)["write_files"]}
    for relative, content in (files | host_config_files(evaluation)).items():
        path = tmp_path / relative.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        path.chmod(0o755 if content.startswith("#!") else 0o644)
    units = tmp_path / "etc/systemd/system"
    (units / "docker.service").write_text(
        "[Unit]\nDescription=stand-in for Docker's unit\nDefaultDependencies=no\n[Service]\nExecStart=/bin/true\n"
    )
    (tmp_path / "bin").mkdir()
    shutil.copy("/bin/true", tmp_path / "bin/true")
    result = run([require("systemd-analyze"), f"--root={tmp_path}", "verify", "docker.service"])
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_a_container_cannot_reach_the_metadata_service_and_the_host_can(lab: Lab, rendered_guard: str) -> None:
    """At boot: the guard runs (ExecStartPre), then Docker starts and wires DOCKER-USER into FORWARD."""
    lab.apply_guard(rendered_guard)
    lab.docker_starts()
    for address in METADATA:
        assert not lab.reaches("container", address), f"a container reached the metadata service at {address}"
        assert lab.reaches("host", address), f"the host lost the metadata service at {address}"
    for address in ELSEWHERE:
        assert lab.reaches("container", address), f"the guard also cut the container off from {address}"


def test_the_guard_goes_before_dockers_rules_on_a_docker_restart_and_twice_is_once(
    lab: Lab, rendered_guard: str
) -> None:
    """A restart: Docker's chain (with its RETURN) already exists; the guard runs again before Docker."""
    lab.docker_starts()
    lab.apply_guard(rendered_guard)
    lab.apply_guard(rendered_guard)
    lab.docker_starts()
    for rule in BLOCKED:
        assert lab.docker_user_rules(rule.command) == [
            f'-A DOCKER-USER -d {rule.destination} -m comment --comment "{COMMENT}" -j DROP',
            "-A DOCKER-USER -j RETURN",
        ]
    assert not any(lab.reaches("container", address) for address in METADATA)


def test_without_the_guard_a_container_reaches_the_metadata_service(lab: Lab) -> None:
    """Control: the same network with Docker's rules alone lets the container fetch the user data."""
    lab.docker_starts()
    for address in METADATA:
        assert lab.reaches("container", address)
