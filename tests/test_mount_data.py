"""The data-volume mount script on real block devices (loop devices) in a private mount namespace.

A volume is formatted only when it was read successfully and is blank. The unreadable devices are
real: a loop device whose reads fail with EIO in the kernel (its backing file is on a FUSE file
system, tests/failing_disk.py), a loop device with nothing attached, and a device node no driver
answers for. Device-mapper's `error` target would be the usual tool, but this machine's kernel has
no device-mapper (`dmsetup` finds no /dev/mapper/control). Races are played by a wrapper around a
real tool the script calls, which changes the device at that moment and then runs the real tool.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from components.cloud_init import MOUNT_SCRIPT_PATH, CloudInitParams, mount_script, render_cloud_config
from components.hosts.remote import readiness_script
from tools import require, run

pytestmark = pytest.mark.tools

MIB = 1024 * 1024
VOLUME_BYTES = 64 * MIB
FAILING_DISK = Path(__file__).parent / "failing_disk.py"
REFUSAL = "refusing to format"


def attach(image: Path) -> str:
    """A loop device on `image`."""
    found = run([require("losetup"), "-f", "--show", str(image)])
    assert found.returncode == 0, found.stderr
    return found.stdout.strip()


def detach(device: str) -> None:
    subprocess.run([require("losetup"), "-d", device], check=False)


def image(tmp_path: Path, name: str, data: dict[int, bytes] | None = None) -> Path:
    """A volume-sized image file, zeros except `data` (offset: bytes)."""
    path = tmp_path / name
    with path.open("wb") as handle:
        handle.truncate(VOLUME_BYTES)
        for offset, chunk in (data or {}).items():
            handle.seek(offset)
            handle.write(chunk)
    return path


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def volume(tmp_path: Path) -> Iterator[str]:
    device = attach(image(tmp_path, "volume.img"))
    try:
        yield device
    finally:
        detach(device)


@pytest.fixture
def failing_volume(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A loop device every read of which fails with EIO, and the log of the writes that reached it."""
    require("fusermount3")
    mountpoint, writes = tmp_path / "fuse", tmp_path / "writes.log"
    mountpoint.mkdir()
    with (tmp_path / "fuse.log").open("w") as server_log:
        server = subprocess.Popen(
            [sys.executable, str(FAILING_DISK), str(mountpoint), str(VOLUME_BYTES), str(writes)],
            stdout=server_log,
            stderr=server_log,
        )
    try:
        deadline = time.monotonic() + 15
        while not (mountpoint / "disk").exists():
            assert server.poll() is None, (tmp_path / "fuse.log").read_text()
            assert time.monotonic() < deadline, "the FUSE disk did not appear"
            time.sleep(0.05)
        device = attach(mountpoint / "disk")
        try:
            yield device, writes
        finally:
            detach(device)
    finally:
        subprocess.run([require("umount"), str(mountpoint)], check=False)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def wrap(bin_dir: Path, tool: str, before: str = "", after: str = "") -> None:
    """A `tool` first on PATH that runs `before`, the real tool, then `after`, keeping the tool's exit code."""
    bin_dir.mkdir(exist_ok=True)
    wrapper = bin_dir / tool
    lines = ["#!/bin/sh", f'echo "$0 $*" >> {bin_dir}/calls', before, "rc=0", f'{require(tool)} "$@" || rc=$?', after]
    wrapper.write_text("\n".join([*lines, 'exit "$rc"', ""]))
    wrapper.chmod(0o755)


def boot(tmp_path: Path, device: str, then: str, bin_dir: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the script as cloud-init would, in a throwaway mount namespace, then `then` on the mount."""
    script = tmp_path / "p2pvps-mount-data"
    script.write_text(mount_script())
    script.chmod(0o755)
    for tool in ("blkid", "mkfs.ext4", "mountpoint", "dd", "cmp"):
        require(tool)
    path = f"{bin_dir}:{os.environ['PATH']}" if bin_dir else os.environ["PATH"]
    env = os.environ | {"P2PVPS_FSTAB": str(tmp_path / "fstab"), "PATH": path}
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
    assert "holds data blkid does not recognise (in its first MiB); refusing to format" in result.stderr
    assert run([require("blkid"), "-p", volume]).returncode == 2, "the device must be left untouched"


def test_unrecognised_data_at_the_end_of_the_volume_is_never_formatted(tmp_path: Path) -> None:
    """blkid also probes the end of a device (RAID and GPT backups live there), so that end is read too."""
    data = image(tmp_path, "tail.img", {VOLUME_BYTES - 4096: os.urandom(4096)})
    before = digest(data)
    device = attach(data)
    try:
        result = boot(tmp_path, device, "true")
    finally:
        detach(device)
    assert result.returncode == 1
    assert "holds data blkid does not recognise (in its last MiB); refusing to format" in result.stderr
    assert digest(data) == before


def test_a_volume_whose_reads_fail_is_never_written(tmp_path: Path, failing_volume: tuple[str, Path]) -> None:
    """blkid -p reports "nothing found" (exit 2) on a device it cannot read; the script must not believe it."""
    device, writes = failing_volume
    assert run([require("blkid"), "-p", device]).returncode == 2, "the trap the script must not fall into"
    result = boot(tmp_path, device, "true")
    assert result.returncode == 1
    assert f"could not read the first MiB of {device} (" in result.stderr
    assert "Input/output error); refusing to format" in result.stderr
    assert "creating" not in result.stdout
    assert writes.read_text() == "", "nothing may be written to a device that could not be read"


def test_a_volume_attached_only_after_the_check_is_never_formatted(tmp_path: Path) -> None:
    """An attach race: the device node exists but nothing is attached when the script looks; the
    volume (with data) arrives just before mkfs.ext4 would run."""
    data = image(tmp_path, "late.img", {0: os.urandom(4096)})
    before = digest(data)
    device = attach(image(tmp_path, "placeholder.img"))
    detach(device)
    bin_dir = tmp_path / "bin"
    wrap(bin_dir, "mkfs.ext4", before=f"{require('losetup')} {device} {data}")
    try:
        result = boot(tmp_path, device, "true", bin_dir)
    finally:
        detach(device)
    assert result.returncode == 1
    assert f"{device} reports 0 bytes: not attached yet, or not the data volume; refusing to format" in result.stderr
    assert not (bin_dir / "calls").exists(), "mkfs.ext4 must not be called"
    assert digest(data) == before


def test_a_volume_that_vanishes_before_it_is_read_is_never_formatted(tmp_path: Path, volume: str) -> None:
    """The loop device is detached after the script sized it and before it reads it (dd then reads
    0 bytes without an error), and comes back with data just before mkfs.ext4 would run."""
    data = image(tmp_path, "back.img", {0: os.urandom(4096)})
    before = digest(data)
    bin_dir = tmp_path / "bin"
    losetup = require("losetup")
    wrap(bin_dir, "dd", before=f"{losetup} -d {volume} 2>/dev/null")
    wrap(bin_dir, "mkfs.ext4", before=f"{losetup} {volume} {data}")
    result = boot(tmp_path, volume, "true", bin_dir)
    assert result.returncode == 1
    assert f"read only 0 of {MIB} bytes of the first MiB of {volume}; refusing to format" in result.stderr
    assert "mkfs.ext4" not in (bin_dir / "calls").read_text()
    assert digest(data) == before


def test_a_volume_swapped_while_it_is_checked_is_never_formatted(tmp_path: Path, volume: str) -> None:
    """The device is read (blank), then another volume of the same size takes its place while blkid
    probes: only the disk sequence number tells them apart, and the script checks it before mkfs."""
    other = image(tmp_path, "other.img", {0: os.urandom(4096)})
    before = digest(other)
    losetup = require("losetup")
    refusal = refused_after_the_probe(tmp_path, volume, f"{{ {losetup} -d {volume} && {losetup} {volume} {other}; }}")
    assert f"{volume} changed while it was checked (" in refusal
    assert digest(other) == before


@pytest.mark.parametrize("code", [4, 8], ids=["probe-error", "ambivalent"])
def test_a_volume_blkid_could_not_probe_is_never_formatted(tmp_path: Path, volume: str, code: int) -> None:
    """Only blkid's "nothing found" (exit 2) may lead to mkfs: its own errors (4) and an ambivalent result
    (8, more than one signature) stop the boot, even when both MiB read back as zeros."""
    refusal = refused_after_the_probe(tmp_path, volume, f"rc={code}")
    assert f"blkid could not probe {volume} (exit {code}); {REFUSAL}" in refusal


def refused_after_the_probe(tmp_path: Path, volume: str, then: str) -> str:
    """A boot in which `then` runs right after `blkid -p` (its exit code in $rc): the script must refuse
    without calling mkfs.ext4. Returns its stderr."""
    bin_dir = tmp_path / "bin"
    wrap(bin_dir, "blkid", after=f'[ "$1" != -p ] || {then}')
    wrap(bin_dir, "mkfs.ext4")
    result = boot(tmp_path, volume, "true", bin_dir)
    assert result.returncode == 1
    assert REFUSAL in result.stderr
    assert "mkfs.ext4" not in (bin_dir / "calls").read_text()
    return result.stderr


def unused_block_major() -> int:
    """A block major number with no driver on this kernel (from the local/experimental range)."""
    block = Path("/proc/devices").read_text().split("Block devices:", 1)[1]
    used = {int(line.split()[0]) for line in block.splitlines() if line.strip()}
    return next(major for major in range(240, 255) if major not in used)


def test_a_device_node_without_a_driver_is_never_formatted(tmp_path: Path) -> None:
    node = tmp_path / "vdz"
    os.mknod(node, stat.S_IFBLK | 0o600, os.makedev(unused_block_major(), 0))
    bin_dir = tmp_path / "bin"
    wrap(bin_dir, "mkfs.ext4")
    result = boot(tmp_path, str(node), "true", bin_dir)
    assert result.returncode == 1
    assert f"the kernel has no block device behind {node}" in result.stderr
    assert REFUSAL in result.stderr
    assert not (bin_dir / "calls").exists(), "mkfs.ext4 must not be called"


# The boot stops, and `pulumi up` says why: cloud-init's runcmd script and the readiness gate.


def cloud_init_runcmd_script(commands: list[str | list[str]]) -> str:
    """The shell script cloud-init's runcmd module writes for these commands (cloud-init's own shellify)."""
    interpreter = Path(require("cloud-init")).read_text().splitlines()[0].removeprefix("#!").split()[0]
    code = "import json, sys\nfrom cloudinit import util\nsys.stdout.write(util.shellify(json.load(sys.stdin)))"
    result = run([interpreter, "-c", code], input=json.dumps(commands))
    assert result.returncode == 0, result.stderr
    return result.stdout


def first_boot(tmp_path: Path, device: str, log: Path) -> subprocess.CompletedProcess[str]:
    """The rendered runcmd, run as cloud-init runs it (output appended to its output log), with the
    admin `root` so that nothing after the mount can fail on its own; /home is a tmpfs in the namespace."""
    params = CloudInitParams(
        hostname="test",
        admin_user="root",
        admin_keys=("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGVuZ2luZWVyIHRlc3Qga2V5 test",),
        host_key_private="private",
        host_key_public="public",
        data_device=device,
        data_dir=str(tmp_path / "data"),
    )
    script = tmp_path / "p2pvps-mount-data"
    script.write_text(mount_script())
    script.chmod(0o755)
    runcmd = yaml.safe_load(render_cloud_config(params))["runcmd"]
    local = [
        [str(script) if word == MOUNT_SCRIPT_PATH else word for word in c] if isinstance(c, list) else c for c in runcmd
    ]
    (tmp_path / "runcmd").write_text(cloud_init_runcmd_script(local))
    boot_script = (
        'mount -t tmpfs tmpfs /home || exit 99; rc=0; sh "$0" >>"$1" 2>&1 || rc=$?; ls -a /home/root; exit "$rc"'
    )
    env = os.environ | {"P2PVPS_FSTAB": str(tmp_path / "fstab")}
    (tmp_path / "fstab").touch()
    return run([require("unshare"), "-m", "sh", "-c", boot_script, str(tmp_path / "runcmd"), str(log)], env=env)


def readiness_gate(tmp_path: Path, log: Path, cloud_init_exit: int) -> subprocess.CompletedProcess[str]:
    """The gate's exact script, with stand-ins for `cloud-init status` (exit code given) and `sudo -n`."""
    bin_dir = tmp_path / "gate-bin"
    bin_dir.mkdir(exist_ok=True)
    (bin_dir / "cloud-init").write_text(
        f'#!/bin/sh\n[ "$2" != --long ] || echo "status: error"\nexit {cloud_init_exit}\n'
    )
    (bin_dir / "sudo").write_text('#!/bin/sh\n[ "$1" != -n ] || shift\nexec "$@"\n')
    for stand_in in ("cloud-init", "sudo"):
        (bin_dir / stand_in).chmod(0o755)
    script = f"cloud_init_log={shlex.quote(str(log))}\n{readiness_script(str(tmp_path / 'data'))}"
    return run(["sh", "-c", script], env=os.environ | {"PATH": f"{bin_dir}:{os.environ['PATH']}"})


def test_a_refused_volume_stops_the_boot_and_the_gate_shows_why(
    tmp_path: Path, failing_volume: tuple[str, Path]
) -> None:
    device, writes = failing_volume
    log = tmp_path / "cloud-init-output.log"
    boot_result = first_boot(tmp_path, device, log)
    refusal = f"p2pvps-mount-data: could not read the first MiB of {device} ("
    assert refusal in log.read_text()
    assert boot_result.returncode != 0, "the runcmd script must fail, so that cloud-init reports an error"
    assert ".p2pvps" not in boot_result.stdout, "nothing after the refused mount may run"
    assert writes.read_text() == ""

    # cloud-init reports the failed runcmd as an error (exit 1 of `cloud-init status`).
    gate = readiness_gate(tmp_path, log, cloud_init_exit=1)
    assert gate.returncode == 1
    said = gate.stderr.split("the data-volume script (p2pvps-mount-data) said:\n", 1)
    assert len(said) == 2, gate.stderr
    assert said[1].startswith(refusal)

    # After a reboot runcmd does not run again and cloud-init reports success; the volume is still missing.
    gate = readiness_gate(tmp_path, log, cloud_init_exit=0)
    assert gate.returncode == 1
    assert f"the data volume is not mounted at {tmp_path / 'data'}\n" in gate.stderr
    assert refusal in gate.stderr
