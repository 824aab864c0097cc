#!/usr/bin/env python3
"""Print, as a JSON array, the stacks CI previews, deploys and checks for drift.

A stack is a top-level `Pulumi.<stack>.yaml` file. Stacks whose `cloud` setting is `local` (the
stack file's value, or else the project default in `Pulumi.yaml`) run on a developer's own Docker
and are left out. The workflows feed the array to `strategy.matrix.stack`.

Usage: list_stacks.py [PROJECT_DIR]   (default: the current directory)
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

LOCAL_CLOUD = "local"


def _load(path: Path) -> dict[str, Any]:
    with path.open() as handle:
        return yaml.safe_load(handle) or {}


def stack_cloud(stack_file: Path, project: str, default: str | None) -> str | None:
    """The stack's `cloud` value; Pulumi reads an un-namespaced key as the project's own."""
    config = _load(stack_file).get("config") or {}
    return config.get(f"{project}:cloud", config.get("cloud", default))


def deployable_stacks(project_dir: Path) -> list[str]:
    """Names of the stacks in `project_dir` that CI manages, sorted."""
    project = _load(project_dir / "Pulumi.yaml")
    default_cloud = ((project.get("config") or {}).get("cloud") or {}).get("default")
    return sorted(
        path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        for path in project_dir.glob("Pulumi.*.yaml")
        if stack_cloud(path, project["name"], default_cloud) != LOCAL_CLOUD
    )


def main(argv: list[str]) -> None:
    project_dir = Path(argv[1]) if len(argv) > 1 else Path.cwd()
    print(json.dumps(deployable_stacks(project_dir), separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv)
