"""bootstrap/, the state-bucket program, run with each of its stack files under Pulumi's mock runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime import mocks

from harness import Evaluation, is_secret, run_pulumi_program, unwrap

BOOTSTRAP_DIR = Path(__file__).resolve().parent.parent / "bootstrap"
PROJECT = "p2pvps-state"
SECRET = "SENTINEL-STATE-SECRET"
ALLOWED_KEY_ACTIONS = {"s3:ListBucket", "s3:GetBucketLocation", "s3:GetObject", "s3:PutObject", "s3:DeleteObject"}

# Importing pulumi_aws warns about its own deprecated classes.
pytestmark = [pytest.mark.unit, pytest.mark.filterwarnings("ignore::DeprecationWarning:pulumi_aws.*")]


class StorageCloud(mocks.Mocks):
    """Echoes inputs as outputs, plus the few outputs a cloud computes for a bucket and its keys."""

    def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str, dict[str, Any]]:
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


def run_bootstrap(stack: str, **changes: str) -> Evaluation:
    """Run bootstrap/__main__.py with the stack file's config (and `changes` to its keys)."""
    evaluation = run_pulumi_program(
        BOOTSTRAP_DIR / "__main__.py",
        project=PROJECT,
        stack=stack,
        config=stack_config(stack) | {f"{PROJECT}:{key}": value for key, value in changes.items()},
        secret_keys=[],
        mock=StorageCloud(),
    )
    if evaluation.error is not None:
        raise evaluation.error
    return evaluation


@pytest.fixture(scope="module")
def spaces() -> Evaluation:
    return run_bootstrap("spaces")


@pytest.fixture(scope="module")
def s3() -> Evaluation:
    return run_bootstrap("s3")


def test_the_example_stacks_cover_every_cloud() -> None:
    stacks = [path.stem.removeprefix("Pulumi.") for path in BOOTSTRAP_DIR.glob("Pulumi.*.yaml")]
    assert sorted(stack_config(stack)[f"{PROJECT}:cloud"] for stack in stacks) == ["aws", "digitalocean"]


@pytest.mark.parametrize("stack", ["spaces", "s3"])
def test_exports_a_tls_backend_url_and_a_secret_key(stack: str, request: pytest.FixtureRequest) -> None:
    run: Evaluation = request.getfixturevalue(stack)
    bucket = stack_config(stack)[f"{PROJECT}:bucketName"]
    url = run.exports["backendUrl"]
    assert url.startswith(f"s3://{bucket}/p2pvps?")
    assert "disableSSL" not in url
    assert is_secret(run.exports["secretAccessKey"])
    assert unwrap(run.exports["secretAccessKey"]) == SECRET


def test_spaces_url_names_the_regional_endpoint(spaces: Evaluation) -> None:
    assert spaces.exports["backendUrl"] == (
        "s3://p2pvps-pulumi-state/p2pvps?endpoint=ams3.digitaloceanspaces.com&s3ForcePathStyle=true&region=us-east-1"
    )


def test_spaces_bucket_is_private_and_versioned(spaces: Evaluation) -> None:
    bucket = spaces.one("digitalocean:index/spacesBucket:SpacesBucket")
    assert bucket.plain()["name"] == "p2pvps-pulumi-state"
    assert bucket.plain()["region"] == "ams3"
    assert bucket.plain()["acl"] == "private"
    assert bucket.plain()["versioning"] == {"enabled": True}


def test_spaces_key_can_reach_the_state_bucket_only(spaces: Evaluation) -> None:
    key = spaces.one("digitalocean:index/spacesKey:SpacesKey")
    assert key.plain()["grants"] == [{"bucket": "p2pvps-pulumi-state", "permission": "readwrite"}]


def test_s3_bucket_is_versioned_encrypted_and_not_public(s3: Evaluation) -> None:
    bucket = s3.one("aws:s3/bucket:Bucket").plain()["bucket"]
    versioning = s3.one("aws:s3/bucketVersioning:BucketVersioning").plain()
    assert (versioning["bucket"], versioning["versioningConfiguration"]["status"]) == (bucket, "Enabled")
    block = s3.one("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock").plain()
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert block["bucket"] == bucket
    assert all(block[flag] is True for flag in flags)
    encryption = s3.one("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption.plain()["bucket"] == bucket
    assert encryption.plain()["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"


def test_s3_bucket_refuses_requests_without_tls(s3: Evaluation) -> None:
    policy = json.loads(s3.one("aws:s3/bucketPolicy:BucketPolicy").plain()["policy"])
    [statement] = policy["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_s3_key_belongs_to_a_user_limited_to_the_bucket(s3: Evaluation) -> None:
    arn = "arn:aws:s3:::p2pvps-pulumi-state"
    user = s3.one("aws:iam/user:User").plain()["name"]
    assert s3.one("aws:iam/accessKey:AccessKey").plain()["user"] == user
    user_policy = s3.one("aws:iam/userPolicy:UserPolicy").plain()
    assert user_policy["user"] == user
    statements = json.loads(user_policy["policy"])["Statement"]
    assert {statement["Effect"] for statement in statements} == {"Allow"}
    assert {statement["Resource"] for statement in statements} == {arn, f"{arn}/*"}
    assert {action for statement in statements for action in statement["Action"]} <= ALLOWED_KEY_ACTIONS


def test_an_unknown_cloud_is_refused() -> None:
    with pytest.raises(pulumi.RunError, match="p2pvps-state:cloud: 'gcp' is not one of aws, digitalocean"):
        run_bootstrap("spaces", cloud="gcp")
