"""The host's own configuration files: sshd hardening, unattended upgrades with their reboot window,
and the Docker daemon's defaults. Plain values in, file text out.
"""

from __future__ import annotations

import json

from components.runtime import LOG_DRIVER, LOG_OPTIONS

UNATTENDED_UPGRADES_PATH = "/etc/apt/apt.conf.d/52p2pvps-unattended-upgrades"
# The Release file of download.docker.com says `Origin: Docker` and `Label: Docker CE`.
DOCKER_APT_ORIGIN = "origin=Docker,label=Docker CE"


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


def sshd_hardening(admin_user: str) -> str:
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
