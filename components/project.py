"""The project file, Pulumi.yaml, for the tools that stand in for the Pulumi CLI (compose, offline runs)."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import yaml

# libyaml's loader where PyYAML was built with it: about 25 times faster than the pure-Python one.
SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PROJECT_FILE = Path(__file__).resolve().parent.parent / "Pulumi.yaml"


@cache
def config_schema() -> dict[str, dict[str, Any]]:
    """The declared `config:` keys, each with its type and, where set, its default and secrecy."""
    with PROJECT_FILE.open() as handle:
        return yaml.load(handle, Loader=SafeLoader)["config"]
