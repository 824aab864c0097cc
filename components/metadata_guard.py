"""Keeps containers away from the cloud's instance metadata service.

DigitalOcean and Vultr serve a server's user data, with the SSH host's private key in it, to
anything on the server that asks at 169.254.169.254, without a token. Docker routes container
traffic through the host's FORWARD chain, which runs Docker's DOCKER-USER chain first; a DROP there
stops every container and leaves the host's own requests (cloud-init's) alone, since those never
pass FORWARD.

Pure: renders the script and the systemd drop-in that runs it before every start of Docker.
Docker keeps the rules it finds in DOCKER-USER and appends its own RETURN after them, so they are
in place before the first container of every boot and of every Docker restart.
"""

from __future__ import annotations

from dataclasses import dataclass

GUARD_PATH = "/usr/local/sbin/p2pvps-metadata-guard"
DOCKER_DROP_IN_PATH = "/etc/systemd/system/docker.service.d/20-p2pvps-metadata-guard.conf"
CHAIN = "DOCKER-USER"
COMMENT = "p2pvps: no container reaches the cloud metadata service"


@dataclass(frozen=True)
class Blocked:
    """A destination no forwarded packet may reach, with the iptables command of its family."""

    command: str
    destination: str


BLOCKED = (
    # The whole link-local range: the metadata service of every cloud here (169.254.169.254) and
    # AWS's other link-local services. Nothing a container does legitimately is link-local.
    Blocked("iptables", "169.254.0.0/16"),
    # AWS's IPv6 metadata endpoint (Nitro instances, when enabled). DigitalOcean and Vultr
    # document an IPv4 endpoint only.
    Blocked("ip6tables", "fd00:ec2::254/128"),
)


def guard_script(blocked: tuple[Blocked, ...] = BLOCKED) -> str:
    """Idempotent shell: each destination dropped at the top of DOCKER-USER (chain created if missing)."""
    lines = [
        "#!/bin/sh",
        "# Managed by the p2pvps Pulumi program: containers never reach the cloud metadata service.",
        "# Runs before every start of Docker (docker.service drop-in); Docker keeps these rules.",
        "set -eu",
        f"comment='{COMMENT}'",
        "# block COMMAND DESTINATION: forwarded packets to DESTINATION are dropped before Docker's rules.",
        "block() {",
        f'  "$1" -w -n -L {CHAIN} >/dev/null 2>&1 || "$1" -w -N {CHAIN}',
        f'  if ! "$1" -w -C {CHAIN} -d "$2" -m comment --comment "$comment" -j DROP 2>/dev/null; then',
        f'    "$1" -w -I {CHAIN} 1 -d "$2" -m comment --comment "$comment" -j DROP',
        "  fi",
        "}",
        *(f"block {rule.command} {rule.destination}" for rule in blocked),
    ]
    return "\n".join(lines) + "\n"


def docker_drop_in() -> str:
    """docker.service runs the guard before dockerd on every start; if it fails, Docker does not start."""
    return f"[Service]\nExecStartPre={GUARD_PATH}\n"
