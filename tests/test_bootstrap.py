"""bootstrap/, the state-bucket program, run with each of its stack files under Pulumi's mock runtime."""

from __future__ import annotations

import json
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "bootstrap"
PROJECT = "p2pvps-state"
SECRET = "SENTINEL-STATE-SECRET"
ALLOWED_KEY_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}

# Importing pulumi_aws warns about its own deprecated classes.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")


@dataclass
class Resource:
    type: str
    name: str
    inputs: dict[str, Any]


@dataclass
class Run:
    """What one run of the bootstrap program registered and exported."""

    resources: list[Resource]
    exports: dict[str, Any]
    secret_exports: set[str]

    def one(self, type_: str) -> Resource:
        found = [r for r in self.resources if r.type == type_]
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]


@dataclass
class RecordingMocks(mocks.Mocks):
    """Echoes inputs as outputs, plus the few outputs a cloud computes; records every resource."""

    resources: list[Resource] = field(default_factory=list)

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(Resource(args.typ, args.name, dict(args.inputs)))
        outputs = dict(args.inputs)
        resource_id = f"{args.name}-id"
        if args.typ == "aws:s3/bucket:Bucket":
            resource_id = args.inputs["bucket"]
            outputs["arn"] = f"arn:aws:s3:::{resource_id}"
        elif args.typ == "digitalocean:index/spacesKey:SpacesKey":
            outputs |= {"accessKey": "SPACES-ACCESS-KEY", "secretKey": SECRET}
        elif args.typ == "aws:iam/accessKey:AccessKey":
            outputs["secret"] = SECRET
        return resource_id, outputs

    def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


def stack_config(stack: str) -> dict[str, str]:
    with (BOOTSTRAP_DIR / f"Pulumi.{stack}.yaml").open() as handle:
        return {key: str(value) for key, value in yaml.safe_load(handle)["config"].items()}


def run_bootstrap(stack: str, **changes: str) -> Run:
    """Run bootstrap/__main__.py with the stack file's config (and `changes` to its keys)."""
    recorder = RecordingMocks()
    runtime_settings.ROOT.set(None)  # a fresh root stack resource, so exports never carry over
    pulumi.runtime.set_mocks(recorder, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(stack_config(stack) | {f"{PROJECT}:{key}": value for key, value in changes.items()})
    _sync_await(run_pulumi_func(lambda: runpy.run_path(str(BOOTSTRAP_DIR / "__main__.py"))))
    exported = runtime_settings.get_root_resource().outputs
    outputs = {name: pulumi.Output.from_input(value) for name, value in exported.items()}
    return Run(
        resources=recorder.resources,
        exports={name: _sync_await(output.future()) for name, output in outputs.items()},
        secret_exports={name for name, output in outputs.items() if _sync_await(output.is_secret())},
    )


@pytest.fixture(scope="module")
def spaces() -> Run:
    return run_bootstrap("spaces")


@pytest.fixture(scope="module")
def s3() -> Run:
    return run_bootstrap("s3")


def test_the_example_stacks_cover_every_cloud() -> None:
    stacks = [path.stem.removeprefix("Pulumi.") for path in BOOTSTRAP_DIR.glob("Pulumi.*.yaml")]
    assert sorted(stack_config(stack)[f"{PROJECT}:cloud"] for stack in stacks) == ["aws", "digitalocean"]


@pytest.mark.parametrize("stack", ["spaces", "s3"])
def test_exports_a_tls_backend_url_and_a_secret_key(stack: str, request: pytest.FixtureRequest) -> None:
    run: Run = request.getfixturevalue(stack)
    bucket = stack_config(stack)[f"{PROJECT}:bucketName"]
    url = run.exports["backendUrl"]
    assert url.startswith(f"s3://{bucket}/p2pvps?")
    assert "disableSSL" not in url
    assert run.exports["secretAccessKey"] == SECRET
    assert "secretAccessKey" in run.secret_exports


def test_spaces_url_names_the_regional_endpoint(spaces: Run) -> None:
    assert spaces.exports["backendUrl"] == (
        "s3://p2pvps-pulumi-state/p2pvps?endpoint=ams3.digitaloceanspaces.com&s3ForcePathStyle=true&region=us-east-1"
    )


def test_spaces_bucket_is_private_and_versioned(spaces: Run) -> None:
    bucket = spaces.one("digitalocean:index/spacesBucket:SpacesBucket")
    assert bucket.inputs["name"] == "p2pvps-pulumi-state"
    assert bucket.inputs["region"] == "ams3"
    assert bucket.inputs["acl"] == "private"
    assert bucket.inputs["versioning"] == {"enabled": True}


def test_spaces_key_can_reach_the_state_bucket_only(spaces: Run) -> None:
    key = spaces.one("digitalocean:index/spacesKey:SpacesKey")
    assert key.inputs["grants"] == [{"bucket": "p2pvps-pulumi-state", "permission": "readwrite"}]


def test_s3_bucket_is_versioned_encrypted_and_not_public(s3: Run) -> None:
    bucket = s3.one("aws:s3/bucket:Bucket").inputs["bucket"]
    versioning = s3.one("aws:s3/bucketVersioning:BucketVersioning").inputs
    assert (versioning["bucket"], versioning["versioningConfiguration"]["status"]) == (bucket, "Enabled")
    block = s3.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").inputs
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert block["bucket"] == bucket
    assert all(block[flag] is True for flag in flags)
    encryption = s3.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.inputs["bucket"] == bucket
    assert encryption.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_s3_bucket_refuses_requests_without_tls(s3: Run) -> None:
    policy = json.loads(s3.one("aws:s3/bucketPolicy:BucketPolicy").inputs["policy"])
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_s3_key_belongs_to_a_user_limited_to_the_bucket(s3: Run) -> None:
    arn = "arn:aws:s3:::p2pvps-pulumi-state"
    user = s3.one("aws:iam/user:User").inputs["name"]
    assert s3.one("aws:iam/accessKey:AccessKey").inputs["user"] == user
    user_policy = s3.one("aws:iam/userPolicy:UserPolicy").inputs
    assert user_policy["user"] == user
    statements = json.loads(user_policy["policy"])["Statement"]
    assert {statement["Effect"] for statement in statements} == {"Allow"}
    assert {statement["Resource"] for statement in statements} == {arn, f"{arn}/*"}
    assert {action for statement in statements for action in statement["Action"]} <= ALLOWED_KEY_ACTIONS


def test_an_unknown_cloud_is_refused() -> None:
    with pytest.raises(pulumi.RunError, match="p2pvps-state:cloud: 'gcp' is not one of aws, digitalocean"):
        run_bootstrap("spaces", cloud="gcp")
