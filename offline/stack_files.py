"""The example stacks as the Pulumi CLI would hand them to the program: Pulumi.yaml's defaults under
each Pulumi.<stack>.yaml, config strings, recognisable sentinels for the secrets, parsed settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.project import config_schema
from components.settings import Settings, parse_settings
from offline.mock_cloud import SENTINEL

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "p2pvps"


def load_yaml(path: Path) -> Any:
    with path.open() as handle:
        return yaml.safe_load(handle)


def project_defaults() -> dict[str, Any]:
    """Config defaults declared in Pulumi.yaml, which the Pulumi CLI applies before the program runs."""
    return {f"{PROJECT}:{key}": spec["default"] for key, spec in config_schema().items() if "default" in spec}


def secret_keys() -> list[str]:
    """Config keys Pulumi.yaml declares secret."""
    return sorted(key for key, spec in config_schema().items() if spec.get("secret"))


def sentinel_secrets() -> dict[str, str]:
    """A recognisable value for every secret key, so tests can look for it anywhere it must not be."""
    return {key: f"{SENTINEL}{key}" for key in secret_keys()}


def stack_names() -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in PROJECT_DIR.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, Any]:
    """The stack file's values over the project defaults, as the CLI would merge them.

    Encrypted (`secure:`) values cannot be decrypted here; they are left to `secrets`.
    """
    values = load_yaml(PROJECT_DIR / f"Pulumi.{stack}.yaml").get("config") or {}
    plain = {key: value for key, value in values.items() if not (isinstance(value, dict) and "secure" in value)}
    return project_defaults() | plain


def raw_config(stack: str = "dev", **changes: Any) -> dict[str, str]:
    """The stack's `p2pvps:*` values as the CLI hands them to the program: strings, lists as JSON."""
    prefix = f"{PROJECT}:"
    config = {key.removeprefix(prefix): value for key, value in stack_config(stack).items() if key.startswith(prefix)}
    config |= changes
    return {key: as_config_string(value) for key, value in config.items() if value is not None}


def settings_for(stack: str = "dev", *, secrets: Mapping[str, str] | None = None, **changes: Any) -> Settings:
    """Parsed settings of a stack file (with changes), every secret set (or `secrets`), outside the Pulumi runtime."""
    secrets = sentinel_secrets() if secrets is None else secrets
    return parse_settings(raw_config(stack, **changes), project=PROJECT, stack=stack, secrets=secrets)


def as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)
