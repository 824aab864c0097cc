"""A server on a cloud: its host key, its user data, the readiness gate, and the `Host` the
container stack uses on it. The clouds (components/clouds) build the server."""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_tls as tls

from components.cloud_init import CloudInitParams, render_cloud_config
from components.host_config import HostConfigParams, fingerprint, host_config_script
from components.hosts.base import registry_auth
from components.hosts.ssh import SshAccess
from components.package_files import package_text
from components.runtime import SERVER_DATA_DIR, HostDirs, Privilege, server_dirs
from components.settings import ImageRegistry, ServerSettings, Settings

GATE_TIMEOUT = "20m"


def required_secret(value: pulumi.Output[str] | None, key: str) -> pulumi.Output[str]:
    """A secret setting this cloud needs; settings validation has already refused its absence."""
    if value is None:
        raise pulumi.RunError(f"p2pvps:{key} is required on this cloud")
    return pulumi.Output.secret(value)


@dataclass(frozen=True)
class HostKey:
    """The server's SSH host key pair, made by the program so every client can pin it before the first boot."""

    key: tls.PrivateKey
    public: pulumi.Output[str]


def host_key(name: str, parent: pulumi.Resource) -> HostKey:
    key = tls.PrivateKey(name, algorithm="ED25519", opts=pulumi.ResourceOptions(parent=parent))
    return HostKey(key, key.public_key_openssh.apply(str.strip))


def user_data(
    settings: Settings, server: ServerSettings, host: HostKey, data_device: pulumi.Input[str]
) -> pulumi.Output[str]:
    """The cloud-init document of a server; secret, since it carries the host's private key."""
    admin = server.admin
    return pulumi.Output.all(host.key.private_key_openssh, host.public, data_device).apply(
        lambda values: render_cloud_config(
            CloudInitParams(
                hostname=settings.resource_prefix,
                admin_user=admin.user,
                admin_keys=admin.ssh_public_keys,
                host_key_private=values[0],
                host_key_public=values[1],
                data_device=values[2],
                data_dir=SERVER_DATA_DIR,
            )
        )
    )


@dataclass(frozen=True)
class RemoteHost:
    """A cloud server, once its readiness gate has passed and its configuration is applied: Docker over SSH,
    scripts over SSH, systemd."""

    dirs: HostDirs
    publish_addresses: tuple[str, ...]
    ssh: SshAccess
    ready: pulumi.Resource
    machine: pulumi.CustomResource
    dns: pulumi.Resource
    dns_credentials: Mapping[str, pulumi.Output[str]]
    privilege = Privilege.SUDO
    runs_systemd = True

    @property
    def tls_prerequisites(self) -> tuple[pulumi.Resource, ...]:
        return (self.dns,)

    def lifecycle(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Recreated with a replaced server, and never deleted from a server that is already gone."""
        return pulumi.ResourceOptions(parent=parent, replacement_trigger=self.machine.id, deleted_with=self.machine)

    def docker_provider(self, name: str, parent: pulumi.Resource, registry: ImageRegistry | None) -> docker.Provider:
        """The server's Docker over SSH as the admin, with the pinned host key, once the gate has passed."""
        return docker.Provider(
            name,
            host=self.ssh.docker_host(),
            ssh_opts=self.ssh.ssh_options(),
            registry_auth=registry_auth(registry),
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[self.ready]),
        )

    def run(self, name: str, script: str, opts: pulumi.ResourceOptions) -> pulumi.Resource:
        return command.remote.Command(
            name,
            connection=self.ssh.connection(),
            create=script,
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[self.ready])),
        )

    def exports(self) -> Mapping[str, pulumi.Input[str]]:
        return {
            "publicAddress": self.ssh.address,
            "sshCommand": pulumi.Output.concat("ssh ", self.ssh.user, "@", self.ssh.address),
        }


def remote_host(
    name: str,
    parent: pulumi.Resource,
    server: ServerSettings,
    *,
    host: HostKey,
    address: pulumi.Output[str],
    machine: pulumi.CustomResource,
    data_device: pulumi.Input[str],
    ready_after: list[pulumi.Resource],
    dns: pulumi.Resource,
    dns_credentials: Mapping[str, pulumi.Output[str]],
) -> RemoteHost:
    """The host of a cloud server, with the readiness gate that waits for it after `ready_after`."""
    ssh = SshAccess(address=address, user=server.admin.user, host_public_key=host.public)
    gate = readiness_gate(
        f"{name}-ready", connection=ssh.connection(), generation=machine.id, depends_on=ready_after, parent=parent
    )
    configured = host_configuration(
        f"{name}-config",
        server,
        connection=ssh.connection(),
        generation=machine.id,
        data_device=data_device,
        gate=gate,
        parent=parent,
    )
    return RemoteHost(
        dirs=server_dirs(server.admin.user),
        publish_addresses=("0.0.0.0", "::") if server.ipv6 else ("0.0.0.0",),
        ssh=ssh,
        ready=configured,
        machine=machine,
        dns=dns,
        dns_credentials=dns_credentials,
    )


def readiness_script(data_dir: str) -> str:
    body = package_text("scripts/wait-ready.sh")
    return f"data_dir={shlex.quote(data_dir)}\n{body}"


def readiness_gate(
    name: str,
    *,
    connection: command.remote.ConnectionArgs,
    generation: pulumi.Input[str],
    depends_on: list[pulumi.Resource],
    parent: pulumi.Resource,
) -> command.remote.Command:
    """Waits for cloud-init, the data volume and Docker; runs again whenever the server is replaced."""
    return command.remote.Command(
        name,
        connection=connection,
        create=readiness_script(SERVER_DATA_DIR),
        triggers=[generation],
        opts=pulumi.ResourceOptions(
            parent=parent,
            depends_on=depends_on,
            custom_timeouts=pulumi.CustomTimeouts(create=GATE_TIMEOUT, update=GATE_TIMEOUT),
        ),
    )


def host_configuration(
    name: str,
    server: ServerSettings,
    *,
    connection: command.remote.ConnectionArgs,
    generation: pulumi.Input[str],
    data_device: pulumi.Input[str],
    gate: pulumi.Resource,
    parent: pulumi.Resource,
) -> command.remote.Command:
    """Applies the changeable host configuration as root; a change of it is a diff of this command's
    script (its standard input) and runs again in place, on every new server too."""
    script = pulumi.Output.from_input(data_device).apply(
        lambda device: host_config_script(
            HostConfigParams(
                admin_user=server.admin.user,
                admin_keys=server.admin.ssh_public_keys,
                reboot_time=server.reboot_time,
                data_device=device,
                data_dir=SERVER_DATA_DIR,
                volume_size_gb=server.volume_size_gb,
            )
        )
    )
    return command.remote.Command(
        name,
        connection=connection,
        create="sudo -n sh -s",
        stdin=script,
        triggers=[generation, script.apply(fingerprint)],
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[gate]),
    )
