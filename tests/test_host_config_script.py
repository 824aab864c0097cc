"""The host-configuration script run for real under a temporary root (P2PVPS_ROOT): every file written
with its mode and owner, the admin keys rewritten, sshd's own check of the result, services reloaded
only for what changed, a second run that changes nothing, and the data volume (an ext4 loop device
mounted in a mount namespace of the test's own) grown online. systemctl is a recording stand-in."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
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
DATA_DIR = "/srv/p2pvps"
MIB = 1024 * 1024


@dataclass(frozen=True)
class Host:
    root: Path
    calls: Path
    volume: str
    image: Path

    def run(self, script: str, mounted: str | None = None) -> subprocess.CompletedProcess[str]:
        """The script as the command runs it (`sh -s`, root), with this root, the recording systemctl and
        the data volume (or `mounted`) mounted at the data directory in a mount namespace of its own."""
        self.calls.write_text("")
        env = os.environ | {
            "P2PVPS_ROOT": str(self.root),
            "PATH": f"{self.calls.parent}:/usr/sbin:/usr/bin:/sbin:/bin",
        }
        boot = 'mount "$0" "$1" && exec sh -s'
        args = [require("unshare"), "-m", "sh", "-c", boot, mounted or self.volume, f"{self.root}{DATA_DIR}"]
        return subprocess.run(args, input=script, capture_output=True, text=True, env=env, check=False)

    def filesystem_bytes(self) -> int:
        header = subprocess.run(
            [require("dumpe2fs"), "-h", self.volume], capture_output=True, text=True, check=True
        ).stdout
        fields = dict(line.split(":", 1) for line in header.splitlines() if ":" in line)
        return int(fields["Block count"]) * int(fields["Block size"])

    def grow_volume(self, size: int) -> None:
        """The cloud's part: the volume is bigger, and the kernel sees it."""
        with self.image.open("r+b") as handle:
            handle.truncate(size)
        subprocess.run([require("losetup"), "-c", self.volume], check=True)

    def systemctl(self) -> list[str]:
        return self.calls.read_text().splitlines()

    def state(self) -> dict[str, tuple[int, int, bytes]]:
        """Every file under the root: inode, modification time and content."""
        return {
            str(path.relative_to(self.root)): (path.stat().st_ino, path.stat().st_mtime_ns, path.read_bytes())
            for path in self.root.rglob("*")
            if path.is_file()
        }


def script(*keys: str, device: str = "", volume_gb: int = 1) -> str:
    return host_config_script(
        HostConfigParams(
            admin_user=ADMIN,
            admin_keys=keys,
            reboot_time="03:30",
            data_device=device,
            data_dir=DATA_DIR,
            volume_size_gb=volume_gb,
        )
    )


def loop_device(image: Path, size: int) -> str:
    with image.open("wb") as handle:
        handle.truncate(size)
    subprocess.run([require("mkfs.ext4"), "-q", "-F", str(image)], check=True)
    found = subprocess.run([require("losetup"), "-f", "--show", str(image)], capture_output=True, text=True, check=True)
    return found.stdout.strip()


@pytest.fixture
def host(tmp_path: Path) -> Iterator[Host]:
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
    (root / DATA_DIR.lstrip("/")).mkdir(parents=True)
    image = tmp_path / "volume.img"
    volume = loop_device(image, 16 * MIB)
    yield Host(root, calls, volume, image)
    subprocess.run([require("losetup"), "-d", volume], check=False)


@pytest.fixture
def config(host: Host) -> Callable[..., str]:
    """The script for this host's data volume."""
    return lambda *keys, volume_gb=1: script(*keys, device=host.volume, volume_gb=volume_gb)


def test_the_programs_script_passes_shellcheck() -> None:
    result = shellcheck(host_config(evaluate("dev")))
    assert result.returncode == 0, result.stdout


def test_a_first_run_writes_every_file_and_restarts_what_reads_them(host: Host, config: Callable[..., str]) -> None:
    result = host.run(config(FIRST_KEY))
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


def test_a_second_run_changes_no_file_and_restarts_nothing(host: Host, config: Callable[..., str]) -> None:
    assert host.run(config(FIRST_KEY)).returncode == 0
    before = host.state()
    result = host.run(config(FIRST_KEY))
    assert result.returncode == 0, result.stderr
    assert host.state() == before
    assert host.systemctl() == []
    assert "changed: nothing" in result.stdout


def test_a_key_change_rewrites_the_keys_and_restarts_nothing(host: Host, config: Callable[..., str]) -> None:
    """sshd reads authorized_keys at every login."""
    assert host.run(config(FIRST_KEY)).returncode == 0
    before = host.state()
    result = host.run(config(SECOND_KEY))
    assert result.returncode == 0, result.stderr
    after = host.state()
    assert {path for path in after if after[path] != before.get(path)} == {KEYS.lstrip("/")}
    assert (host.root / KEYS.lstrip("/")).read_text() == f"{SECOND_KEY}\n", "the first key is gone"
    assert host.systemctl() == []


def test_a_mode_change_alone_is_applied(host: Host, config: Callable[..., str]) -> None:
    assert host.run(config(FIRST_KEY)).returncode == 0
    keys = host.root / KEYS.lstrip("/")
    keys.chmod(0o644)
    assert host.run(config(FIRST_KEY)).returncode == 0
    assert keys.stat().st_mode & 0o777 == 0o600


def test_a_configuration_sshd_refuses_is_rolled_back_and_fails(host: Host, config: Callable[..., str]) -> None:
    assert host.run(config(FIRST_KEY)).returncode == 0
    before = host.state()
    refused = put(HostFile(SSHD_DROP_IN_PATH, "0644", "NoSuchKeyword yes\n"))
    result = host.run(config(SECOND_KEY).replace("apply\n", refused + "apply\n"))
    assert result.returncode != 0
    assert "sshd refused" in result.stderr
    assert {path: content for path, (_, _, content) in host.state().items()} == {
        path: content for path, (_, _, content) in before.items()
    }, "every file of the refused run is back as it was"
    assert host.systemctl() == []


def test_a_grown_volume_gets_its_mounted_filesystem_grown_and_nothing_else_changes(
    host: Host, config: Callable[..., str]
) -> None:
    """The kernel grows a mounted ext4 only for CAP_SYS_RESOURCE, which this test machine withholds
    (`resize2fs`: "Permission denied to resize filesystem"), so here a stand-in records the call; the
    other tests run the real resize2fs on the full filesystem ("Nothing to do")."""
    assert host.run(config(FIRST_KEY)).returncode == 0
    before = host.state()
    host.grow_volume(32 * MIB)
    grown = host.calls.parent / "grown"
    stand_in = host.calls.parent / "resize2fs"
    stand_in.write_text(f'#!/bin/sh\necho "$*" >>{grown}\n')
    stand_in.chmod(0o755)
    result = host.run(config(FIRST_KEY, volume_gb=2))
    assert result.returncode == 0, result.stderr
    assert grown.read_text() == f"{host.volume}\n"
    assert host.state() == before
    assert host.systemctl() == []


def test_a_filesystem_that_is_not_the_mounted_one_is_never_grown(
    host: Host, config: Callable[..., str], tmp_path: Path
) -> None:
    other = loop_device(tmp_path / "other.img", 16 * MIB)
    try:
        host.grow_volume(32 * MIB)
        result = host.run(config(FIRST_KEY, volume_gb=2), mounted=other)
    finally:
        subprocess.run([require("losetup"), "-d", other], check=False)
    assert result.returncode != 0
    assert "is not what is mounted" in result.stderr
    assert host.filesystem_bytes() == 16 * MIB
