"""Test helpers over offline.evaluate: the real program under Pulumi's mocks, parsed settings, and the
few questions many tests ask of an evaluation (its machine, its containers, what a host holds)."""

from __future__ import annotations

import re

from components.host_config import END_OF_FILE
from offline.evaluate import evaluate, run_program, run_pulumi_program
from offline.mock_cloud import (
    AMI_ID,
    DROPLET_ID,
    DROPLET_IPV6,
    EBS_VOLUME_ID,
    ELASTIC_IPV4,
    HOST_PUBLIC_KEY,
    INSTANCE_ID,
    RESERVED_IPV4,
    SENTINEL,
    VULTR_OS_ID,
    MockCloud,
    looked_up_zone,
)
from offline.records import Evaluation, Registration, is_secret, secret, unwrap
from offline.stack_files import (
    PROJECT,
    PROJECT_DIR,
    raw_config,
    sentinel_secrets,
    settings_for,
    stack_config,
    stack_names,
)

__all__ = [
    "AMI_ID",
    "CONTAINER",
    "DROPLET_ID",
    "DROPLET_IPV6",
    "EBS_VOLUME_ID",
    "ELASTIC_IPV4",
    "HOST_PUBLIC_KEY",
    "INSTANCE_ID",
    "MACHINES",
    "PROJECT",
    "PROJECT_DIR",
    "RESERVED_IPV4",
    "SENTINEL",
    "VULTR_OS_ID",
    "Evaluation",
    "MockCloud",
    "Registration",
    "cloud_stacks",
    "container_env",
    "containers",
    "evaluate",
    "host_config",
    "host_config_files",
    "host_resources",
    "is_secret",
    "looked_up_zone",
    "machine",
    "raw_config",
    "run_program",
    "run_pulumi_program",
    "secret",
    "sentinel_secrets",
    "settings_for",
    "stack_config",
    "stack_names",
    "unwrap",
]

CONTAINER = "docker:index/container:Container"
MACHINES = ("digitalocean:index/droplet:Droplet", "aws:ec2/instance:Instance", "vultr:index/instance:Instance")


def cloud_stacks() -> list[str]:
    """The example stacks that deploy a server (every cloud but `local`)."""
    return [stack for stack in stack_names() if stack_config(stack)[f"{PROJECT}:cloud"] != "local"]


def machine(evaluation: Evaluation) -> Registration:
    """The one droplet or instance of a server stack."""
    (found,) = [r for r in evaluation.resources if r.type in MACHINES]
    return found


def containers(evaluation: Evaluation) -> dict[str, Registration]:
    """The stack's containers by service name."""
    return {r.plain("hostname"): r for r in evaluation.of_type(CONTAINER)}


def container_env(container: Registration) -> dict[str, str]:
    """A container's environment, secret values revealed."""
    return dict(entry.split("=", 1) for entry in container.plain("envs"))


def host_resources(evaluation: Evaluation, host_type: str) -> list[Registration]:
    """The host component of `host_type` and every resource beneath it."""
    host = evaluation.one(host_type)
    return [r for r in evaluation.resources if r is host or host in evaluation.ancestors(r)]


HOST_CONFIG = "p2pvps-host-config"
_PUT = re.compile(rf"^put (\S+) (\S+) (\S+) <<'{END_OF_FILE}'\n(.*?)^{END_OF_FILE}\n", re.S | re.M)


def host_config(evaluation: Evaluation) -> str:
    """The host-configuration script the server runs as root over SSH."""
    return evaluation.named(HOST_CONFIG).plain("stdin")


def host_config_files(evaluation: Evaluation) -> dict[str, str]:
    """The files the host configuration writes, by path."""
    return {match[1]: match[4] for match in _PUT.finditer(host_config(evaluation))}
