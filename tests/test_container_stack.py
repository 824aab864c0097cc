"""The container stack as `pulumi up` would register it, on the dev server and on local Docker."""

from __future__ import annotations

import re

import pytest

from components.catalog import build_catalog
from components.targets import stack_values
from harness import (
    HOST_PUBLIC_KEY,
    RESERVED_IPV4,
    SENTINEL,
    Evaluation,
    Registration,
    cloud_stacks,
    container_env,
    containers,
    evaluate,
    is_secret,
    machine,
    settings_for,
    unwrap,
)

pytestmark = pytest.mark.unit

PROVIDER = "pulumi:providers:docker"
DEV_SERVICES = {
    "nginx",
    "certbot",
    "mongodb",
    "connextcms",
    "openbazaar",
    "listing-manager",
    "ssh-server",
    "localtunnel",
    "backup",
}


def published(container: Registration) -> set[tuple[str, int]]:
    return {(port["ip"], port["external"]) for port in container.plain().get("ports", [])}


def test_every_service_is_a_container(dev: Evaluation) -> None:
    assert set(containers(dev)) == DEV_SERVICES


def test_each_container_writes_its_log_under_the_admins_p2pvps_logs(dev: Evaluation) -> None:
    for name, container in containers(dev).items():
        binds = [m for m in container.plain("mounts") if m["type"] == "bind"]
        assert [m["source"] for m in binds] == [f"/home/p2pvps/.p2pvps/logs/{name}"], name


def test_only_public_ports_are_published(dev: Evaluation) -> None:
    by_name = containers(dev)
    assert published(by_name["nginx"]) == {("0.0.0.0", 80), ("0.0.0.0", 443)}
    assert published(by_name["mongodb"]) == set()
    assert published(by_name["connextcms"]) == set()
    assert published(by_name["listing-manager"]) == set()
    assert published(by_name["openbazaar"]) == {("0.0.0.0", 4001)}
    ssh_ports = {port for _, port in published(by_name["ssh-server"])}
    assert ssh_ports == {6100, *range(6101, 6201)}
    lt_ports = {port for _, port in published(by_name["localtunnel"])}
    assert lt_ports == set(range(40000, 40100))
    everything = {port for c in by_name.values() for _, port in published(c)}
    assert not everything & {27017, 3500, 4002, 3000, 3002, 3434, 9228, 9229, 2375, 2376}


def _span(text: str, separator: str) -> set[int]:
    first, _, last = text.partition(separator)
    return set(range(int(first), int(last or first) + 1))


def opened_to_the_world(evaluation: Evaluation) -> set[int]:
    """TCP ports the stack's cloud firewall opens to 0.0.0.0/0, whatever the cloud."""
    opened: set[int] = set()
    for rule in evaluation.of_type("digitalocean:index/firewall:Firewall"):
        for inbound in rule.plain("inboundRules"):
            if inbound["protocol"] == "tcp" and "0.0.0.0/0" in inbound["sourceAddresses"]:
                opened |= _span(inbound["portRange"], "-")
    for group in evaluation.of_type("aws:ec2/securityGroup:SecurityGroup"):
        for inbound in group.plain("ingress"):
            if inbound["protocol"] == "tcp" and "0.0.0.0/0" in inbound.get("cidrBlocks", []):
                opened |= set(range(int(inbound["fromPort"]), int(inbound["toPort"]) + 1))
    for rule in evaluation.of_type("vultr:index/firewallRule:FirewallRule"):
        if rule.plain("protocol") == "tcp" and rule.plain("subnet") == "0.0.0.0" and rule.plain("subnetSize") == 0:
            opened |= _span(rule.plain("port"), ":")
    return opened


@pytest.mark.parametrize("stack", cloud_stacks())
def test_published_ports_are_exactly_the_ports_the_firewall_opens(stack: str) -> None:
    evaluation = evaluate(stack)
    assert opened_to_the_world(evaluation) == {
        port for c in containers(evaluation).values() for _, port in published(c)
    }
    assert set(containers(evaluation)) == DEV_SERVICES


@pytest.mark.parametrize("stack", cloud_stacks())
def test_every_docker_resource_follows_the_server_and_uses_the_stack_provider(stack: str) -> None:
    evaluation = evaluate(stack)
    provider = evaluation.one(PROVIDER)
    server = machine(evaluation)
    for registration in evaluation.resources:
        if registration.type.startswith("docker:"):
            assert registration.provider.startswith(provider.urn), registration.name
            assert registration.replacement_trigger == server.id, registration.name
            assert registration.deleted_with == server.urn, registration.name
    assert evaluation.named("p2pvps-host-config").urn in provider.dependencies


def test_containers_run_unprivileged_with_restart_health_and_rotated_logs(dev: Evaluation) -> None:
    for name, container in containers(dev).items():
        inputs = container.plain()
        assert inputs["restart"] == "unless-stopped", name
        assert inputs["healthcheck"]["tests"][0] == "CMD", name
        assert inputs["wait"] is True, name
        assert inputs["logDriver"] == "local", name
        assert inputs["logOpts"] == {"max-file": "5", "max-size": "10m"}, name
        assert inputs["privileged"] is False, name
        assert inputs["networkMode"] == "p2pvps", name


def test_docker_provider_goes_over_ssh_with_the_pinned_host_key_after_the_gate(dev: Evaluation) -> None:
    provider = dev.one(PROVIDER)
    assert provider.plain("host") == f"ssh://p2pvps@{RESERVED_IPV4}"
    options = provider.plain("sshOpts")
    assert "StrictHostKeyChecking=yes" in options
    assert f"KnownHostsCommand=/bin/echo %H {HOST_PUBLIC_KEY}" in options
    assert "StrictHostKeyChecking=no" not in options
    assert dev.named("p2pvps-host-config").urn in provider.dependencies
    assert SENTINEL not in str(provider.inputs), "the provider config is stored unencrypted: no secret at all"


def test_nginx_and_certbot_wait_for_dns_others_do_not(dev: Evaluation) -> None:
    records = {r.urn for r in dev.of_type("digitalocean:index/dnsRecord:DnsRecord")}
    for name, container in containers(dev).items():
        waits = records <= set(container.dependencies)
        assert waits == (name in {"nginx", "certbot"}), name
        assert waits or not records & set(container.dependencies), name


def test_only_real_dependencies_order_the_containers(dev: Evaluation) -> None:
    by_name = containers(dev)
    urns = {container.urn: name for name, container in by_name.items()}
    waits = {name: {urns[d] for d in container.dependencies if d in urns} for name, container in by_name.items()}
    assert waits == {
        "nginx": set(),
        "certbot": set(),
        "mongodb": set(),
        "connextcms": {"mongodb"},
        "openbazaar": set(),
        "listing-manager": {"connextcms", "openbazaar"},
        "ssh-server": set(),
        "localtunnel": set(),
        "backup": {"mongodb"},
    }


def test_secrets_reach_the_containers_that_need_them(dev: Evaluation) -> None:
    by_name = containers(dev)
    env = {name: container_env(container) for name, container in by_name.items()}
    assert env["mongodb"]["MONGO_INITDB_ROOT_PASSWORD"].startswith(SENTINEL)
    assert env["connextcms"]["MONGO_PASSWORD"] == env["mongodb"]["MONGO_APP_PASSWORD"]
    assert env["certbot"]["DO_TOKEN"] == f"{SENTINEL}dnsToken"
    ob_password = env["connextcms"]["OB_PASSWORD"]
    assert env["listing-manager"]["OB_PASSWORD"] == ob_password
    assert len(env["openbazaar"]["OB_API_PASSWORD_SHA256"]) == 64
    assert ob_password not in str(by_name["openbazaar"].plain())


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_the_first_cms_administrators_password_is_a_secret_stack_output(stack: str) -> None:
    """`pulumi stack output cmsAdminPassword --show-secrets` is how the operator logs in the first time."""
    evaluation = evaluate(stack)
    exported = evaluation.exports["cmsAdminPassword"]
    assert is_secret(exported)
    assert unwrap(exported) == container_env(containers(evaluation)["connextcms"])["CMS_ADMIN_PASSWORD"]


def test_mongodb_requires_authentication(dev: Evaluation) -> None:
    mongodb = containers(dev)["mongodb"]
    assert "--auth" in mongodb.plain("command")
    uploads = {upload["file"] for upload in mongodb.plain("uploads")}
    assert "/docker-entrypoint-initdb.d/10-create-app-user.sh" in uploads


def test_pulled_images_are_pinned(dev: Evaluation) -> None:
    for image in dev.of_type("docker:index/remoteImage:RemoteImage"):
        name = image.plain("name")
        repository, _, tag = name.rpartition(":")
        assert repository and tag and tag != "latest" and any(ch.isdigit() for ch in tag), name
        assert image.plain("keepLocally") is True


def test_built_images_are_built_from_compose_and_tagged_by_what_they_copy(dev: Evaluation) -> None:
    """Which files a tag covers: test_build_context.py."""
    images = {r.plain("imageName").split(":")[0]: r for r in dev.of_type("docker:index/image:Image")}
    assert set(images) == {
        f"p2pvps/{n}"
        for n in ("nginx", "connextcms", "openbazaar", "listing-manager", "ssh-server", "localtunnel", "backup")
    }
    for repository, image in images.items():
        service = repository.split("/")[1]
        assert re.fullmatch(rf"{repository}:[0-9a-f]{{12}}", image.plain("imageName"))
        assert image.plain("build")["context"] == "compose", "relative, so every machine computes the same input"
        assert image.plain("build")["dockerfile"] == f"compose/{service}/Dockerfile"
        assert image.plain("skipPush") is True
    digests = {image.plain("imageName").split(":")[1] for image in images.values()}
    assert len(digests) == len(images), "each image is tagged by its own files"


def test_data_volumes_bind_the_data_volume_directories(dev: Evaluation) -> None:
    volumes = {r.plain("name"): r.plain("driverOpts") for r in dev.of_type("docker:index/volume:Volume")}
    assert volumes == {
        f"p2pvps_{name}": {"type": "none", "o": "bind", "device": f"/srv/p2pvps/{name}"}
        for name in (
            "acme-webroot",
            "backup",
            "connextcms",
            "devices",
            "letsencrypt",
            "mongodb",
            "openbazaar",
            "ssh-server",
        )
    }


def test_directories_are_prepared_on_the_host_after_the_gate(dev: Evaluation) -> None:
    prepare = dev.named("p2pvps-stack-prepare-dirs")
    script = prepare.plain("create")
    assert 'ensure_dir 999 0750 "/srv/p2pvps/mongodb"' in script
    assert 'ensure_dir 999 0755 "/home/p2pvps/.p2pvps/logs/mongodb"' in script
    for service in containers(dev):
        assert f' 0755 "/home/p2pvps/.p2pvps/logs/{service}"' in script
    assert dev.named("p2pvps-host-config").urn in prepare.dependencies
    for volume in dev.of_type("docker:index/volume:Volume"):
        assert prepare.urn in volume.dependencies


def test_local_stack_runs_on_local_docker_without_cloud_resources(local: Evaluation) -> None:
    assert not [r for r in local.resources if r.type.startswith(("digitalocean:", "aws:", "vultr:"))]
    assert "host" not in local.one(PROVIDER).plain()
    assert set(containers(local)) == DEV_SERVICES - {"certbot", "backup"}, "local backups are off unless asked for"
    for container in containers(local).values():
        assert {address for address, _ in published(container)} <= {"127.0.0.1"}
    prepare = local.one("command:local:Command").plain("create")
    assert "/.p2pvps/data/mongodb" in prepare and "privilege=best-effort" in prepare


def test_local_nginx_serves_localhost_names(local: Evaluation) -> None:
    nginx = containers(local)["nginx"]
    assert "p2pvps.localhost www.p2pvps.localhost" in nginx.plain("uploads")[0]["content"]
    assert container_env(nginx)["P2PVPS_TLS_NAMES"].startswith("site=p2pvps.localhost,www.p2pvps.localhost")


def test_staging_certificates_get_a_short_hsts_policy() -> None:
    def hsts(stack: str) -> str:
        nginx = containers(evaluate(stack))["nginx"]
        config = nginx.plain("uploads")[0]["content"]
        return next(line.strip() for line in config.splitlines() if "Strict-Transport-Security" in line)

    assert 'max-age=300"' in hsts("dev")
    assert 'max-age=63072000"' in hsts("ams3")


def test_catalog_lists_dependencies_before_dependents() -> None:
    seen: set[str] = set()
    for service in build_catalog(stack_values(settings_for("dev"))):
        assert set(service.depends_on) <= seen, service.name
        seen.add(service.name)


def test_with_ipv6_every_public_listener_takes_ipv6_too() -> None:
    """ams3 publishes AAAA records: Nginx, the SSH-Server and LocalTunnel listen on IPv6 as well."""
    for stack, ipv6 in (("ams3", True), ("dev", False)):
        services = containers(evaluate(stack))
        config = services["nginx"].plain("uploads")[0]["content"]
        assert ("listen [::]:443 ssl http2;" in config) is ipv6
        assert ("listen [::]:80 default_server;" in config) is ipv6
        assert container_env(services["ssh-server"])["SSH_LISTEN_ADDRESS"] == ("0.0.0.0 ::" if ipv6 else "0.0.0.0")
        assert container_env(services["localtunnel"])["LT_ADDRESS"] == ("::" if ipv6 else "0.0.0.0")


def test_with_ipv6_docker_publishes_every_public_port_on_ipv6_too() -> None:
    """A container listening on :: is still unreachable over IPv6 unless Docker publishes its ports on the
    host's IPv6 address, from a network with IPv6 on (no userland proxy: daemon.json)."""
    for stack, ipv6 in (("ams3", True), ("dev", False)):
        evaluation = evaluate(stack)
        (network,) = evaluation.of_type("docker:index/network:Network")
        assert bool(network.plain().get("ipv6")) is ipv6, stack
        for name, container in containers(evaluation).items():
            ports = published(container)
            on_ipv4 = {port for address, port in ports if address == "0.0.0.0"}
            on_ipv6 = {port for address, port in ports if address == "::"}
            assert on_ipv6 == (on_ipv4 if ipv6 else set()), (stack, name)
            assert ports == {("0.0.0.0", port) for port in on_ipv4} | {("::", port) for port in on_ipv6}


def test_each_data_volume_has_one_writer_and_the_device_registry_is_the_ssh_servers(dev: Evaluation) -> None:
    """A taken-over reader (LocalTunnel, Nginx, the backup) cannot change what another service owns:
    LocalTunnel cannot add a device to the registry, Nginx cannot swap a certificate."""
    writers: dict[str, list[str]] = {}
    for service, container in containers(dev).items():
        for mount in container.plain("mounts"):
            if mount["type"] == "volume" and not mount.get("readOnly", False):
                writers.setdefault(mount["source"], []).append(service)
    assert all(len(services) == 1 for services in writers.values()), writers
    assert writers["p2pvps_devices"] == ["ssh-server"]
    assert writers["p2pvps_letsencrypt"] == ["certbot"]
