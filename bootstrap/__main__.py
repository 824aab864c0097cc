"""The bucket that holds the p2pvps stacks' state, and an access key that reaches that bucket only.

Run once by hand (docs/ci-and-state.md). The bucket is private, versioned (every state write can be
rolled back) and protected from `pulumi destroy`. Outputs: `backendUrl`, for `pulumi login` and the
CI secret PULUMI_BACKEND_URL, and the key `accessKeyId` / `secretAccessKey` (a secret), which CI
uses as AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import pulumi

STATE_PREFIX = "p2pvps"
"""Folder of the bucket that holds the state: the path of the backend URL."""


@dataclass(frozen=True)
class StateStore:
    backend_url: pulumi.Output[str]
    access_key_id: pulumi.Output[str]
    secret_access_key: pulumi.Output[str]


def spaces_store(bucket_name: str, region: str) -> StateStore:
    """A Spaces bucket and a Spaces key whose only grant is read-write on that bucket."""
    import pulumi_digitalocean as do  # noqa: PLC0415 - a cloud's SDK is loaded only when used

    bucket = do.SpacesBucket(
        "state",
        name=bucket_name,
        region=region,
        acl="private",
        versioning=do.SpacesBucketVersioningArgs(enabled=True),
        opts=pulumi.ResourceOptions(protect=True),
    )
    key = do.SpacesKey(
        "state",
        name=f"{bucket_name}-pulumi",
        grants=[do.SpacesKeyGrantArgs(bucket=bucket.name, permission="readwrite")],
    )
    # The endpoint picks the Spaces region; the S3 client still signs as us-east-1, as Spaces expects.
    query = f"endpoint={region}.digitaloceanspaces.com&s3ForcePathStyle=true&region=us-east-1"
    url = pulumi.Output.concat("s3://", bucket.name, f"/{STATE_PREFIX}?{query}")
    return StateStore(url, key.access_key, key.secret_key)


def s3_store(bucket_name: str, region: str) -> StateStore:
    """An S3 bucket (encrypted, no public access, TLS only) and an IAM user limited to it."""
    import pulumi_aws as aws  # noqa: PLC0415 - a cloud's SDK is loaded only when used

    bucket = aws.s3.Bucket("state", bucket=bucket_name, region=region, opts=pulumi.ResourceOptions(protect=True))
    aws.s3.BucketVersioning(
        "state",
        bucket=bucket.id,
        region=region,
        versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
    )
    aws.s3.BucketPublicAccessBlock(
        "state",
        bucket=bucket.id,
        region=region,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        "state",
        bucket=bucket.id,
        region=region,
        rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256"
                )
            )
        ],
    )
    aws.s3.BucketPolicy("state", bucket=bucket.id, region=region, policy=bucket.arn.apply(tls_only_policy))
    user = aws.iam.User("state", name=f"{bucket_name}-pulumi")
    aws.iam.UserPolicy("state", user=user.name, policy=bucket.arn.apply(state_access_policy))
    key = aws.iam.AccessKey("state", user=user.name)
    url = pulumi.Output.concat("s3://", bucket.bucket, f"/{STATE_PREFIX}?region={region}")
    return StateStore(url, key.id, key.secret)


def state_access_policy(bucket_arn: str) -> str:
    """IAM policy: list the bucket and read, write and delete its objects; nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": bucket_arn},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    "Resource": f"{bucket_arn}/*",
                },
            ],
        }
    )


def tls_only_policy(bucket_arn: str) -> str:
    """Bucket policy refusing every request that does not use TLS."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }
            ],
        }
    )


STORES: dict[str, Callable[[str, str], StateStore]] = {"digitalocean": spaces_store, "aws": s3_store}

config = pulumi.Config()
cloud = config.require("cloud")
if cloud not in STORES:
    raise pulumi.RunError(f"p2pvps-state:cloud: {cloud!r} is not one of {', '.join(sorted(STORES))}")
store = STORES[cloud](config.require("bucketName"), config.require("region"))
pulumi.export("backendUrl", store.backend_url)
pulumi.export("accessKeyId", store.access_key_id)
pulumi.export("secretAccessKey", pulumi.Output.secret(store.secret_access_key))
