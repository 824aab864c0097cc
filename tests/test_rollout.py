"""How `pulumi up` replaces each container: the stateless ones start beside the old one under a new name,
the rest stop first under their fixed name; every one answers to its service name on the stack network."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components import docker_service
from components.build_context import image_tag
from components.catalog import Exposure, Rollout, ServiceSpec, build_catalog
from components.catalog.model import Healthcheck, Limits, single_port
from components.targets import stack_values
from harness import Evaluation, Registration, containers, evaluate, settings_for

pytestmark = pytest.mark.unit

START_FIRST = {"connextcms", "listing-manager"}


def names(evaluation: Evaluation) -> dict[str, str]:
    return {service: container.plain("name") for service, container in containers(evaluation).items()}


def image(container: Registration) -> str:
    return container.plain("image")


def test_exactly_the_stateless_services_start_first() -> None:
    catalog = build_catalog(stack_values(settings_for("dev")))
    assert {spec.name for spec in catalog if spec.rollout is Rollout.START_FIRST} == START_FIRST


def test_stateless_containers_are_created_beside_the_old_one_under_a_name_of_their_own(dev: Evaluation) -> None:
    for service in START_FIRST:
        container = containers(dev)[service]
        assert re.fullmatch(rf"p2pvps-{service}-[0-9a-f]{{12}}", container.plain("name")), service
        assert container.delete_before_replace is False, service
        assert container.delete_before_replace_defined, f"{service}: else the provider's delete-first default holds"


def test_stateful_and_port_publishing_containers_stop_first_under_their_fixed_name(dev: Evaluation) -> None:
    stop_first = {service: c for service, c in containers(dev).items() if service not in START_FIRST}
    assert {"mongodb", "openbazaar", "ssh-server", "nginx", "certbot", "backup", "localtunnel"} == set(stop_first)
    for service, container in stop_first.items():
        assert container.plain("name") == f"p2pvps-{service}", service
        assert container.delete_before_replace is True, service


def test_every_container_answers_to_its_service_name_and_nginx_asks_for_it_every_few_seconds(
    dev: Evaluation,
) -> None:
    for service, container in containers(dev).items():
        (network,) = container.plain("networksAdvanced")
        assert network["aliases"] == [service], service
    nginx = containers(dev)["nginx"]
    config = nginx.plain("uploads")[0]["content"]
    assert "resolver 127.0.0.11 valid=5s ipv6=off;" in config
    assert "set $cms_upstream http://connextcms:3000;\n        proxy_pass $cms_upstream;" in config
    assert "set $localtunnel_upstream http://localtunnel:3002;\n        proxy_pass $localtunnel_upstream;" in config


def test_a_new_image_renames_its_own_container_only(monkeypatch: pytest.MonkeyPatch) -> None:
    before = evaluate("dev")

    def changed(name: str, service_dir: Path) -> str:
        tag = image_tag(name, service_dir)
        return f"{tag}-changed" if name == "connextcms" else tag

    monkeypatch.setattr(docker_service, "image_tag", changed)
    after = evaluate("dev")
    assert image(containers(after)["connextcms"]) != image(containers(before)["connextcms"])
    renamed = {service for service in START_FIRST if names(after)[service] != names(before)[service]}
    assert renamed == {"connextcms"}


def test_any_change_that_replaces_a_stateless_container_renames_it(dev: Evaluation) -> None:
    """Not only the image: a container with a new environment is a new container too, and needs a free name."""
    after = evaluate("dev", overrides={"adminEmail": "someone-else@example.com"})
    assert image(containers(after)["connextcms"]) == image(containers(dev)["connextcms"])
    assert names(after)["connextcms"] != names(dev)["connextcms"]
    assert names(after)["listing-manager"] == names(dev)["listing-manager"]


def test_a_service_that_publishes_a_port_cannot_start_first() -> None:
    with pytest.raises(ValueError, match="must stop first"):
        ServiceSpec(
            "web",
            "publishes 443",
            Healthcheck(("true",)),
            Limits(memory_mb=64, pids=16),
            image="example:1",
            ports=(single_port("HTTPS", 443, Exposure.PUBLIC),),
            rollout=Rollout.START_FIRST,
        )


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_every_container_gets_time_to_shut_down_cleanly(stack: str) -> None:
    """Removed or stopped, a container gets SIGTERM and 10 s or more before it is killed (MongoDB closes its
    journal, OpenBazaar and the backup their databases); the provider would otherwise kill it at once."""
    for service, container in containers(evaluate(stack)).items():
        assert container.plain().get("destroyGraceSeconds", 0) >= 10, service
        assert container.plain().get("stopTimeout", 0) >= 10, service
