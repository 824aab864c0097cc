"""Test helpers over offline.evaluate: the real program under Pulumi's mocks, and parsed settings."""

from __future__ import annotations

import re
from typing import Any

import pulumi

from components.settings import Settings, StackSecrets, parse_settings
from offline.evaluate import (
    PROJECT,
    PROJECT_DIR,
    SECRET_SIG,
    SIG_KEY,
    Evaluation,
    Registration,
    as_config_string,
    evaluate,
    load_yaml,
    project_defaults,
    run_program,
    secret_keys,
    sentinel_secrets,
    stack_config,
    stack_names,
    unwrap,
)
from offline.mock_cloud import (
    AMI_ID,
    DROPLET_ID,
    DROPLET_IPV6,
    EBS_VOLUME_ID,
    ELASTIC_IPV4,
    HOST_PUBLIC_KEY,
    INSTANCE_ID,
    LOOKED_UP_ZONE,
    RESERVED_IPV4,
    SENTINEL,
    VULTR_OS_ID,
    MockCloud,
)

__all__ = [
    "AMI_ID",
    "DROPLET_ID",
    "DROPLET_IPV6",
    "EBS_VOLUME_ID",
    "ELASTIC_IPV4",
    "HOST_PUBLIC_KEY",
    "INSTANCE_ID",
    "LOOKED_UP_ZONE",
    "PROJECT",
    "PROJECT_DIR",
    "RESERVED_IPV4",
    "SECRET_SIG",
    "SENTINEL",
    "SIG_KEY",
    "VULTR_OS_ID",
    "Evaluation",
    "MockCloud",
    "Registration",
    "evaluate",
    "load_yaml",
    "project_defaults",
    "raw_config",
    "run_program",
    "secret_keys",
    "sentinel_secrets",
    "settings_for",
    "stack_config",
    "stack_names",
    "unwrap",
]


def raw_config(stack: str = "dev", **changes: Any) -> dict[str, str]:
    """The stack's `p2pvps:*` values as the CLI hands them to the program: strings, lists as JSON."""
    prefix = f"{PROJECT}:"
    config = {key.removeprefix(prefix): value for key, value in stack_config(stack).items() if key.startswith(prefix)}
    config |= changes
    return {key: as_config_string(value) for key, value in config.items() if value is not None}


def settings_for(stack: str = "dev", **changes: Any) -> Settings:
    """Parsed settings of a stack file (with changes), every secret set, outside the Pulumi runtime."""
    secrets = StackSecrets(**{_snake(key): pulumi.Output.secret(value) for key, value in sentinel_secrets().items()})
    return parse_settings(raw_config(stack, **changes), project=PROJECT, stack=stack, secrets=secrets)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()
