"""Vultr: the stack's backups in an Object Storage subscription of its own, in the server's region.

Vultr's provider has no bucket-scoped keys: a subscription has one key pair, and it reaches every
bucket of that subscription and nothing else in the account. So each stack gets its own
subscription (Standard tier), and its key reaches only this stack's backups. restic creates the
bucket at its first `init`.
"""

from __future__ import annotations

import ediri_vultr as vultr
import pulumi

from components.backup_storage import Repository, bucket_name, s3_repository, s3_url
from components.settings import NAMESPACE, ServerSettings, Settings

# Vultr's tier slugs name the rate limits: Standard is 800 operations and 600 MiB a second.
STANDARD_TIER = "tier_008h_0600m"


class VultrBackupStorage(pulumi.ComponentResource):
    """Creates: the Object Storage subscription (protected, kept when the stack is destroyed) in the
    cluster of the server's region; the repository is a bucket of it."""

    def __init__(self, name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> None:
        super().__init__("p2pvps:vultr:BackupStorage", name, None, opts)
        invoke = pulumi.InvokeOptions(parent=self)
        cluster = vultr.get_object_storage_cluster_output(
            filters=[vultr.GetObjectStorageClusterFilterArgs(name="region", values=[server.region])], opts=invoke
        )
        tier = vultr.get_object_storage_tier_output(
            filters=[vultr.GetObjectStorageTierFilterArgs(name="slug", values=[STANDARD_TIER])], opts=invoke
        )
        storage = vultr.ObjectStorage(
            f"{name}-storage",
            cluster_id=cluster.id,
            tier_id=tier.id,
            label=f"{settings.resource_prefix}-backup",
            opts=pulumi.ResourceOptions(parent=self, protect=True, retain_on_delete=True),
        )
        self.repository = s3_repository(
            name,
            self,
            url=s3_url(storage.s3_hostname, bucket_name(name, settings, self), settings.stack),
            access_key_id=storage.s3_access_key,
            secret_access_key=storage.s3_secret_key,
        )
        self.register_outputs({"hostname": storage.s3_hostname})


EXPOSED = (
    "Backups on Vultr: the server's Object Storage key reaches every object of this stack's subscription, and "
    "the program can turn on no versioning or object lock there, so a server that is taken over can delete every "
    f"backup for good. Keep a copy out of its reach: set {NAMESPACE}:backupRepository to a versioned bucket in "
    "another account (README: Backups and restore)."
)


def backup_storage(name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions) -> Repository:
    storage = VultrBackupStorage(name, settings, server, opts)
    pulumi.log.warn(EXPOSED, resource=storage)
    return storage.repository
