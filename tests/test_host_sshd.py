"""The server's own sshd (the host configuration's drop-in) judged by ssh-audit: a test sshd on loopback runs
the rendered drop-in exactly as Ubuntu includes it, at the top of its configuration.

The machine's OpenSSH is 9.2 (Debian 12); the servers run 9.6 (Ubuntu 24.04). The drop-in uses only
algorithms both know."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from components.host_files import SSHD_ALGORITHMS
from e2e_helpers import LOOPBACK, background, free_port, port_is_free, wait_until
from harness import evaluate, host_config_files
from tools import require, run

pytestmark = pytest.mark.tools

DROP_IN = "/etc/ssh/sshd_config.d/10-p2pvps.conf"
# ssh-audit 3.9 from PyPI (requirements-dev.txt) knows current OpenSSH; Debian 12's 2.5.0 is /usr/bin/ssh-audit.
CURRENT_SSH_AUDIT = Path(sys.executable).parent / "ssh-audit"
POST_QUANTUM = "does not provide protection against post-quantum attacks"
# Kept on purpose (README, Security): clients without sntrup761, such as pulumi-command's Go SSH, need one.
EXPLAINED_WARNINGS = {
    ("kex", "curve25519-sha256"): [POST_QUANTUM],
    ("kex", "curve25519-sha256@libssh.org"): [POST_QUANTUM],
}


@dataclass(frozen=True)
class Sshd:
    port: int
    known_hosts: Path


def rendered_drop_in() -> str:
    return host_config_files(evaluate("dev"))[DROP_IN]


@pytest.fixture(scope="module")
def drop_in() -> str:
    return rendered_drop_in()


@contextlib.contextmanager
def running_sshd(directory: Path, drop_in: str) -> Iterator[Sshd]:
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "host")], check=True)
    (directory / "10-p2pvps.conf").write_text(drop_in)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(
        f"Include {directory}/10-p2pvps.conf\nPort {port}\nListenAddress {LOOPBACK}\nHostKey {directory}/host\n"
        f"PidFile {directory}/sshd.pid\nUsePAM no\n"
    )
    checked = run([require("sshd"), "-t", "-f", str(config)])
    assert checked.returncode == 0, checked.stderr
    known_hosts = directory / "known_hosts"
    known_hosts.write_text(f"[{LOOPBACK}]:{port} {(directory / 'host.pub').read_text()}")
    command = [require("sshd"), "-D", "-f", str(config), "-E", str(directory / "sshd.log")]
    with background(command, directory / "sshd.out") as process:
        wait_until(lambda: process.poll() is None and not port_is_free(port), "sshd to listen")
        yield Sshd(port, known_hosts)


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory, drop_in: str) -> Iterator[Sshd]:
    with running_sshd(tmp_path_factory.mktemp("host-sshd"), drop_in) as server:
        yield server


def audit(server: Sshd) -> tuple[dict[tuple[str, str], Any], subprocess.CompletedProcess[str]]:
    """ssh-audit 3.9's findings by (section, algorithm), and the run itself."""
    result = run(
        [str(CURRENT_SSH_AUDIT), "--json", "--skip-rate-test", "--port", str(server.port), LOOPBACK], timeout=60
    )
    report = json.loads(result.stdout)
    findings = {
        (section, entry["algorithm"]): entry.get("notes", {})
        for section in ("kex", "key", "enc", "mac")
        for entry in report[section]
    }
    findings[("cves", "")] = report["cves"]
    return findings, result


def graded(findings: dict[tuple[str, str], Any], level: str) -> dict[tuple[str, str], list[str]]:
    return {name: notes[level] for name, notes in findings.items() if isinstance(notes, dict) and notes.get(level)}


def test_the_drop_in_names_the_algorithms_and_keeps_many_parallel_sessions(drop_in: str) -> None:
    lines = drop_in.splitlines()
    assert "HostKeyAlgorithms ssh-ed25519" in lines
    assert "MaxStartups 100:30:200" in lines and "MaxSessions 64" in lines, "pulumi-docker opens many sessions at once"


def test_ssh_audit_finds_no_failure_and_only_the_explained_warnings(sshd: Sshd) -> None:
    findings, result = audit(sshd)
    assert graded(findings, "fail") == {}
    assert findings[("cves", "")] == []
    assert graded(findings, "warn") == EXPLAINED_WARNINGS
    assert result.returncode == 2, "ssh-audit exits 2 for warnings, 3 for failures"


def test_debian_ssh_audit_finds_no_failure(sshd: Sshd) -> None:
    """Debian 12's ssh-audit 2.5.0 (2021) warns of what it does not know (sntrup761 as experimental, the
    Terrapin countermeasure kex-strict-s-v00 as unknown), and fails nothing."""
    result = run(
        [require("ssh-audit"), "--no-colors", "--level", "fail", "--port", str(sshd.port), LOOPBACK], timeout=60
    )
    assert "[fail]" not in result.stdout
    assert result.returncode != 3, "ssh-audit exits 3 when it finds a failure"


def test_ssh_audit_fails_openssh_defaults(tmp_path: Path, drop_in: str) -> None:
    """Control: the same sshd without the algorithm lines (OpenSSH 9.2's defaults) fails the audit."""
    stock = "\n".join(line for line in drop_in.splitlines() if line.split(" ")[0] not in SSHD_ALGORITHMS)
    with running_sshd(tmp_path, stock) as server:
        findings, result = audit(server)
    assert graded(findings, "fail"), "OpenSSH's defaults (NIST curves, SHA-1 MACs) should fail"
    assert result.returncode == 3


@pytest.mark.parametrize(
    "client_offer",
    [
        pytest.param(("-o", "KexAlgorithms=sntrup761x25519-sha512@openssh.com"), id="post-quantum"),
        pytest.param(
            ("-o", "KexAlgorithms=curve25519-sha256", "-o", "Ciphers=aes128-gcm@openssh.com"),
            id="curve25519-only-like-go-x-crypto",
        ),
    ],
)
def test_clients_negotiate_and_reach_authentication(sshd: Sshd, tmp_path: Path, client_offer: tuple[str, ...]) -> None:
    """Key exchange, host key and cipher agree, so the client gets as far as asking to log in (refused: no key
    is authorised here). A client offering only curve25519 stands for Go's x/crypto/ssh, which has no sntrup761."""
    key = tmp_path / "client"
    subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    result = run(
        [
            require("ssh"),
            *client_offer,
            *("-o", f"UserKnownHostsFile={sshd.known_hosts}", "-o", "StrictHostKeyChecking=yes"),
            *("-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes", "-i", str(key)),
            *("-p", str(sshd.port), f"p2pvps@{LOOPBACK}", "true"),
        ],
        timeout=30,
    )
    assert "Permission denied (publickey)" in result.stderr, result.stderr
