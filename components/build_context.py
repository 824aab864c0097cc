"""Content digests of build contexts, so an image is rebuilt exactly when its context changes."""

from __future__ import annotations

import hashlib
from pathlib import Path


def context_digest(directory: Path) -> str:
    """SHA-256 over every file's relative path, executable bit and bytes, in sorted order."""
    digest = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        relative = path.relative_to(directory).as_posix()
        executable = "x" if path.stat().st_mode & 0o111 else "-"
        digest.update(f"{relative}\0{executable}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def image_tag(name: str, directory: Path) -> str:
    """`p2pvps/<name>:<first 12 hex digits of the context digest>`."""
    return f"p2pvps/{name}:{context_digest(directory)[:12]}"
