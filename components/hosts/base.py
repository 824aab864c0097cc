"""What the container stack needs from a host, whatever cloud it runs on."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from importlib import resources

import pulumi
import pulumi_command as command
import pulumi_tls as tls

DATA_DIR = "/srv/p2pvps"
GATE_TIMEOUT = "20m"


@dataclass(frozen=True)
class HostHandle:
    """A provisioned server: where it is, how to reach it safely, and when it is ready."""

    address: pulumi.Output[str]
    admin_user: str
    host_public_key: pulumi.Output[str]
    ready: pulumi.Resource
    generation: pulumi.Output[str]
    machine: pulumi.Resource
    dns: pulumi.Resource
    data_dir: str = DATA_DIR

    @property
    def home_dir(self) -> str:
        return f"/home/{self.admin_user}"


def host_key(name: str, parent: pulumi.Resource) -> tls.PrivateKey:
    """The server's SSH host key, made here so every client can pin it before the first boot."""
    return tls.PrivateKey(name, algorithm="ED25519", opts=pulumi.ResourceOptions(parent=parent))


def openssh_public_key(key: tls.PrivateKey) -> pulumi.Output[str]:
    return key.public_key_openssh.apply(str.strip)


def admin_connection(
    address: pulumi.Input[str], user: str, host_public_key: pulumi.Input[str]
) -> command.remote.ConnectionArgs:
    """SSH as the admin through the user's ssh-agent, verifying the pinned host key, retrying until it answers."""
    return command.remote.ConnectionArgs(
        host=address,
        user=user,
        host_key=host_public_key,
        dial_error_limit=-1,
        per_dial_timeout=15,
    )


def readiness_script(data_dir: str) -> str:
    body = resources.files("components").joinpath("scripts/wait-ready.sh").read_text()
    return f"data_dir={shlex.quote(data_dir)}\n{body}"


def readiness_gate(
    name: str,
    *,
    connection: command.remote.ConnectionArgs,
    generation: pulumi.Input[str],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
    data_dir: str = DATA_DIR,
) -> command.remote.Command:
    """Waits for cloud-init, the data volume and Docker; runs again whenever the server is replaced."""
    return command.remote.Command(
        name,
        connection=connection,
        create=readiness_script(data_dir),
        triggers=[generation],
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=depends_on,
            custom_timeouts=pulumi.CustomTimeouts(create=GATE_TIMEOUT, update=GATE_TIMEOUT),
        ),
    )
