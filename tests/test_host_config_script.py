"""The host-configuration script run for real under a temporary root (P2PVPS_ROOT): every file written
with its mode and owner, the admin keys rewritten, sshd's own check of the result, services reloaded
only for what changed, and a second run that changes nothing. systemctl is a recording stand-in."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from components.host_config import SSHD_DROP_IN_PATH, HostConfigParams, HostFile, host_config_script, put
from harness import evaluate, host_config
from tools import require, shellcheck

pytestmark = pytest.mark.tools

ADMIN = "nobody"  # exists on every test machine; the files are owned by it under the temporary root
FIRST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAICGjbDLvvYTS7vlXaH4z61b/CkmKFkrmZRCbHaMLZz99 first@example.com"
SECOND_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxpyxO5v0d9bmWqRIbf0ZfC5tm5V2b4tIS7z3L8H+Yx second@example.com"
KEYS = f"/home/{ADMIN}/.ssh/authorized_keys"


@dataclass(frozen=True)
class Host:
    root: Path
    calls: Path

    def run(self, script: str) -> subprocess.CompletedProcess[str]:
        """The script as the command runs it (`sh -s`, root), with this root and the recording systemctl."""
        self.calls.write_text("")
        env = os.environ | {
            "P2PVPS_ROOT": str(self.root),
            "PATH": f"{self.calls.parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        }
        return subprocess.run(["sh", "-s"], input=script, capture_output=True, text=True, env=env, check=False)

    def systemctl(self) -> list[str]:
        return self.calls.read_text().splitlines()

    def state(self) -> dict[str, tuple[int, int, bytes]]:
        """Every file under the root: inode, modification time and content."""
        return {
            str(path.relative_to(self.root)): (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
            for path in self.root.rglob("*")
            if path.is_file()
        }


def script(*keys: str, reboot_time: str | None = "03:30") -> str:
    return host_config_script(HostConfigParams(admin_user=ADMIN, admin_keys=keys, reboot_time=reboot_time))


@pytest.fixture
def host(tmp_path: Path) -> Host:
    require("sshd")
    Path("/run/sshd").mkdir(parents=True, exist_ok=True)
    root = tmp_path / "root"
    ssh = root / "etc/ssh"
    (ssh / "sshd_config.d").mkdir(parents=True)
    subprocess.run([require("ssh-keygen"), "-q", "-t", "ed25519", "-N", "", "-f", str(ssh / "host")], check=True)
    (ssh / "sshd_config").write_text(f"Include {ssh}/sshd_config.d/*.conf\nHostKey {ssh}/host\n")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    calls = bin_dir / "calls"
    (bin_dir / "systemctl").write_text(f'#!/bin/sh\necho "$*" >>{calls}\n')
    (bin_dir / "systemctl").chmod(0o755)
    return Host(root, calls)


def test_the_programs_script_passes_shellcheck() -> None:
    result = shellcheck(host_config(evaluate("dev")))
    assert result.returncode == 0, result.stdout


def test_a_first_run_writes_every_file_and_restarts_what_reads_them(host: Host) -> None:
    result = host.run(script(FIRST_KEY))
    assert result.returncode == 0, result.stderr
    keys = host.root / KEYS.lstrip("/")
    assert keys.read_text() == f"{FIRST_KEY}\n"
    assert (keys.stat().st_mode & 0o777, keys.owner()) == (0o600, ADMIN)
    assert (keys.parent.stat().st_mode & 0o777, keys.parent.owner()) == (0o700, ADMIN)
    guard = host.root / "usr/local/sbin/p2pvps-metadata-guard"
    assert (guard.stat().st_mode & 0o777, guard.owner()) == (0o755, "root")
    assert (
        'Automatic-Reboot-Time "03:30"' in (host.root / "etc/apt/apt.conf.d/52p2pvps-unattended-upgrades").read_text()
    )
    assert host.systemctl() == ["try-reload-or-restart ssh", "daemon-reload", "restart docker"]
    assert not list(host.root.rglob("*.p2pvps-previous")) and not list(host.root.rglob(".p2pvps.*"))


def test_a_second_run_changes_no_file_and_restarts_nothing(host: Host) -> None:
    assert host.run(script(FIRST_KEY)).returncode == 0
    before = host.state()
    result = host.run(script(FIRST_KEY))
    assert result.returncode == 0, result.stderr
    assert host.state() == before
    assert host.systemctl() == []
    assert "changed: nothing" in result.stdout


def test_a_key_change_rewrites_the_keys_and_restarts_nothing(host: Host) -> None:
    """sshd reads authorized_keys at every login."""
    assert host.run(script(FIRST_KEY)).returncode == 0
    before = host.state()
    result = host.run(script(SECOND_KEY))
    assert result.returncode == 0, result.stderr
    after = host.state()
    assert {path for path in after if after[path] != before.get(path)} == {KEYS.lstrip("/")}
    assert (host.root / KEYS.lstrip("/")).read_text() == f"{SECOND_KEY}\n", "the first key is gone"
    assert host.systemctl() == []


def test_a_mode_change_alone_is_applied(host: Host) -> None:
    assert host.run(script(FIRST_KEY)).returncode == 0
    keys = host.root / KEYS.lstrip("/")
    keys.chmod(0o644)
    assert host.run(script(FIRST_KEY)).returncode == 0
    assert keys.stat().st_mode & 0o777 == 0o600


def test_a_configuration_sshd_refuses_is_rolled_back_and_fails(host: Host) -> None:
    assert host.run(script(FIRST_KEY)).returncode == 0
    before = host.state()
    refused = put(HostFile(SSHD_DROP_IN_PATH, "0644", "NoSuchKeyword yes\n"))
    result = host.run(script(SECOND_KEY).replace("apply\n", refused + "apply\n"))
    assert result.returncode != 0
    assert "sshd refused" in result.stderr
    assert {path: content for path, (_, _, content) in host.state().items()} == {
        path: content for path, (_, _, content) in before.items()
    }, "every file of the refused run is back as it was"
    assert host.systemctl() == []
