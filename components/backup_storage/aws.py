"""AWS: the stack's backups in a private S3 bucket (versioned, public access blocked, encrypted, owner-enforced)
and an IAM user whose one policy reaches only that bucket."""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components.backup_storage import Repository, bucket_name, s3_repository, s3_url
from components.clouds.aws_provider import stack_provider
from components.settings import ServerSettings, Settings

# A snapshot restic prunes stays recoverable this long as a noncurrent version: a server that is
# taken over can delete the current objects, not these (its key has no s3:DeleteObjectVersion).
NONCURRENT_DAYS = 30
ABORT_UPLOADS_DAYS = 7


def backup_policy(bucket_arn: str) -> str:
    """Least privilege for restic: list the one bucket, read, write and delete its current objects; nothing else."""
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
        },
        sort_keys=True,
    )


def bucket_policy(bucket_arn: str) -> str:
    """Whoever asks, the bucket refuses every request that does not come over TLS, and every object written
    with a customer-provided key (SSE-C): a taken-over server could otherwise overwrite the backups with
    versions only its attacker can decrypt."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "TlsOnly",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [bucket_arn, f"{bucket_arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "NoCustomerKeys",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"{bucket_arn}/*",
                    "Condition": {"Null": {"s3:x-amz-server-side-encryption-customer-algorithm": "false"}},
                },
            ],
        },
        sort_keys=True,
    )


class AwsBackupStorage(pulumi.ComponentResource):
    """Creates: a provider for the stack's region; the bucket (protected, kept when the stack is
    destroyed) with versioning, a public access block, a policy refusing requests without TLS,
    default encryption, owner-enforced objects and a lifecycle for old versions; an IAM user, its
    policy on that bucket alone, and its access key."""

    def __init__(self, name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__("p2pvps:aws:BackupStorage", name, None, opts)
        provider = stack_provider(f"{name}-aws", settings, server, self)
        child = pulumi.ResourceOptions(parent=self, provider=provider)
        bucket = aws.s3.Bucket(
            f"{name}-bucket",
            bucket=bucket_name(name, settings, self),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(protect=True, retain_on_delete=True)),
        )
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access-block",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketPolicy(
            f"{name}-tls-only",
            bucket=bucket.id,
            policy=bucket.arn.apply(bucket_policy),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[public_access_block])),
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="AES256"
                    )
                )
            ],
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            rules=[
                aws.s3.BucketLifecycleConfigurationRuleArgs(
                    id="expire-pruned-versions",
                    status="Enabled",
                    filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                    noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                        noncurrent_days=NONCURRENT_DAYS
                    ),
                    abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                        days_after_initiation=ABORT_UPLOADS_DAYS
                    ),
                )
            ],
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[versioning])),
        )
        user = aws.iam.User(f"{name}-user", name=f"{settings.resource_prefix}-backup", path="/p2pvps/", opts=child)
        aws.iam.UserPolicy(f"{name}-policy", user=user.name, policy=bucket.arn.apply(backup_policy), opts=child)
        key = aws.iam.AccessKey(f"{name}-key", user=user.name, opts=child)
        self.repository = s3_repository(
            name,
            self,
            url=s3_url(f"s3.{server.region}.amazonaws.com", bucket.bucket, settings.stack),
            access_key_id=key.id,
            secret_access_key=key.secret,
        )
        self.register_outputs({"bucket": bucket.bucket})


def backup_storage(name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> Repository:
    return AwsBackupStorage(name, settings, server, opts).repository
