"""One service of the stack as pulumi_docker resources: its image (pulled or built on the host) and its
container, kept running or run once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import pulumi
import pulumi_docker as docker

from components.build_context import image_tag
from components.catalog import DataVolume, Rollout, ServiceSpec
from components.container_args import environment, healthcheck, published_ports, versioned_name
from components.container_slices import slice_name
from components.hosts.base import Host
from components.runtime import LOG_DRIVER, LOG_OPTIONS, STOP_GRACE_SECONDS
from components.settings import ImageRegistry

HEALTHY_TIMEOUT_S = 300


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
        registry: ImageRegistry | None = None,
        opts: pulumi.ResourceOptions,
    ) -> None:
        super().__init__("p2pvps:index:Service", name, None, opts)
        self.name = name
        self.spec = spec
        self.image_ref = image_ref if image_ref is not None else self._image(name, spec, host.lifecycle(self), registry)

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
        definition: dict[str, Any] = dict(
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
            stop_timeout=STOP_GRACE_SECONDS,
            destroy_grace_seconds=STOP_GRACE_SECONDS,
            memory=spec.limits.memory_mb,
            memory_swap=spec.limits.memory_swap_mb,
            cgroup_parent=slice_name(spec) if host.runs_systemd else None,
            **behaviour,
        )
        start_first = spec.rollout is Rollout.START_FIRST
        self.container = docker.Container(
            f"{self.name}-container",
            name=versioned_name(spec.container_name, definition) if start_first else spec.container_name,
            **definition,
            opts=pulumi.ResourceOptions.merge(
                host.lifecycle(self),
                pulumi.ResourceOptions(
                    depends_on=[*depends_on, *(gate.container for gate in gates)],
                    # Explicit either way: the Docker provider asks for delete-before-replace by default.
                    delete_before_replace=not start_first,
                ),
            ),
        )
        self.register_outputs({"container": self.container.name, "image": self.image_ref})

    @staticmethod
    def _image(
        name: str, spec: ServiceSpec, opts: pulumi.ResourceOptions, registry: ImageRegistry | None
    ) -> pulumi.Output[str]:
        """A project image is built on the host, or pulled from `registry` by the same content tag."""
        if spec.build_dir is None:
            reference = spec.image
        elif registry is not None:
            reference = image_tag(spec.name, spec.build_dir, registry.repository)
        else:
            built = docker.Image(
                f"{name}-image",
                image_name=image_tag(spec.name, spec.build_dir),
                build=docker.DockerBuildArgs(context="compose", dockerfile=f"compose/{spec.build}/Dockerfile"),
                skip_push=True,
                opts=opts,
            )
            return built.image_name
        assert reference is not None
        pulled = docker.RemoteImage(f"{name}-image", name=reference, keep_locally=True, opts=opts)
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
