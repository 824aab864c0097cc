"""compose/ as the real builder sees it: the legacy builder of the private daemon, given compose/ and its
.dockerignore. No registry is reachable, so the images whose bases are registry images cannot be built
here; their COPY instructions are built instead, each stage started FROM scratch."""

from __future__ import annotations

import shutil
import tarfile
from pathlib import Path

import pytest

from components.build_context import instructions
from components.catalog import COMPOSE_DIR
from docker_daemon import Docker

pytestmark = pytest.mark.e2e

IMAGES = sorted(path.parent.name for path in COMPOSE_DIR.glob("*/Dockerfile"))
# What compose/.dockerignore lets into the context: the image directories and the helpers they share.
CONTEXT_ENTRIES = {*IMAGES, "shared"}
# Where the images' build steps and commands expect the helpers of compose/shared/.
SHARED_HELPERS = {
    "connextcms": {
        "usr/local/bin/fetch-pinned": "fetch-pinned.sh",
        "usr/local/src/p2pvps/apply-patches.js": "apply-patches.js",
        "usr/local/src/p2pvps/preload.js": "preload.js",
    },
    "listing-manager": {
        "usr/local/bin/fetch-pinned": "fetch-pinned.sh",
        "usr/local/src/p2pvps/apply-patches.js": "apply-patches.js",
        "opt/listing-manager/lib/p2pvps-preload.js": "preload.js",
    },
}


def copy_only(dockerfile: Path) -> str:
    """The WORKDIR instructions of `dockerfile` and its COPY and ADD that read the context, all stages in one
    FROM scratch (each stage starts at /)."""
    kept = ["FROM scratch"]
    for keyword, arguments in instructions(dockerfile):
        if keyword == "FROM":
            kept.append("WORKDIR /")
        elif keyword == "WORKDIR" or (keyword in {"COPY", "ADD"} and "--from=" not in arguments):
            kept.append(f"{keyword} {arguments}")
    return "\n".join(kept) + "\n"


def built_files(docker: Docker, dockerfile_text: str, context: Path, workdir: Path) -> dict[str, bytes]:
    """Every regular file of the image `dockerfile_text` (kept outside the context) builds from `context`."""
    dockerfile = workdir / "probe.Dockerfile"
    dockerfile.write_text(dockerfile_text)
    tag = f"p2pvps-test/probe-{workdir.name.lower()}"
    docker.check("build", "--network", "none", "--force-rm", "--tag", tag, "--file", str(dockerfile), str(context))
    container = docker.check("create", "--network", "none", tag, "/none")
    archive = workdir / "probe.tar"
    try:
        docker.check("export", "--output", str(archive), container)
    finally:
        docker.check("rm", container)
        docker.check("rmi", tag)
    files: dict[str, bytes] = {}
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            content = tar.extractfile(member) if member.isfile() else None
            if content is not None:
                files[member.name] = content.read()
    return files


@pytest.mark.parametrize("image", IMAGES)
def test_every_copy_of_the_dockerfile_finds_its_source_in_the_context(
    docker: Docker, tmp_path: Path, image: str
) -> None:
    files = built_files(docker, copy_only(COMPOSE_DIR / image / "Dockerfile"), COMPOSE_DIR, tmp_path)
    assert files, "the image copies nothing"
    for destination, helper in SHARED_HELPERS.get(image, {}).items():
        assert files[destination] == (COMPOSE_DIR / "shared" / helper).read_bytes(), destination


def test_the_context_holds_only_the_image_directories(docker: Docker, tmp_path: Path) -> None:
    """An operator's .env (the stack's secrets, next to docker-compose.yml) never enters a build context."""
    compose = tmp_path / "compose"
    shutil.copytree(COMPOSE_DIR, compose, ignore=shutil.ignore_patterns("node_modules"))
    (compose / ".env").write_text("MONGO_ROOT_PASSWORD=operator-secret\n")
    (compose / "dumps").mkdir()
    (compose / "dumps/mongodb.archive").write_text("operator data\n")
    (compose / "localtunnel/node_modules/left-over").mkdir(parents=True)
    (compose / "localtunnel/node_modules/left-over/index.js").write_text("a developer's install\n")
    files = built_files(docker, "FROM scratch\nCOPY . /context/\n", compose, tmp_path)
    context = [path.removeprefix("context/") for path in files if path.startswith("context/")]
    assert {path.split("/")[0] for path in context} == CONTEXT_ENTRIES
    assert not [path for path in context if "node_modules" in path or path.endswith("README.md")]
