"""The backup part of the settings: schedule, retention, an existing repository, a repository to restore from."""

from __future__ import annotations

from collections.abc import Mapping

import pulumi

from components.settings.model import NAMESPACE, BackupSettings, RepositoryAccess
from components.settings.reader import Reader
from components.settings.validators import (
    backup_interval_error,
    interval_hours,
    retention_error,
    retention_policy,
    s3_url_error,
)


def backup_settings(read: Reader, secrets: Mapping[str, str], *, on_a_cloud: bool) -> BackupSettings | None:
    """Backups: on by default on a cloud, and on the local stack when it is given a repository."""
    schedule = read.check("backupSchedule", read.text("backupSchedule"), backup_interval_error)
    retention = read.check("backupRetention", read.text("backupRetention"), retention_error)
    repository = repository_access(read, secrets, "backupRepository", "backup", password_required=False)
    restore_from = repository_access(read, secrets, "restoreFrom", "restore", password_required=True)
    enabled = read.boolean("backup", default=on_a_cloud or repository is not None)
    if restore_from is not None and enabled is False:
        read.problems.add(
            "restoreFrom",
            f"needs backups on (the restore runs in the backup service's image): "
            f"`pulumi config set {NAMESPACE}:backup true`",
        )
    if schedule is None or retention is None or enabled is None:
        return None
    return BackupSettings(
        enabled=enabled,
        interval_hours=interval_hours(schedule),
        retention=retention_policy(retention),
        repository=repository,
        restore_from=restore_from,
    )


def repository_access(
    read: Reader, secrets: Mapping[str, str], url_key: str, prefix: str, *, password_required: bool
) -> RepositoryAccess | None:
    """An existing S3 repository named by `url_key`, with its `<prefix>AccessKeyId`, `<prefix>SecretAccessKey`
    and `<prefix>Password` secrets, which are used only with the URL."""
    # Stripped: a value piped into `pulumi config set` (as `make recover` does) may end in a newline.
    given = {
        what: (secrets.get(f"{prefix}{what}") or "").strip() for what in ("AccessKeyId", "SecretAccessKey", "Password")
    }
    url = read.check(url_key, read.text(url_key, required=False), s3_url_error)
    if url is None:
        return None
    required = {"AccessKeyId": "its access key id", "SecretAccessKey": "its secret access key"}
    if password_required:
        required["Password"] = "its restic password"
    for what, meaning in required.items():
        if not given[what]:
            key = f"{NAMESPACE}:{prefix}{what}"
            how = f"`pulumi config set --secret {key} <value>`"
            read.problems.add(f"{prefix}{what}", f"missing; {NAMESPACE}:{url_key} needs {meaning}: {how}")

    def secret(what: str) -> pulumi.Output[str] | None:
        return pulumi.Output.secret(given[what]) if given[what] else None

    return RepositoryAccess(
        url=url,
        password=secret("Password"),
        access_key_id=secret("AccessKeyId"),
        secret_access_key=secret("SecretAccessKey"),
    )
