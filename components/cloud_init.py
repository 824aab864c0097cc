"""Renders the #cloud-config document every cloud's server boots with.

Only what the first boot needs: the host key, the first admin account with its keys, swap, Docker
and the data volume. What may change later is the host configuration (components/host_config.py),
applied over SSH; the machine ignores later changes of its user data.

Pure: plain values in, YAML text out. The same inputs always give the same bytes.
"""

from __future__ import annotations

from dataclasses import dataclass

import yaml

from components.package_files import package_text
from components.runtime import log_tree

DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
DOCKER_PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
MOUNT_SCRIPT_PATH = "/usr/local/sbin/p2pvps-mount-data"
SWAP_BYTES = 2 * 1024**3

# Top-level keys this renderer may emit; cloud-init accepts unknown keys silently, so the tests
# check the document against this list.
KNOWN_TOP_LEVEL_KEYS = frozenset(
    {
        "hostname",
        "fqdn",
        "preserve_hostname",
        "groups",
        "users",
        "disable_root",
        "ssh_pwauth",
        "ssh_deletekeys",
        "ssh_genkeytypes",
        "ssh_keys",
        "swap",
        "apt",
        "package_update",
        "package_upgrade",
        "package_reboot_if_required",
        "packages",
        "write_files",
        "runcmd",
    }
)


@dataclass(frozen=True)
class CloudInitParams:
    """Everything the first boot needs to know about this server."""

    hostname: str
    admin_user: str
    admin_keys: tuple[str, ...]
    host_key_private: str
    host_key_public: str
    data_device: str
    data_dir: str

    @property
    def home(self) -> str:
        return f"/home/{self.admin_user}"


def mount_script() -> str:
    """The script that formats the data volume only when it is blank, then mounts it."""
    return package_text("scripts/mount-data.sh")


def log_dirs(params: CloudInitParams) -> tuple[str, ...]:
    """The admin's log tree; the stack's prepare step adds a directory per service, owned by its user."""
    return log_tree(params.home)


def render_cloud_config(params: CloudInitParams) -> str:
    """The complete user data document, starting with the `#cloud-config` header."""
    user = params.admin_user
    document = {
        "hostname": params.hostname,
        "preserve_hostname": False,
        "groups": ["docker"],
        "users": [
            {
                "name": user,
                "gecos": "P2P VPS admin",
                "groups": ["adm", "docker"],
                "shell": "/bin/bash",
                "sudo": "ALL=(ALL) NOPASSWD:ALL",
                "lock_passwd": True,
                "ssh_authorized_keys": list(params.admin_keys),
            }
        ],
        "disable_root": True,
        "ssh_pwauth": False,
        "ssh_deletekeys": True,
        "ssh_genkeytypes": ["ed25519"],
        "ssh_keys": {
            "ed25519_private": params.host_key_private,
            "ed25519_public": params.host_key_public.strip(),
        },
        "swap": {"filename": "/swapfile", "size": SWAP_BYTES, "maxsize": SWAP_BYTES},
        "apt": {
            "sources": {
                "docker.list": {
                    "source": "deb [signed-by=$KEY_FILE] https://download.docker.com/linux/ubuntu $RELEASE stable",
                    "keyid": DOCKER_APT_KEY_FINGERPRINT,
                }
            }
        },
        "package_update": True,
        "package_upgrade": True,
        "package_reboot_if_required": False,
        "packages": [*DOCKER_PACKAGES, "unattended-upgrades"],
        "write_files": [
            {
                "path": "/etc/systemd/system/docker.service.d/10-p2pvps-data.conf",
                "permissions": "0644",
                "content": f"[Unit]\nRequiresMountsFor={params.data_dir}\n",
            },
            {"path": MOUNT_SCRIPT_PATH, "permissions": "0755", "content": mount_script()},
        ],
        # cloud-init runs these as one /bin/sh script: without `set -e` a refused data volume would
        # not stop the boot, and the script's exit code would be the last command's.
        "runcmd": [
            "set -e",
            [MOUNT_SCRIPT_PATH, params.data_device, params.data_dir],
            ["install", "-d", "-m", "0755", "-o", user, "-g", user, *log_dirs(params)],
        ],
    }
    return "#cloud-config\n" + yaml.dump(document, Dumper=_LiteralDumper, sort_keys=False, width=1000)


# libyaml's emitter where PyYAML has it, several times faster than the pure-Python one, which writes
# the same bytes (tests/test_user_data_bytes.py): a changed byte would show as a diff of the
# machine's user data, which it ignores.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LiteralDumper(_SafeDumper):
    """Writes multi-line strings as YAML literal blocks so the document stays readable."""


def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, represent_str)
