"""The data-volume mount script on a real block device (a loop device) in a private mount namespace."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.cloud_init import mount_script
from tools import require, run


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[str]:
    image = tmp_path / "volume.img"
    with image.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    device = subprocess.run(
        [require("losetup"), "-f", "--show", str(image)], capture_output=True, text=True, check=True
    )
    try:
        yield device.stdout.strip()
    finally:
        subprocess.run([require("losetup"), "-d", device.stdout.strip()], check=False)


def boot(tmp_path: Path, device: str, then: str) -> subprocess.CompletedProcess[str]:
    """Run the script as cloud-init would, in a throwaway mount namespace, then `then` on the mount."""
    script = tmp_path / "p2pvps-mount-data"
    script.write_text(mount_script())
    script.chmod(0o755)
    for tool in ("blkid", "mkfs.ext4", "mountpoint"):
        require(tool)
    env = os.environ | {"P2PVPS_FSTAB": str(tmp_path / "fstab")}
    (tmp_path / "fstab").touch()
    return run(
        [
            require("unshare"),
            "-m",
            "sh",
            "-c",
            f'"$0" "$1" "$2" && {then}',
            str(script),
            device,
            str(tmp_path / "data"),
        ],
        env=env,
    )


def test_blank_volume_is_formatted_mounted_and_kept_on_the_next_boot(tmp_path: Path, volume: str) -> None:
    first = boot(tmp_path, volume, 'echo "money lives here" > "$2/wallet"')
    assert first.returncode == 0, first.stderr
    assert "is blank, creating an ext4 file system" in first.stdout
    uuid = run([require("blkid"), "-s", "UUID", "-o", "value", volume]).stdout.strip()
    assert (tmp_path / "fstab").read_text() == f"UUID={uuid} {tmp_path}/data ext4 defaults,nofail,discard 0 2\n"

    second = boot(tmp_path, volume, 'cat "$2/wallet"')
    assert second.returncode == 0, second.stderr
    assert "creating" not in second.stdout
    assert "money lives here" in second.stdout
    assert len((tmp_path / "fstab").read_text().splitlines()) == 1


def test_unrecognised_data_is_never_formatted(tmp_path: Path, volume: str) -> None:
    with open(volume, "r+b") as device:
        device.write(os.urandom(4096))
    result = boot(tmp_path, volume, "true")
    assert result.returncode == 1
    assert "refusing to format" in result.stderr
    assert run([require("blkid"), "-p", volume]).returncode == 2, "the device must be left untouched"
