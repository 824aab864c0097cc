"""The backup image's containers read what they mount and nothing else of the disk that holds their volumes.

A static probe (tests/backup/shocker.c) in a FROM scratch image runs in the private dockerd with exactly the
capabilities the catalog gives each container of the backup image, and that container's first volume mounted
as the catalog mounts it. It tries the "Shocker" escape: a file handle of the root directory of the file system
that holds the Docker volumes (for ext4 type 1, inode 2, generation 0), opened with open_by_handle_at against
the mounted volume, then a marker in another volume, one the container does not mount (on a server: MongoDB's
raw files). The scheduled backup must still read and list every file of its volumes, whoever owns them."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from components.catalog import ServiceSpec, backup, build_catalog, restore_steps
from components.compose_values import compose_values
from docker_daemon import Docker
from tools import require, run

pytestmark = pytest.mark.e2e

PROBE_SOURCE = Path(__file__).parent / "backup" / "shocker.c"
PROBE_IMAGE = "p2pvps-test/shocker:latest"
OTHER_UID = 1234
MARKER = f"not for the backup {uuid.uuid4().hex}\n"
PRIVATE = f"only uid {OTHER_UID} may read this {uuid.uuid4().hex}\n"


def backup_image_containers() -> dict[str, ServiceSpec]:
    """The scheduled backup service and the restore one-shots, as the catalog declares them."""
    values = compose_values()
    assert values.backup is not None
    restoring = replace(values, backup=replace(values.backup, restores=True))
    catalog = build_catalog(restoring)
    specs = (*catalog, *restore_steps(restoring, catalog))
    return {spec.name: spec for spec in specs if spec.build == backup.NAME}


CONTAINERS = backup_image_containers()


@pytest.fixture(scope="module")
def probe(docker: Docker, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The probe compiled static on the host (it prints handles there) and built into PROBE_IMAGE; its host path."""
    context = tmp_path_factory.mktemp("shocker")
    binary = context / "shocker"
    compiled = run([require("gcc"), "-static", "-O2", "-Wall", "-Werror", "-o", str(binary), str(PROBE_SOURCE)])
    assert compiled.returncode == 0, compiled.stderr
    (context / "Dockerfile").write_text('FROM scratch\nCOPY shocker /shocker\nENTRYPOINT ["/shocker"]\n')
    docker.check("build", "--network", "none", "--force-rm", "--tag", PROBE_IMAGE, str(context))
    return binary


def make_volume(docker: Docker, role: str) -> tuple[str, Path]:
    name = f"p2pvps-test-{role}-{uuid.uuid4().hex[:8]}"
    docker.check("volume", "create", name)
    return name, Path(docker.check("volume", "inspect", "--format", "{{.Mountpoint}}", name))


@pytest.fixture
def volumes(docker: Docker) -> Iterator[tuple[str, Path, Path]]:
    """A volume to mount, holding a private directory of another uid, and the marker in another volume:
    (mounted volume's name, its directory on the host, the marker's path on the host)."""
    mounted, mounted_dir = make_volume(docker, "mounted")
    other, other_dir = make_volume(docker, "unmounted")
    try:
        private = mounted_dir / "private"
        private.mkdir(mode=0o700)
        (private / "secret").write_text(PRIVATE)
        for path, mode in ((private / "secret", 0o600), (private, 0o700)):
            os.chown(path, OTHER_UID, OTHER_UID)
            path.chmod(mode)
        marker = other_dir / "marker"
        marker.write_text(MARKER)
        yield mounted, mounted_dir, marker
    finally:
        docker("volume", "rm", "--force", mounted, other)


def file_system_root(path: Path) -> Path:
    """The mount point of the file system that holds `path`: the last directory up on the same device."""
    device = path.stat().st_dev
    while path.parent != path and path.parent.stat().st_dev == device:
        path = path.parent
    return path


def run_as(docker: Docker, spec: ServiceSpec, volume: str, *command: str) -> tuple[int, str, str]:
    """The probe with `spec`'s capabilities (from the catalog) and `volume` mounted as `spec` mounts its first
    volume; exit status, stdout, stderr."""
    assert spec.capabilities is not None, f"{spec.name} keeps Docker's default capabilities"
    target = spec.volumes[0]
    mount = f"type=volume,source={volume},target={target.target}" + (",readonly" if target.read_only else "")
    caps = [option for capability in spec.capabilities for option in ("--cap-add", capability)]
    result = docker.run_once(PROBE_IMAGE, "none", "--cap-drop", "ALL", *caps, "--mount", mount, command=command)
    return result.returncode, result.stdout, result.stderr


@pytest.mark.parametrize("name", sorted(CONTAINERS))
def test_a_backup_image_container_cannot_open_files_outside_its_volumes_by_handle(
    docker: Docker, probe: Path, volumes: tuple[str, Path, Path], name: str
) -> None:
    mounted, _, marker = volumes
    root = file_system_root(marker)
    handle = run([str(probe), "handle", str(root)])
    assert handle.returncode == 0, f"the file system at {root} gives no handles: {handle.stderr}"
    spec = CONTAINERS[name]
    status, stdout, stderr = run_as(
        docker, spec, mounted, "escape", spec.volumes[0].target, handle.stdout.strip(), str(marker.relative_to(root))
    )
    assert MARKER not in stdout, f"{name} read {marker} through open_by_handle_at with {spec.capabilities}"
    assert status == 1 and stderr.startswith("open_by_handle_at:"), (status, stderr)


def test_the_backup_service_reads_and_lists_every_file_of_its_volumes(
    docker: Docker, probe: Path, volumes: tuple[str, Path, Path]
) -> None:
    spec = CONTAINERS[backup.NAME]
    mounted, mounted_dir, _ = volumes
    assert spec.volumes[0].read_only and (mounted_dir / "private/secret").stat().st_uid == OTHER_UID
    private = f"{spec.volumes[0].target}/private"
    assert run_as(docker, spec, mounted, "ls", private) == (0, "secret\n", "")
    assert run_as(docker, spec, mounted, "cat", f"{private}/secret") == (0, PRIVATE, "")
