"""The container stack as typed pulumi_docker resources, rendered from the service catalog."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.build_context import image_tag
from components.catalog import DataVolume, Exposure, ServiceSpec, data_volumes
from components.container_slices import install_script, slice_name
from components.hosts.base import Host, publishes_ipv6
from components.prepare_dirs import prepare_script
from components.runtime import LOG_DRIVER, LOG_OPTIONS, NETWORK_NAME, volume_name

HEALTHY_TIMEOUT_S = 300
# A fixed unique-local prefix: with IPv6 published, containers get addresses here and ip6tables
# forwards to them (there is no userland proxy to bridge IPv6 to IPv4).
IPV6_SUBNET = "fd70:3270:7673::/64"


def _seconds(value: int) -> str:
    return f"{value}s"


def environment(spec: ServiceSpec, secrets: Mapping[str, pulumi.Output[str]]) -> list[pulumi.Input[str]]:
    """`NAME=value` entries; secret values stay secret Outputs, so Pulumi encrypts the whole list."""
    entries: list[pulumi.Input[str]] = []
    for key, value in spec.env:
        if isinstance(value, str):
            entries.append(f"{key}={value}")
        else:
            entries.append(pulumi.Output.concat(key, "=", secrets[value.name]))
    return entries


def published_ports(spec: ServiceSpec, addresses: tuple[str, ...]) -> list[docker.ContainerPortArgs]:
    """Only public ports are published (on each host address); internal ones stay on the stack network."""
    return [
        docker.ContainerPortArgs(internal=port, external=port, ip=address, protocol=rule.protocol)
        for rule in spec.ports
        if rule.exposure is Exposure.PUBLIC
        for port in rule.ports.ports()
        for address in addresses
    ]


def healthcheck(spec: ServiceSpec) -> docker.ContainerHealthcheckArgs:
    check = spec.healthcheck
    return docker.ContainerHealthcheckArgs(
        tests=["CMD", *check.test],
        interval=_seconds(check.interval_s),
        timeout=_seconds(check.timeout_s),
        retries=check.retries,
        start_period=_seconds(check.start_period_s),
    )


class Service(pulumi.ComponentResource):
    """One catalog entry: its image (a pinned pull, or built on the host from compose/<name>) and its container."""

    def __init__(
        self,
        name: str,
        spec: ServiceSpec,
        *,
        network: docker.Network,
        volumes: Mapping[str, docker.Volume],
        host: Host,
        secrets: Mapping[str, pulumi.Output[str]],
        depends_on: list[pulumi.Resource],
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:index:Service", name, None, opts)
        lifecycle = host.lifecycle(self)
        self.image_ref = self._image(name, spec, lifecycle)
        self.container = docker.Container(
            f"{name}-container",
            name=spec.container_name,
            image=self.image_ref,
            hostname=spec.name,
            command=list(spec.command) or None,
            entrypoints=list(spec.entrypoint) or None,
            envs=environment(spec, secrets),
            ports=published_ports(spec, host.publish_addresses),
            mounts=[
                *(self._volume_mount(volume, volumes) for volume in spec.volumes),
                docker.ContainerMountArgs(type="bind", source=host.dirs.logs(spec.name), target=spec.log_path),
            ],
            network_mode=network.name,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=[spec.name])],
            uploads=[
                docker.ContainerUploadArgs(file=item.target, content=item.content, executable=item.executable)
                for item in spec.files
            ],
            restart="unless-stopped",
            healthcheck=healthcheck(spec),
            wait=True,
            wait_timeout=HEALTHY_TIMEOUT_S,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTIONS,
            privileged=False,
            memory=spec.limits.memory_mb,
            memory_swap=spec.limits.memory_swap_mb,
            cgroup_parent=slice_name(spec) if host.runs_systemd else None,
            opts=pulumi.ResourceOptions.merge(
                lifecycle, pulumi.ResourceOptions(depends_on=depends_on, delete_before_replace=True)
            ),
        )
        self.register_outputs({"container": self.container.name, "image": self.image_ref})

    @staticmethod
    def _image(name: str, spec: ServiceSpec, opts: pulumi.ResourceOptions) -> pulumi.Output[str]:
        if spec.build_dir is not None:
            built = docker.Image(
                f"{name}-image",
                image_name=image_tag(spec.name, spec.build_dir),
                build=docker.DockerBuildArgs(context="compose", dockerfile=f"compose/{spec.build}/Dockerfile"),
                skip_push=True,
                opts=opts,
            )
            return built.image_name
        assert spec.image is not None
        pulled = docker.RemoteImage(f"{name}-image", name=spec.image, keep_locally=True, opts=opts)
        return pulled.image_id

    @staticmethod
    def _volume_mount(volume: DataVolume, volumes: Mapping[str, docker.Volume]) -> docker.ContainerMountArgs:
        return docker.ContainerMountArgs(
            type="volume", source=volumes[volume.name].name, target=volume.target, read_only=volume.read_only
        )


class ContainerStack(pulumi.ComponentResource):
    """The P2P VPS containers on one host's Docker.

    Creates: the Docker provider (over SSH with the pinned host key, after the readiness gate, for
    servers; the local daemon for the local cloud); the command that prepares data and log
    directories (on a server also each container's systemd slice); the stack's bridge network; a
    volume per data directory, bound to the data volume; and one Service (image + container) per
    catalog entry.
    """

    def __init__(
        self,
        name: str,
        catalog: tuple[ServiceSpec, ...],
        host: Host,
        secrets: Mapping[str, pulumi.Output[str]],
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:index:ContainerStack", name, None, opts)
        lifecycle = host.lifecycle(self)
        self.docker_provider = host.docker_provider(f"{name}-docker", self)
        script = prepare_script(catalog, host.dirs, host.privilege)
        if host.runs_systemd:
            script += install_script(catalog)
        prepare = host.run(f"{name}-prepare-dirs", script, lifecycle)
        on_host = pulumi.ResourceOptions.merge(lifecycle, pulumi.ResourceOptions(provider=self.docker_provider))
        network = docker.Network(
            f"{name}-network",
            name=NETWORK_NAME,
            driver="bridge",
            ipv6=publishes_ipv6(host),
            ipam_configs=[docker.NetworkIpamConfigArgs(subnet=IPV6_SUBNET)] if publishes_ipv6(host) else None,
            opts=on_host,
        )
        volumes = {
            volume.name: docker.Volume(
                f"{name}-volume-{volume.name}",
                name=volume_name(volume.name),
                driver="local",
                driver_opts={"type": "none", "o": "bind", "device": host.dirs.data(volume.name)},
                opts=pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(depends_on=[prepare])),
            )
            for volume in data_volumes(catalog)
        }
        self.services: dict[str, Service] = {}
        for spec in catalog:
            waits_for: list[pulumi.Resource] = [prepare]
            waits_for += [self.services[other].container for other in spec.depends_on]
            if spec.needs_dns:
                waits_for += host.tls_prerequisites
            self.services[spec.name] = Service(
                f"{name}-{spec.name}",
                spec,
                network=network,
                volumes=volumes,
                host=host,
                secrets=secrets,
                depends_on=waits_for,
                opts=pulumi.ResourceOptions(parent=self, providers=[self.docker_provider]),
            )
        self.register_outputs({"containers": [service.container.name for service in self.services.values()]})
