"""`imageRegistry` under Pulumi's mocks: the project's images are pulled by the tag CI pushes them with, nothing
is built on the host, the registry login is secret, the pinned upstream images stay as they are; without the
setting nothing changes. And the settings' messages."""

from __future__ import annotations

import json
import subprocess
import sys

import pulumi
import pytest

from components.image_tags import project_images, tag_lines
from harness import PROJECT_DIR, SENTINEL, Evaluation, containers, evaluate, is_secret, sentinel_secrets, settings_for

pytestmark = pytest.mark.unit

REGISTRY = "ghcr.io/example-owner/p2pvps"
PROVIDER = "pulumi:providers:docker"
BUILD = "docker:index/image:Image"
PULL = "docker:index/remoteImage:RemoteImage"
STACKS = ("dev", "local")
CREDENTIALS = ("imageRegistryUsername", "imageRegistryPassword")


@pytest.fixture(scope="module", params=STACKS)
def stack(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="module")
def built(stack: str) -> Evaluation:
    return evaluate(stack)


@pytest.fixture(scope="module")
def prebuilt(stack: str) -> Evaluation:
    return evaluate(stack, overrides={"imageRegistry": REGISTRY})


def pulled(evaluation: Evaluation) -> set[str]:
    return {image.plain("name") for image in evaluation.of_type(PULL)}


def expected_pulls() -> set[str]:
    """`<registry>/<service>:<tag>` for each line `python -m components.image_tags` prints, as CI pushes them."""
    printed = subprocess.run(
        [sys.executable, "-m", "components.image_tags"], cwd=PROJECT_DIR, capture_output=True, text=True, check=True
    ).stdout
    assert printed.splitlines() == tag_lines()
    return {f"{REGISTRY}/{service}:{tag}" for service, tag, _ in (line.split() for line in printed.splitlines())}


def test_ci_pushes_every_image_the_project_builds_from_its_own_dockerfile() -> None:
    lines = [line.split() for line in tag_lines()]
    assert {service for service, _, _ in lines} == set(project_images())
    assert {"nginx", "connextcms", "openbazaar", "listing-manager", "ssh-server", "localtunnel", "backup"} <= {
        service for service, _, _ in lines
    }
    for service, tag, dockerfile in lines:
        assert dockerfile == f"compose/{service}/Dockerfile"
        assert len(tag) == 12 and int(tag, 16) >= 0


def test_with_a_registry_nothing_is_built_on_the_host(prebuilt: Evaluation) -> None:
    assert prebuilt.of_type(BUILD) == []


def test_every_project_image_is_pulled_by_the_tag_ci_pushes(built: Evaluation, prebuilt: Evaluation) -> None:
    project_pulls = pulled(prebuilt) - pulled(built)
    assert project_pulls == {
        name for name in expected_pulls() if name.split("/")[-1].split(":")[0] in containers(built)
    }
    local_tags = {image.plain("imageName").removeprefix("p2pvps/") for image in built.of_type(BUILD)}
    assert {name.removeprefix(f"{REGISTRY}/") for name in project_pulls} == local_tags, "the same tag either way"
    for image in prebuilt.of_type(PULL):
        assert image.plain("keepLocally") is True


def test_each_container_runs_the_image_pulled_for_it(prebuilt: Evaluation) -> None:
    images = {image.urn.rsplit("::", 1)[1]: image for image in prebuilt.of_type(PULL)}
    for service, container in containers(prebuilt).items():
        image = images[f"p2pvps-stack-{service}-image"]
        assert container.plain("image") == f"sha256:{image.name}", service
        if service in project_images():
            assert image.plain("name").startswith(f"{REGISTRY}/{service}:"), service


def test_pinned_upstream_images_are_unchanged(built: Evaluation, prebuilt: Evaluation) -> None:
    assert pulled(built) <= pulled(prebuilt)
    assert not any(name.startswith(REGISTRY) for name in pulled(built))


def test_the_registry_login_is_secret_in_the_provider(prebuilt: Evaluation) -> None:
    """A provider's configuration reaches the engine as JSON strings; the login must be wrapped as a secret."""
    provider = prebuilt.one(PROVIDER)
    assert is_secret(provider.inputs["registryAuth"])
    assert json.loads(provider.plain("registryAuth")) == [
        {
            "address": "ghcr.io",
            "username": f"{SENTINEL}imageRegistryUsername",
            "password": f"{SENTINEL}imageRegistryPassword",
        }
    ]
    shown = {key: value for key, value in provider.inputs.items() if not is_secret(value)}
    assert SENTINEL not in str(shown)


def test_public_images_are_pulled_without_a_login(stack: str) -> None:
    secrets = {key: value for key, value in sentinel_secrets().items() if key not in CREDENTIALS}
    anonymous = evaluate(stack, overrides={"imageRegistry": REGISTRY}, secrets=secrets)
    assert "registryAuth" not in anonymous.one(PROVIDER).inputs
    assert anonymous.of_type(BUILD) == []


def test_without_a_registry_the_images_are_built_and_the_provider_logs_in_nowhere(built: Evaluation) -> None:
    assert {image.plain("imageName").split(":")[0] for image in built.of_type(BUILD)} == {
        f"p2pvps/{service}" for service in project_images() if service in containers(built)
    }
    assert "registryAuth" not in built.one(PROVIDER).inputs
    assert settings_for("dev").image_registry is None, "credentials alone configure nothing"


@pytest.mark.parametrize(
    "value",
    [
        "https://ghcr.io/example-owner/p2pvps",
        "ghcr.io",
        "ghcr.io/Example-Owner/p2pvps",
        "ghcr.io/example-owner/p2pvps:latest",
        "ghcr.io/example-owner/p2pvps/",
        "p2pvps/images",
    ],
)
def test_a_bad_registry_is_refused_with_an_example(value: str) -> None:
    with pytest.raises(pulumi.RunError) as raised:
        settings_for("dev", imageRegistry=value)
    message = str(raised.value)
    assert f'p2pvps:imageRegistry: "{value}" is not an image repository' in message
    assert "ghcr.io/<owner>/p2pvps or registry.digitalocean.com/<registry>" in message


@pytest.mark.parametrize(
    ("value", "address"),
    [
        ("ghcr.io/example-owner/p2pvps", "ghcr.io"),
        ("registry.digitalocean.com/p2pvps", "registry.digitalocean.com"),
        ("localhost:5000/p2pvps", "localhost:5000"),
    ],
)
def test_a_registry_is_accepted_with_its_login_address(value: str, address: str) -> None:
    registry = settings_for("dev", imageRegistry=value).image_registry
    assert registry is not None and (registry.repository, registry.address) == (value, address)


@pytest.mark.parametrize("given", CREDENTIALS)
def test_half_a_login_is_refused_saying_what_to_set(given: str) -> None:
    secrets = {key: value for key, value in sentinel_secrets().items() if key not in CREDENTIALS}
    missing = next(key for key in CREDENTIALS if key != given)
    with pytest.raises(pulumi.RunError) as raised:
        settings_for("dev", secrets=secrets | {given: "value"}, imageRegistry=REGISTRY)
    message = str(raised.value)
    assert f"p2pvps:{missing}: missing; p2pvps:{given} is set" in message
    assert f"`pulumi config set --secret p2pvps:{missing} <value>`" in message
