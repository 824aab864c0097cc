"""The images the project builds and the tag each is pushed and pulled by.

`python -m components.image_tags` prints one `<service> <tag> <dockerfile>` line per image; the Deploy
workflow builds and pushes `<imageRegistry>/<service>:<tag>` from them, and the program, with
`imageRegistry` set, pulls the same names, so the two cannot disagree.
"""

from __future__ import annotations

from pathlib import Path

from components.build_context import context_tag
from components.catalog import COMPOSE_DIR, build_catalog
from components.compose_values import compose_values


def project_images() -> dict[str, Path]:
    """Build context directory of every image the project builds, by service (the Compose catalog has every one)."""
    return {spec.name: spec.build_dir for spec in build_catalog(compose_values()) if spec.build_dir is not None}


def tag_lines() -> list[str]:
    return [
        f"{service} {context_tag(directory)} {directory.relative_to(COMPOSE_DIR.parent).as_posix()}/Dockerfile"
        for service, directory in project_images().items()
    ]


if __name__ == "__main__":
    print("\n".join(tag_lines()))
