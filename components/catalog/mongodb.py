"""MongoDB: ConnextCMS's database, authentication on, reachable on the stack network only."""

from __future__ import annotations

from components.catalog.model import (
    DataVolume,
    Exposure,
    Healthcheck,
    Limits,
    Secret,
    SecretSource,
    ServiceSpec,
    single_port,
    static_file,
)

NAME = "mongodb"
PORT = 27017
IMAGE = "mongo:4.4.29"
UID = 999
APP_DB = "connextcms"
APP_USER = "connextcms"
APP_PASSWORD = Secret("MONGO_APP_PASSWORD", SecretSource.GENERATED)


def service() -> ServiceSpec:
    return ServiceSpec(
        NAME,
        "MongoDB for ConnextCMS, authentication on",
        limits=Limits(memory_mb=768, pids=256),
        image=IMAGE,
        command=(
            "mongod",
            "--auth",
            "--bind_ip_all",
            "--quiet",
            # MongoDB 4.4 sizes its cache from the host's memory, not the container's limit under cgroup v2.
            "--wiredTigerCacheSizeGB",
            "0.25",
            "--logpath",
            "/var/log/p2pvps/mongod.log",
            "--logappend",
        ),
        healthcheck=Healthcheck(("mongo", "--quiet", "--eval", "quit(db.adminCommand('ping').ok ? 0 : 1)")),
        ports=(single_port("MongoDB", PORT, Exposure.INTERNAL),),
        volumes=(DataVolume("mongodb", "/data/db", owner_uid=UID),),
        log_owner_uid=UID,
        env=(
            ("MONGO_INITDB_ROOT_USERNAME", "root"),
            ("MONGO_INITDB_ROOT_PASSWORD", Secret("MONGO_ROOT_PASSWORD", SecretSource.GENERATED)),
            ("MONGO_APP_DB", APP_DB),
            ("MONGO_APP_USER", APP_USER),
            ("MONGO_APP_PASSWORD", APP_PASSWORD),
        ),
        files=(
            static_file("mongodb/initdb/10-create-app-user.sh", "/docker-entrypoint-initdb.d/10-create-app-user.sh"),
        ),
    )
