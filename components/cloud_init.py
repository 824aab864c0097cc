"""Renders the #cloud-config document every cloud's server boots with.

Pure: plain values in, YAML text out. The same inputs always give the same bytes, because a
change in user data replaces the server on DigitalOcean.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import yaml

from components.metadata_guard import DOCKER_DROP_IN_PATH, GUARD_PATH, docker_drop_in, guard_script
from components.package_files import package_text
from components.runtime import LOG_DRIVER, LOG_OPTIONS, log_tree

DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"
DOCKER_PACKAGES = ("docker-ce", "docker-ce-cli", "containerd.io", "docker-buildx-plugin", "docker-compose-plugin")
MOUNT_SCRIPT_PATH = "/usr/local/sbin/p2pvps-mount-data"
UNATTENDED_UPGRADES_PATH = "/etc/apt/apt.conf.d/52p2pvps-unattended-upgrades"
# The Release file of download.docker.com says `Origin: Docker` and `Label: Docker CE`.
DOCKER_APT_ORIGIN = "origin=Docker,label=Docker CE"
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
    reboot_time: str | None

    @property
    def home(self) -> str:
        return f"/home/{self.admin_user}"


def mount_script() -> str:
    """The script that formats the data volume only when it is blank, then mounts it."""
    return package_text("scripts/mount-data.sh")


# Modern algorithms only, as ssh-audit judges them, all known to OpenSSH 9.2 and 9.6 (Ubuntu 24.04);
# an algorithm sshd does not know stops it. The host key is ed25519 only. curve25519 stays beside
# the post-quantum exchange for clients without sntrup761, such as Go's x/crypto/ssh (pulumi-command).
SSHD_ALGORITHMS = {
    "KexAlgorithms": ("sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org"),
    "HostKeyAlgorithms": ("ssh-ed25519",),
    "Ciphers": (
        "chacha20-poly1305@openssh.com",
        "aes256-gcm@openssh.com",
        "aes128-gcm@openssh.com",
        "aes256-ctr",
        "aes192-ctr",
        "aes128-ctr",
    ),
    "MACs": ("hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com", "umac-128-etm@openssh.com"),
    # Every admin key type p2pvps:sshPublicKeys accepts; ssh-rsa keys sign with SHA-2.
    "PubkeyAcceptedAlgorithms": (
        "ssh-ed25519",
        "sk-ssh-ed25519@openssh.com",
        "rsa-sha2-512",
        "rsa-sha2-256",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "sk-ecdsa-sha2-nistp256@openssh.com",
    ),
}


def _sshd_hardening(admin_user: str) -> str:
    return "\n".join(
        (
            "# Managed by the p2pvps Pulumi program.",
            "PermitRootLogin no",
            "PasswordAuthentication no",
            "KbdInteractiveAuthentication no",
            "X11Forwarding no",
            f"AllowUsers {admin_user}",
            # pulumi-docker opens one SSH session per Docker call, many at once.
            "MaxStartups 100:30:200",
            "MaxSessions 64",
            *(f"{keyword} {','.join(names)}" for keyword, names in SSHD_ALGORITHMS.items()),
            "RequiredRSASize 2048",
            "",
        )
    )


def unattended_upgrades_config(reboot_time: str | None) -> str:
    """Docker's repository among the origins unattended-upgrades installs from (beside Ubuntu's own, which
    50unattended-upgrades lists), and the nightly reboot a new kernel or libc needs, at `reboot_time`."""
    lines = [
        "// Managed by the p2pvps Pulumi program.",
        "Unattended-Upgrade::Origins-Pattern {",
        f'        "{DOCKER_APT_ORIGIN}";',
        "};",
        f'Unattended-Upgrade::Automatic-Reboot "{"true" if reboot_time else "false"}";',
    ]
    if reboot_time:
        lines += [
            'Unattended-Upgrade::Automatic-Reboot-WithUsers "true";',
            f'Unattended-Upgrade::Automatic-Reboot-Time "{reboot_time}";',
        ]
    return "\n".join(lines) + "\n"


def docker_daemon_config() -> str:
    """Daemon defaults: bounded local logs, containers kept alive across daemon upgrades, no userland proxy."""
    config = {
        "live-restore": True,
        "log-driver": LOG_DRIVER,
        "log-opts": LOG_OPTIONS,
        "userland-proxy": False,
    }
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


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
            {"path": "/etc/ssh/sshd_config.d/10-p2pvps.conf", "permissions": "0644", "content": _sshd_hardening(user)},
            {"path": "/etc/docker/daemon.json", "permissions": "0644", "content": docker_daemon_config()},
            {
                "path": "/etc/systemd/system/docker.service.d/10-p2pvps-data.conf",
                "permissions": "0644",
                "content": f"[Unit]\nRequiresMountsFor={params.data_dir}\n",
            },
            {
                "path": "/etc/apt/apt.conf.d/20auto-upgrades",
                "permissions": "0644",
                "content": 'APT::Periodic::Update-Package-Lists "1";\nAPT::Periodic::Unattended-Upgrade "1";\n',
            },
            {
                "path": UNATTENDED_UPGRADES_PATH,
                "permissions": "0644",
                "content": unattended_upgrades_config(params.reboot_time),
            },
            {"path": MOUNT_SCRIPT_PATH, "permissions": "0755", "content": mount_script()},
            {"path": GUARD_PATH, "permissions": "0755", "content": guard_script()},
            {"path": DOCKER_DROP_IN_PATH, "permissions": "0644", "content": docker_drop_in()},
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
# the same bytes (tests/test_user_data_bytes.py): a changed byte would replace the server.
_SafeDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _LiteralDumper(_SafeDumper):
    """Writes multi-line strings as YAML literal blocks so the document stays readable."""


def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, represent_str)
