"""The Docker provider's SSH options, as the program renders them, against a real sshd on loopback:
they accept the server's pinned host key and nothing else, with no known_hosts file anywhere."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from e2e_helpers import background, free_port, port_is_free, wait_until
from harness import MockCloud, evaluate
from tools import require, run

pytestmark = pytest.mark.tools


@dataclass(frozen=True)
class Sshd:
    port: int
    client_key: Path
    host_public_key: str


def keypair(path: Path) -> str:
    subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return " ".join(path.with_suffix(".pub").read_text().split()[:2])


@pytest.fixture
def sshd(tmp_path: Path) -> Iterator[Sshd]:
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    host_public = keypair(tmp_path / "host_ed25519")
    client_public = keypair(tmp_path / "client_ed25519")
    (tmp_path / "authorized_keys").write_text(client_public + "\n")
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {tmp_path}/host_ed25519\n"
        f"AuthorizedKeysFile {tmp_path}/authorized_keys\nPidFile {tmp_path}/sshd.pid\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nStrictModes no\nUsePAM no\n"
    )
    command = [require("sshd"), "-D", "-f", str(config), "-E", str(tmp_path / "sshd.log")]
    with background(command, tmp_path / "sshd.out") as process:
        wait_until(lambda: process.poll() is None and not port_is_free(port), "sshd to listen")
        yield Sshd(port, tmp_path / "client_ed25519", host_public)


def provider_ssh_options(host_public_key: str) -> list[str]:
    provider = evaluate("dev", cloud=MockCloud(host_public_key=host_public_key)).one("pulumi:providers:docker")
    return json.loads(provider.plain("sshOpts"))


def ssh_with(options: list[str], server: Sshd) -> subprocess.CompletedProcess[str]:
    return run(
        [
            require("ssh"),
            *options,
            "-i",
            str(server.client_key),
            "-p",
            str(server.port),
            "root@127.0.0.1",
            "echo",
            "pinned",
        ]
    )


def test_provider_options_accept_the_pinned_host_key(sshd: Sshd) -> None:
    result = ssh_with(provider_ssh_options(sshd.host_public_key), sshd)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "pinned"


def test_provider_options_refuse_any_other_host_key(sshd: Sshd, tmp_path: Path) -> None:
    other = keypair(tmp_path / "other_ed25519")
    result = ssh_with(provider_ssh_options(other), sshd)
    assert result.returncode == 255
    assert "Host key verification failed" in result.stderr
