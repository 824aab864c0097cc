"""The container stack on one host: network, volumes and every service of the catalog, in order."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_docker as docker

from components.catalog import ServiceSpec, data_volumes
from components.container_slices import install_script
from components.docker_service import Service, StackParts
from components.hosts.base import Host, publishes_ipv6
from components.prepare_dirs import prepare_script
from components.runtime import NETWORK_NAME, volume_name
from components.settings import ImageRegistry

# A fixed unique-local prefix: with IPv6 published, containers get addresses here and ip6tables
# forwards to them (there is no userland proxy to bridge IPv6 to IPv4).
IPV6_SUBNET = "fd70:3270:7673::/64"


class ContainerStack(pulumi.ComponentResource):
    """The P2P VPS containers on one host's Docker.

    Creates: the Docker provider (over SSH with the pinned host key, after the readiness gate, for
    servers; the local daemon for the local cloud); the command that prepares data and log
    directories (on a server also each container's systemd slice); the stack's bridge network; a
    volume per data directory, bound to the data volume; one Service (image + container) per
    catalog entry, its project image pulled from `registry` where set (the provider logs in to it);
    and the one-shot runs (a restore of a new stack) with the image of the catalog entry they share
    it with. A one-shot without `depends_on` finishes before any container is
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
        registry: ImageRegistry | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("p2pvps:index:ContainerStack", name, None, opts)
        lifecycle = host.lifecycle(self)
        every_spec = (*catalog, *one_shots)
        self.docker_provider = host.docker_provider(f"{name}-docker", self, registry)
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
        self.services = {
            spec.name: Service(f"{name}-{spec.name}", spec, host=host, registry=registry, opts=child)
            for spec in catalog
        }
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
