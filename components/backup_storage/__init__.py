"""Where a stack's backups go: a restic repository, its password, and a key that reaches only it.

Each cloud's module creates private object storage and a scoped key (`Cloud.backup_storage`); the
local stack keeps its repository in a directory on this machine; `p2pvps:backupRepository` names
an existing S3 repository instead. The backup service gets all of it as secret Outputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import pulumi
import pulumi_random as random

from components.catalog.backup import LOCAL_REPOSITORY, REPOSITORY_PREFIX, RESTORE_PREFIX
from components.secret_values import generated_secret

if TYPE_CHECKING:
    from components.settings import RepositoryAccess, ServerSettings, Settings

# Random hex after a bucket's name: bucket names are global (AWS) or per region (Spaces), across accounts.
BUCKET_SUFFIX_BYTES = 4


@dataclass(frozen=True)
class Repository:
    """A restic repository as the backup service reaches it; every value a secret Output."""

    url: pulumi.Output[str]
    password: pulumi.Output[str]
    access_key_id: pulumi.Output[str] | None = None
    secret_access_key: pulumi.Output[str] | None = None

    @classmethod
    def from_access(cls, access: RepositoryAccess, password: pulumi.Output[str]) -> Repository:
        """An existing repository named in the settings, opened with `password`."""
        return cls(
            url=pulumi.Output.secret(access.url),
            password=password,
            access_key_id=access.access_key_id,
            secret_access_key=access.secret_access_key,
        )

    def named(self, url: str, password: str, key_id: str, secret_key: str) -> dict[str, pulumi.Output[str]]:
        """Its values as secret Outputs under these names; the key pair only where the repository has one."""
        values = {url: self.url, password: self.password}
        if self.access_key_id is not None and self.secret_access_key is not None:
            values |= {key_id: self.access_key_id, secret_key: self.secret_access_key}
        return {name: pulumi.Output.secret(value) for name, value in values.items()}

    def secrets(self, prefix: str = REPOSITORY_PREFIX) -> dict[str, pulumi.Output[str]]:
        """The values of the catalog's `<prefix>_*` secrets (see catalog.backup)."""
        return self.named(
            *(f"{prefix}_{what}" for what in ("REPOSITORY", "PASSWORD", "ACCESS_KEY_ID", "SECRET_ACCESS_KEY"))
        )


class BackupStorage(Protocol):
    """A cloud's private object storage for one stack's backups, with a key limited to it."""

    def __call__(
        self, name: str, settings: Settings, server: ServerSettings, opts: pulumi.ResourceOptions
    ) -> Repository: ...


def bucket_name(name: str, settings: Settings, parent: pulumi.Resource) -> pulumi.Output[str]:
    """`p2pvps-<stack>-backup-<8 hex digits>`: the stack's bucket, a name nobody else has taken."""
    suffix = random.RandomId(
        f"{name}-suffix", byte_length=BUCKET_SUFFIX_BYTES, opts=pulumi.ResourceOptions(parent=parent)
    )
    return pulumi.Output.concat(settings.resource_prefix, "-backup-", suffix.hex)


def s3_url(endpoint: pulumi.Input[str], bucket: pulumi.Input[str], stack: str) -> pulumi.Output[str]:
    """restic's name of an S3 repository: the stack's own path in the bucket."""
    return pulumi.Output.concat("s3:https://", endpoint, "/", bucket, "/", stack)


def s3_repository(
    name: str,
    parent: pulumi.Resource,
    *,
    url: pulumi.Output[str],
    access_key_id: pulumi.Input[str],
    secret_access_key: pulumi.Input[str],
) -> Repository:
    """A repository the program made, with a new restic password and the key the cloud made for it."""
    return Repository(
        url=url,
        password=generated_secret(f"{name}-password", parent),
        access_key_id=pulumi.Output.secret(access_key_id),
        secret_access_key=pulumi.Output.secret(secret_access_key),
    )


def configured(name: str, access: RepositoryAccess, parent: pulumi.Resource) -> Repository:
    """`p2pvps:backupRepository`: its password if one is set (it holds a repository already), else a new one."""
    assert access.access_key_id is not None and access.secret_access_key is not None
    password = access.password if access.password is not None else generated_secret(f"{name}-password", parent)
    return Repository.from_access(access, password)


def local_directory(name: str, parent: pulumi.Resource) -> Repository:
    """The local stack's repository: the `backup-repository` directory next to its data."""
    return Repository(
        url=pulumi.Output.secret(LOCAL_REPOSITORY.target), password=generated_secret(f"{name}-password", parent)
    )


def restore_secrets(access: RepositoryAccess) -> dict[str, pulumi.Output[str]]:
    """The values of the restore steps' `RESTORE_*` secrets, from `p2pvps:restoreFrom` and its secrets."""
    assert access.password is not None
    return Repository.from_access(access, access.password).secrets(RESTORE_PREFIX)
