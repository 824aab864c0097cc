"""What an image is built from, and the content digest that tags it.

Every image has compose/ as its build context and compose/<service>/Dockerfile as its recipe, so a
helper several images use is kept once, in compose/shared/ (a context cannot reach outside itself);
compose/.dockerignore lets only the image directories into the context. The tag digests the
Dockerfile and every file its COPY and ADD instructions read, so an image is rebuilt exactly when
what it is built from changes, and not when another image's files do.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path, PurePosixPath


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(KEYWORD, arguments) of every instruction: continuation lines joined, comments and blank lines left out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in dockerfile.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        found.append((keyword.upper(), arguments.strip()))
        pending = ""
    return found


def _flags_and_paths(arguments: str) -> tuple[list[str], list[str]]:
    """The leading `--flag=value` words of a COPY or ADD, and its paths (shell or JSON form)."""
    flags: list[str] = []
    rest = arguments
    while rest.startswith("--"):
        flag, _, rest = rest.partition(" ")
        flags.append(flag)
        rest = rest.lstrip()
    paths: list[str] = json.loads(rest) if rest.startswith("[") else rest.split()
    return flags, paths


def copy_sources(dockerfile: Path) -> list[str]:
    """The context paths its COPY and ADD instructions read; one copying from a stage or an image reads none."""
    sources: list[str] = []
    for keyword, arguments in instructions(dockerfile):
        if keyword in {"COPY", "ADD"}:
            flags, paths = _flags_and_paths(arguments)
            if not any(flag.startswith("--from=") for flag in flags):
                sources += paths[:-1]
    return sources


def context_files(service_dir: Path) -> list[Path]:
    """`service_dir`'s Dockerfile and every file it copies from the context (`service_dir`'s parent), sorted.

    Fails on a source that is not in the context, as `docker build` would, but before anything is sent.
    """
    root = service_dir.parent
    dockerfile = service_dir / "Dockerfile"
    files = {dockerfile}
    for source in copy_sources(dockerfile):
        pattern = PurePosixPath(source)
        if pattern.is_absolute() or ".." in pattern.parts or pattern == PurePosixPath("."):
            raise ValueError(f"{dockerfile}: COPY source {source} must name a path below {root.name}/")
        if any(wildcard in source for wildcard in "*?["):
            matches = sorted(root.glob(str(pattern)))
        else:
            matches = [root / pattern] if (root / pattern).exists() else []
        if not matches:
            raise ValueError(f"{dockerfile}: COPY source {source} is not in the build context {root}")
        for match in matches:
            if match.is_dir():
                files.update(p for p in match.rglob("*") if p.is_file())
            else:
                files.add(match)
    return sorted(files)


def context_digest(service_dir: Path) -> str:
    """SHA-256 over each of `context_files`' path in the context, executable bit and bytes."""
    root = service_dir.parent
    digest = hashlib.sha256()
    for path in context_files(service_dir):
        relative = path.relative_to(root).as_posix()
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        digest.update(f"{relative}\0{executable}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


LOCAL_REPOSITORY = "p2pvps"
"""Where an image built on the host is named; a registry's repository (`ghcr.io/<owner>/p2pvps`) replaces it."""


def context_tag(service_dir: Path) -> str:
    """The first 12 hex digits of the context digest: the tag every copy of the image carries."""
    return context_digest(service_dir)[:12]


def image_tag(name: str, service_dir: Path, repository: str = LOCAL_REPOSITORY) -> str:
    """`<repository>/<name>:<context_tag>`."""
    return f"{repository}/{name}:{context_tag(service_dir)}"
