"""What each image is built from (components/build_context.py): the files its tag digests, and the
refusal of a COPY source that is not in the context. The real builder's view of compose/ and its
.dockerignore is tested in test_build_context_e2e.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.build_context import context_files, copy_sources, image_tag
from components.catalog import COMPOSE_DIR

pytestmark = pytest.mark.unit

IMAGES = sorted(path.parent.name for path in COMPOSE_DIR.glob("*/Dockerfile"))


@pytest.fixture
def compose(tmp_path: Path) -> Path:
    """A copy of compose/ to change files in."""
    copy = tmp_path / "compose"
    shutil.copytree(COMPOSE_DIR, copy, ignore=shutil.ignore_patterns("node_modules"))
    return copy


def tags(compose: Path) -> dict[str, str]:
    return {name: image_tag(name, compose / name) for name in IMAGES}


def retagged_by(compose: Path, change: str) -> set[str]:
    """The images whose tag changes when `change` (a path in compose/) gets one more line."""
    before = tags(compose)
    path = compose / change
    path.write_text(path.read_text() + "\n# changed\n" if path.exists() else "changed\n")
    after = tags(compose)
    return {name for name in IMAGES if after[name] != before[name]}


def test_the_stack_builds_seven_images() -> None:
    assert IMAGES == ["backup", "connextcms", "listing-manager", "localtunnel", "nginx", "openbazaar", "ssh-server"]


@pytest.mark.parametrize(
    ("change", "images"),
    [
        ("shared/fetch-pinned.sh", {"connextcms", "listing-manager"}),
        ("shared/preload.js", {"connextcms", "listing-manager"}),
        ("connextcms/updates/0.0.1-admins.js", {"connextcms"}),
        ("listing-manager/Dockerfile", {"listing-manager"}),
        ("ssh-server/sshd_config", {"ssh-server"}),
        ("localtunnel/patches/01-server-device-access.patch", {"localtunnel"}),
        ("openbazaar/openbazaar-config.jq", {"openbazaar"}),
        ("nginx/p2pvps-tls", {"nginx"}),
        ("backup/p2pvps-backup", {"backup"}),
    ],
)
def test_a_change_retags_exactly_the_images_built_from_the_file(compose: Path, change: str, images: set[str]) -> None:
    assert retagged_by(compose, change) == images


@pytest.mark.parametrize(
    "change", ["connextcms/README.md", "docker-compose.yml", ".env", "nginx/templates/default.conf.template"]
)
def test_a_file_no_image_copies_retags_nothing(compose: Path, change: str) -> None:
    assert retagged_by(compose, change) == set()


def test_the_executable_bit_is_part_of_the_tag(compose: Path) -> None:
    before = tags(compose)
    (compose / "shared/preload.js").chmod(0o755)
    after = tags(compose)
    assert {name for name in IMAGES if after[name] != before[name]} == {"connextcms", "listing-manager"}


def write_image(compose: Path, dockerfile: str) -> Path:
    image = compose / "probe"
    image.mkdir()
    (image / "Dockerfile").write_text(dockerfile)
    return image


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("probe/missing.txt", "COPY source probe/missing.txt is not in the build context"),
        ("shared/*.py", "COPY source shared/*.py is not in the build context"),
        ("../Makefile", "must name a path below compose/"),
        ("/etc/passwd", "must name a path below compose/"),
        (".", "must name a path below compose/"),
    ],
)
def test_a_copy_source_outside_the_image_directories_is_refused(compose: Path, source: str, message: str) -> None:
    image = write_image(compose, f"FROM scratch\nCOPY {source} /x/\n")
    with pytest.raises(ValueError, match=message.replace("*", r"\*")):
        image_tag("probe", image)


def test_copy_sources_follow_the_dockerfile_syntax(compose: Path) -> None:
    image = write_image(
        compose,
        "FROM scratch AS build\n"
        "# a comment\n"
        "COPY --chown=1000:1000 probe/a.txt \\\n"
        "  # a comment inside the instruction\n"
        "  shared/preload.js /x/\n"
        'copy ["probe/b c.txt", "/y"]\n'
        "FROM scratch\n"
        "COPY --from=build /x /x\n"
        "ADD probe/d/ /d/\n"
        "COPY probe/w?.txt /w/\n",
    )
    assert copy_sources(image / "Dockerfile") == [
        "probe/a.txt",
        "shared/preload.js",
        "probe/b c.txt",
        "probe/d/",
        "probe/w?.txt",
    ]
    for name in ("a.txt", "b c.txt", "d/e.txt", "w1.txt", "w2.txt", "w10.txt"):
        (image / name).parent.mkdir(exist_ok=True)
        (image / name).write_text(name)
    assert [p.relative_to(compose).as_posix() for p in context_files(image)] == [
        "probe/Dockerfile",
        "probe/a.txt",
        "probe/b c.txt",
        "probe/d/e.txt",
        "probe/w1.txt",
        "probe/w2.txt",
        "shared/preload.js",
    ]


@pytest.mark.parametrize("image", IMAGES)
def test_every_copy_source_of_the_real_dockerfiles_is_in_compose(image: str) -> None:
    files = context_files(COMPOSE_DIR / image)
    assert COMPOSE_DIR / image / "Dockerfile" in files and len(files) > 1
