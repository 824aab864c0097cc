"""The container stack as typed pulumi_docker resources, rendered from the service catalog."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

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


def finished(step: str, exit_code: int | None) -> str:
    """Passes only when the one-shot `step` exited 0: a container that waits for it gets this as a label,
    so it is never created after a failed step."""
    if exit_code != 0:
        raise pulumi.RunError(
            f"p2pvps-{step} exited with {exit_code}: see `docker logs p2pvps-{step}`, fix what it says "
            "(for a restore: p2pvps:restoreFrom and its secrets), and run `pulumi up` again"
        )
    return "done"


class Service(pulumi.ComponentResource):
    """One catalog entry: its image (a pinned pull, or built on the host from compose/<name>), or the image
    it shares with another entry; then its container, with `start` (kept running) or `run_once`."""

    def __init__(
        self,
        name: str,
        spec: ServiceSpec,
        *,
        host: Host,
        image_ref: pulumi.Output[str] | None = None,
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:index:Service", name, None, opts)
        self.name = name
        self.spec = spec
        self.image_ref = image_ref if image_ref is not None else self._image(name, spec, host.lifecycle(self))

    def start(self, stack: StackParts, depends_on: list[pulumi.Resource], gates: list[Service]) -> None:
        """The long-running container, healthy before anything that depends on it is created."""
        self._container(
            stack,
            depends_on,
            gates,
            restart="unless-stopped",
            healthcheck=healthcheck(self.spec),
            wait=True,
            wait_timeout=HEALTHY_TIMEOUT_S,
        )

    def run_once(self, stack: StackParts, depends_on: list[pulumi.Resource]) -> None:
        """A container that runs its command to the end while Pulumi waits, and is left stopped."""
        self._container(stack, depends_on, [], restart="no", must_run=False, attach=True)

    def _container(
        self, stack: StackParts, depends_on: list[pulumi.Resource], gates: list[Service], **behaviour: Any
    ) -> None:
        spec, host = self.spec, stack.host
        gate_labels = [
            docker.ContainerLabelArgs(
                label=f"p2pvps.after.{gate.spec.name}",
                value=gate.container.exit_code.apply(partial(finished, gate.spec.name)),
            )
            for gate in gates
        ]
        self.container = docker.Container(
            f"{self.name}-container",
            name=spec.container_name,
            image=self.image_ref,
            hostname=spec.name,
            command=list(spec.command) or None,
            entrypoints=list(spec.entrypoint) or None,
            envs=environment(spec, stack.secrets),
            ports=published_ports(spec, host.publish_addresses),
            mounts=[
                *(self._volume_mount(volume, stack.volumes) for volume in spec.volumes),
                docker.ContainerMountArgs(type="bind", source=host.dirs.logs(spec.name), target=spec.log_path),
            ],
            network_mode=stack.network.name,
            networks_advanced=[docker.ContainerNetworksAdvancedArgs(name=stack.network.name, aliases=[spec.name])],
            uploads=[
                docker.ContainerUploadArgs(file=item.target, content=item.content, executable=item.executable)
                for item in spec.files
            ],
            labels=gate_labels or None,
            capabilities=None
            if spec.capabilities is None
            else docker.ContainerCapabilitiesArgs(drops=["ALL"], adds=list(spec.capabilities)),
            tmpfs={path: "" for path in spec.tmpfs} or None,
            log_driver=LOG_DRIVER,
            log_opts=LOG_OPTIONS,
            privileged=False,
            memory=spec.limits.memory_mb,
            memory_swap=spec.limits.memory_swap_mb,
            cgroup_parent=slice_name(spec) if host.runs_systemd else None,
            opts=pulumi.ResourceOptions.merge(
                host.lifecycle(self),
                pulumi.ResourceOptions(
                    depends_on=[*depends_on, *(gate.container for gate in gates)], delete_before_replace=True
                ),
            ),
            **behaviour,
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


@dataclass(frozen=True)
class StackParts:
    """What every container of the stack is created with: the host, the network, the volumes, the secrets."""

    host: Host
    network: docker.Network
    volumes: Mapping[str, docker.Volume]
    secrets: Mapping[str, pulumi.Output[str]]


class ContainerStack(pulumi.ComponentResource):
    """The P2P VPS containers on one host's Docker.

    Creates: the Docker provider (over SSH with the pinned host key, after the readiness gate, for
    servers; the local daemon for the local cloud); the command that prepares data and log
    directories (on a server also each container's systemd slice); the stack's bridge network; a
    volume per data directory, bound to the data volume; one Service (image + container) per
    catalog entry; and the one-shot runs (a restore of a new stack) with the image of the catalog
    entry they share it with. A one-shot without `depends_on` finishes before any container is
    created; one that depends on a service runs once that service is healthy and finishes before
    anything else that depends on that service is created.
    """

    def __init__(
        self,
        name: str,
        catalog: tuple[ServiceSpec, ...],
        host: Host,
        secrets: Mapping[str, pulumi.Output[str]],
        *,
        one_shots: tuple[ServiceSpec, ...] = (),
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:index:ContainerStack", name, None, opts)
        lifecycle = host.lifecycle(self)
        every_spec = (*catalog, *one_shots)
        self.docker_provider = host.docker_provider(f"{name}-docker", self)
        script = prepare_script(every_spec, host.dirs, host.privilege)
        if host.runs_systemd:
            script += install_script(every_spec)
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
            for volume in data_volumes(every_spec)
        }
        parts = StackParts(host, network, volumes, secrets)
        child = pulumi.ResourceOptions(parent=self, providers=[self.docker_provider])
        self.services = {spec.name: Service(f"{name}-{spec.name}", spec, host=host, opts=child) for spec in catalog}
        images = {spec.build or spec.image: self.services[spec.name].image_ref for spec in catalog}
        self.one_shots: dict[str, Service] = {}

        def run_after(service: str | None) -> None:
            for step in one_shots:
                if (step.depends_on[0] if step.depends_on else None) == service:
                    run = Service(
                        f"{name}-{step.name}", step, host=host, image_ref=images[step.build or step.image], opts=child
                    )
                    run.run_once(parts, [prepare, *(self.services[other].container for other in step.depends_on)])
                    self.one_shots[step.name] = run

        run_after(None)
        for spec in catalog:
            waits_for: list[pulumi.Resource] = [prepare]
            waits_for += [self.services[other].container for other in spec.depends_on]
            if spec.needs_dns:
                waits_for += host.tls_prerequisites
            gates = [
                self.one_shots[step.name]
                for step in one_shots
                if not step.depends_on or set(step.depends_on) & set(spec.depends_on)
            ]
            self.services[spec.name].start(parts, waits_for, gates)
            run_after(spec.name)
        self.register_outputs({"containers": [service.container.name for service in self.services.values()]})
