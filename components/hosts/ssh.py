"""How the program reaches a cloud server over SSH: the admin account and the host key it pins."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_command as command


@dataclass(frozen=True)
class SshAccess:
    """How the program reaches a server: its stable address, the admin account, its pinned host key."""

    address: pulumi.Output[str]
    user: str
    host_public_key: pulumi.Output[str]

    def connection(self) -> command.remote.ConnectionArgs:
        """SSH as the admin through the user's ssh-agent, verifying the pinned host key, retrying until it answers."""
        return command.remote.ConnectionArgs(
            host=self.address,
            user=self.user,
            host_key=self.host_public_key,
            dial_error_limit=-1,
            per_dial_timeout=15,
        )

    def docker_host(self) -> pulumi.Output[str]:
        return pulumi.Output.concat("ssh://", self.user, "@", self.address)

    def ssh_options(self) -> pulumi.Output[list[str]]:
        return self.host_public_key.apply(pinned_ssh_options)


def pinned_ssh_options(host_public_key: str) -> list[str]:
    """OpenSSH client options that accept only the pinned host key, without any known_hosts file.

    `KnownHostsCommand` (OpenSSH 8.5+) prints the one accepted key for whatever host name ssh
    looks up (`%H`), so no file has to exist on the machine running Pulumi and the provider
    configuration is the same on every machine.
    """
    return [
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "GlobalKnownHostsFile=/dev/null",
        "-o",
        f"KnownHostsCommand=/bin/echo %H {host_public_key}",
        "-o",
        "BatchMode=yes",
        "-o",
        "ConnectTimeout=30",
        "-o",
        "ServerAliveInterval=30",
    ]
