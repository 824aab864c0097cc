"""Backup: restic snapshots of every data volume and a MongoDB dump, on a schedule, into the stack's
repository; and the one-shot runs of the same image that restore a new stack before its services start.

The image (compose/backup, README.md there) runs its `p2pvps-backup` script as its entrypoint, so a
container's command is the script's command (`run`, `restore-files-once`, ...). The repository,
password and key come in restic's own variables; each backed-up volume is mounted at
/backup/data/<volume>, read-only for the scheduled service. It runs as root with only the
capabilities it needs: reading everything for a backup, writing owners back for a restore.
"""

from __future__ import annotations

from dataclasses import replace

from components.catalog import mongodb
from components.catalog.certbot import ACME_WEBROOT
from components.catalog.model import (
    BackupValues,
    DataVolume,
    EnvValue,
    Healthcheck,
    Limits,
    Secret,
    SecretSource,
    ServiceSpec,
)

NAME = "backup"
COMMAND = "p2pvps-backup"
DATA_DIR = "/backup/data"
STATE = DataVolume("backup", "/backup/state", mode="0700")
"""The service's own state: the last-success marker, a restore's pending dump."""
LOCAL_REPOSITORY = DataVolume("backup-repository", "/backup/repository", mode="0700")
"""The repository of a local stack that has no S3 repository: a directory on this machine."""
NOT_COPIED = frozenset({mongodb.NAME, ACME_WEBROOT.name})
"""MongoDB is dumped, never copied live; the ACME webroot holds only transient challenge files."""
UNUSED_IMAGE_VOLUMES = ("/data/db", "/data/configdb")
"""The volumes the mongo base image declares; in memory, so no anonymous volume is left per container."""
READS_EVERYTHING = ("DAC_OVERRIDE",)
"""Root that may read every file and list every directory of the read-only volumes. Not DAC_READ_SEARCH:
that one also permits open_by_handle_at(2), which opens any file of the file system that holds a mounted
volume (the "Shocker" escape); DAC_OVERRIDE's write bypass meets only read-only volumes and its own state."""
WRITES_OWNERS_BACK = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID")
"""Root that may write into every volume and give files back their owners and modes."""
# restic holds the repository index and a pack in memory; mongodump streams. 384 MB keeps every
# ceiling of the stack inside the 2 GB server plus its 2 GB swap.
LIMITS = Limits(memory_mb=384, pids=64)


def _repository_env(prefix: str, *, s3: bool) -> tuple[tuple[str, EnvValue], ...]:
    """restic's own variables, each from the secret `<prefix>_<what>`; an S3 repository also needs its key.
    Not required of a compose stack: there they are set only where the backup profile runs."""

    def secret(what: str) -> Secret:
        return Secret(f"{prefix}_{what}", SecretSource.REPOSITORY, required=False)

    env: tuple[tuple[str, EnvValue], ...] = (
        ("RESTIC_REPOSITORY", secret("REPOSITORY")),
        ("RESTIC_PASSWORD", secret("PASSWORD")),
    )
    if s3:
        env += (
            ("AWS_ACCESS_KEY_ID", secret("ACCESS_KEY_ID")),
            ("AWS_SECRET_ACCESS_KEY", secret("SECRET_ACCESS_KEY")),
        )
    return env


REPOSITORY_PREFIX = "BACKUP"
RESTORE_PREFIX = "RESTORE"
MONGO_ENV: tuple[tuple[str, EnvValue], ...] = (
    ("MONGO_HOST", mongodb.NAME),
    ("MONGO_PORT", str(mongodb.PORT)),
    ("MONGO_APP_DB", mongodb.APP_DB),
    ("MONGO_APP_USER", mongodb.APP_USER),
    ("MONGO_APP_PASSWORD", mongodb.APP_PASSWORD),
)


def backed_up(others: tuple[ServiceSpec, ...], *, read_only: bool) -> tuple[DataVolume, ...]:
    """Every data volume of the other services that is copied, each once, at /backup/data/<name>."""
    seen = {volume.name: volume for service in others for volume in service.volumes if volume.name not in NOT_COPIED}
    return tuple(
        replace(volume, target=f"{DATA_DIR}/{volume.name}", read_only=read_only)
        for volume in sorted(seen.values(), key=lambda volume: volume.name)
    )


def service(values: BackupValues, others: tuple[ServiceSpec, ...]) -> ServiceSpec:
    local = () if values.s3 else (LOCAL_REPOSITORY,)
    return ServiceSpec(
        NAME,
        "Encrypted restic backups of every data volume and a MongoDB dump; unhealthy when a backup is overdue",
        limits=LIMITS,
        build=NAME,
        command=("run",),
        healthcheck=Healthcheck((COMMAND, "health"), interval_s=300, start_period_s=600),
        volumes=(*backed_up(others, read_only=True), STATE, *local),
        env=(
            *_repository_env(REPOSITORY_PREFIX, s3=values.s3),
            ("BACKUP_INTERVAL_HOURS", values.interval_hours),
            ("BACKUP_KEEP_DAILY", values.keep_daily),
            ("BACKUP_KEEP_WEEKLY", values.keep_weekly),
            ("BACKUP_KEEP_MONTHLY", values.keep_monthly),
            *MONGO_ENV,
        ),
        depends_on=(mongodb.NAME,),
        capabilities=READS_EVERYTHING,
        tmpfs=UNUSED_IMAGE_VOLUMES,
    )


def restore_steps(backup: ServiceSpec, others: tuple[ServiceSpec, ...]) -> tuple[ServiceSpec, ...]:
    """The one-shot runs that restore a new stack from `restoreFrom`: the files into the empty volumes
    before any container starts (no `depends_on`), then the dump once MongoDB is healthy and before
    anything that depends on MongoDB starts."""
    env = (*_repository_env(RESTORE_PREFIX, s3=True), *MONGO_ENV)
    files = replace(
        backup,
        name="restore-files",
        purpose="Restores the latest snapshot's files into the new stack's empty volumes, once",
        command=("restore-files-once",),
        volumes=(*backed_up(others, read_only=False), STATE),
        env=env,
        depends_on=(),
        capabilities=WRITES_OWNERS_BACK,
    )
    dump = replace(
        files,
        name="restore-dump",
        purpose="Restores the snapshot's MongoDB dump into the new database, once",
        command=("restore-dump-once",),
        volumes=(STATE,),
        depends_on=(mongodb.NAME,),
    )
    return files, dump
