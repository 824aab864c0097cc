"""Facts of the running stack that the hosts, the Docker stack and the compose file share: where
state and logs live, the stack's network and volume names, and how Docker keeps container logs."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

# Docker's own container logs: the compact local driver, rotated; the server's daemon defaults too.
LOG_DRIVER = "local"
LOG_OPTIONS = {"max-file": "5", "max-size": "10m"}
NETWORK_NAME = "p2pvps"
# How long a container gets after SIGTERM before it is killed, on removal and on `docker stop`: MongoDB
# checkpoints and closes its journal, OpenBazaar and the backup close their databases. The Docker
# provider kills a container it removes at once unless it is given this.
STOP_GRACE_SECONDS = 30
# A server's data volume is mounted here; every service's state is a directory in it.
SERVER_DATA_DIR = "/srv/p2pvps"


class Privilege(Enum):
    """How a script on the host gets the right to give a directory to a container's user."""

    SUDO = "sudo"
    """A server's admin account, with passwordless sudo; anything it cannot do fails."""
    ROOT = "root"
    """Run as root (the compose host); anything it cannot do fails."""
    BEST_EFFORT = "best-effort"
    """Your own machine, maybe rootless Docker: where ownership cannot be given, the directory is
    made world-writable with the sticky bit instead."""


def volume_name(name: str) -> str:
    """The Docker volume of the data directory `name`."""
    return f"p2pvps_{name}"


@dataclass(frozen=True)
class HostDirs:
    """Where state and logs live on the host."""

    data_dir: str
    log_root: str

    def data(self, volume: str) -> str:
        return f"{self.data_dir}/{volume}"

    def logs(self, service: str) -> str:
        return f"{self.log_root}/{service}"


def log_tree(home: str) -> tuple[str, str]:
    """`~/.p2pvps` and `~/.p2pvps/logs` of the account whose home is `home` (the original system's log tree)."""
    base = f"{home}/.p2pvps"
    return base, f"{base}/logs"


def server_dirs(admin_user: str) -> HostDirs:
    return HostDirs(data_dir=SERVER_DATA_DIR, log_root=log_tree(f"/home/{admin_user}")[1])


def local_dirs() -> HostDirs:
    """Your own machine: state in ~/.p2pvps/data, logs in ~/.p2pvps/logs."""
    base, logs = log_tree(str(Path.home()))
    return HostDirs(data_dir=f"{base}/data", log_root=logs)
