"""DigitalOcean: the stack's backups in a private Spaces bucket in the Spaces region nearest the droplet,
and a Spaces access key whose one grant is read-write on that bucket."""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean

from components.backup_storage import Repository, bucket_name, s3_repository, s3_url
from components.settings import ServerSettings, Settings

# The droplet regions with Spaces, and for the others the nearest one that has it.
SPACES_REGIONS = frozenset({"nyc3", "ams3", "sfo2", "sfo3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"})
NEAREST_SPACES = {"nyc1": "nyc3", "nyc2": "nyc3", "ric1": "nyc3", "ams2": "ams3", "sfo1": "sfo3"}
NONCURRENT_DAYS = 30
ABORT_UPLOADS_DAYS = 7


def spaces_region(region: str) -> str:
    """The Spaces region of a droplet region: itself where Spaces exists, else the nearest one."""
    if region in SPACES_REGIONS:
        return region
    if region in NEAREST_SPACES:
        return NEAREST_SPACES[region]
    raise pulumi.RunError(
        f"no Spaces region is known near {region}; set p2pvps:backupRepository to an S3 repository elsewhere"
    )


class DigitalOceanBackupStorage(pulumi.ComponentResource):
    """Creates: the bucket (private, versioned, protected, kept when the stack is destroyed) and a
    Spaces key limited to it. Creating a bucket takes Spaces credentials of the account
    (SPACES_ACCESS_KEY_ID and SPACES_SECRET_ACCESS_KEY where `pulumi up` runs); the server only
    ever gets the limited key."""

    def __init__(self, name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__("p2pvps:digitalocean:BackupStorage", name, None, opts)
        region = spaces_region(server.region)
        bucket = digitalocean.SpacesBucket(
            f"{name}-bucket",
            name=bucket_name(name, settings, self),
            region=region,
            acl="private",
            versioning=digitalocean.SpacesBucketVersioningArgs(enabled=True),
            lifecycle_rules=[
                digitalocean.SpacesBucketLifecycleRuleArgs(
                    enabled=True,
                    noncurrent_version_expiration=digitalocean.SpacesBucketLifecycleRuleNoncurrentVersionExpirationArgs(
                        days=NONCURRENT_DAYS
                    ),
                    abort_incomplete_multipart_upload_days=ABORT_UPLOADS_DAYS,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        key = digitalocean.SpacesKey(
            f"{name}-key",
            name=f"{settings.resource_prefix}-backup",
            grants=[digitalocean.SpacesKeyGrantArgs(bucket=bucket.name, permission="readwrite")],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.repository = s3_repository(
            name,
            self,
            url=s3_url(f"{region}.digitaloceanspaces.com", bucket.name, settings.stack),
            access_key_id=key.access_key,
            secret_access_key=key.secret_key,
        )
        self.register_outputs({"bucket": bucket.name})


def backup_storage(name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> Repository:
    return DigitalOceanBackupStorage(name, settings, server, opts).repository
