"""The host's configuration that may change after the first boot: admin keys, sshd hardening,
unattended upgrades with their reboot window, the Docker daemon's settings, the metadata guard, and
the data volume's filesystem grown to the volume's size.

Pure: plain values in, one idempotent shell script out (components/scripts/host-config.sh with every
file as a quoted here-document), applied over SSH by a command whose inputs show a change as a
readable diff, so a change never touches the machine's user data.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from components.host_files import (
    UNATTENDED_UPGRADES_PATH,
    docker_daemon_config,
    sshd_hardening,
    unattended_upgrades_config,
)
from components.metadata_guard import DOCKER_DROP_IN_PATH, GUARD_PATH, docker_drop_in, guard_script
from components.package_files import package_text

SSHD_DROP_IN_PATH = "/etc/ssh/sshd_config.d/10-p2pvps.conf"
END_OF_FILE = "P2PVPS_END_OF_FILE"


@dataclass(frozen=True)
class HostFile:
    """A file the host configuration writes, with its mode and owner (whose login group it gets)."""

    path: str
    mode: str
    content: str
    owner: str = "root"


@dataclass(frozen=True)
class HostConfigParams:
    """What the host configuration depends on; any change of it is applied in place."""

    admin_user: str
    admin_keys: tuple[str, ...]
    reboot_time: str | None
    data_device: str
    data_dir: str
    volume_size_gb: int

    @property
    def ssh_dir(self) -> str:
        return f"/home/{self.admin_user}/.ssh"


def host_files(params: HostConfigParams) -> tuple[HostFile, ...]:
    auto_upgrades = 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n'
    return (
        HostFile(
            f"{params.ssh_dir}/authorized_keys",
            "0600",
            "".join(f"{key}\n" for key in params.admin_keys),
            owner=params.admin_user,
        ),
        HostFile(SSHD_DROP_IN_PATH, "0644", sshd_hardening(params.admin_user)),
        HostFile("/etc/apt/apt.conf.d/20auto-upgrades", "0644", auto_upgrades),
        HostFile(UNATTENDED_UPGRADES_PATH, "0644", unattended_upgrades_config(params.reboot_time)),
        HostFile("/etc/docker/daemon.json", "0644", docker_daemon_config()),
        HostFile(GUARD_PATH, "0755", guard_script()),
        HostFile(DOCKER_DROP_IN_PATH, "0644", docker_drop_in()),
    )


def put(file: HostFile) -> str:
    if END_OF_FILE in file.content or not file.content.endswith("\n"):
        raise ValueError(f"{file.path}: content must end with a newline and not contain {END_OF_FILE}")
    return f"put {file.path} {file.mode} {file.owner} <<'{END_OF_FILE}'\n{file.content}{END_OF_FILE}\n"


def host_config_script(params: HostConfigParams) -> str:
    """The whole script, to run as root with `sh -s`."""
    return "".join(
        (
            package_text("scripts/host-config.sh"),
            f"directory {params.ssh_dir} 0700 {params.admin_user}\n",
            *(put(file) for file in host_files(params)),
            f"grow_data {params.data_device} {params.data_dir} {params.volume_size_gb}\n",
            "apply\n",
        )
    )


def fingerprint(script: str) -> str:
    return hashlib.sha256(script.encode()).hexdigest()
