"""The blast-radius table: per setting key and cloud, the resources whose inputs a change may touch.

The tests hold the program to it (tests/test_blast_radius.py) and the README shows it
(`python -m offline.blast_radius_table`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from offline.stack_files import stack_config

STACKS = {"dev": "DigitalOcean", "aws-us-east-1": "AWS", "vultr-ewr": "Vultr"}
SECOND_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBxpyxO5v0d9bmWqRIbf0ZfC5tm5V2b4tIS7z3L8H+Yx second@example.com"
HOST_CONFIG = "p2pvps-host-config"


def _added_key(stack: str) -> list[str]:
    return [*stack_config(stack)["p2pvps:sshPublicKeys"], SECOND_KEY]


@dataclass(frozen=True)
class Row:
    """One change of one setting on one stack, and what it may touch."""

    key: str
    change: str
    stack: str
    value: Callable[[str], Any]
    touches: frozenset[str]
    replaces_machine: bool = False

    @property
    def id(self) -> str:
        return f"{self.key}-{self.stack}"


def _rows() -> list[Row]:
    firewall = {"dev": "p2pvps-host-firewall", "aws-us-east-1": "p2pvps-host-firewall", "vultr-ewr": ""}
    rows: list[Row] = []
    for stack in STACKS:
        cidr_firewall = {firewall[stack] or "p2pvps-host-firewall-rule-0"}
        tunnel_firewall = (
            {firewall[stack]}
            if firewall[stack]
            else {
                "p2pvps-host-firewall-rule-9",
                "p2pvps-host-firewall-rule-10",
            }
        )
        cloud_key = set() if stack == "aws-us-east-1" else {"p2pvps-host-admin-key-1"}
        rows += [
            Row(
                "adminCidrs",
                "203.0.113.0/24 -> 198.51.100.0/24",
                stack,
                lambda _: ["198.51.100.0/24"],
                frozenset({*cidr_firewall, "p2pvps-stack-nginx-container"}),
            ),
            Row(
                "sshPublicKeys",
                "one key -> a second key added",
                stack,
                _added_key,
                frozenset({*cloud_key, HOST_CONFIG}),
            ),
            Row(
                "rebootWindow",
                "03:30 -> 04:15",
                stack,
                lambda _: "04:15",
                frozenset({HOST_CONFIG}),
            ),
            Row(
                "sshTunnelPorts",
                "6101-6200 -> 6101-6150",
                stack,
                lambda _: "6101-6150",
                frozenset({*tunnel_firewall, "p2pvps-stack-connextcms-container", "p2pvps-stack-ssh-server-container"}),
            ),
        ]
    machines = {
        "dev": "p2pvps-host-droplet",
        "aws-us-east-1": "p2pvps-host-instance",
        "vultr-ewr": "p2pvps-host-instance",
    }
    sizes = {"dev": "s-2vcpu-4gb", "aws-us-east-1": "t3.medium", "vultr-ewr": "vc2-2c-4gb"}
    for stack in STACKS:
        rows += [
            # Resized in place by every provider (a power cycle); no other resource changes.
            Row("size", "one size up", stack, lambda stack: sizes[stack], frozenset({machines[stack]})),
            Row(
                "volumeSizeGb",
                "+20 GB",
                stack,
                lambda stack: stack_config(stack)["p2pvps:volumeSizeGb"] + 20,
                frozenset({"p2pvps-host-data", HOST_CONFIG}),
            ),
        ]
    # The mock cloud's image lookups (AWS AMI, Vultr OS id) answer one id for every release, so only
    # DigitalOcean's image slug shows the change here; the README says what the others do.
    rows.append(
        Row(
            "ubuntuVersion",
            "24.04 -> 26.04",
            "dev",
            lambda _: "26.04",
            frozenset({"p2pvps-host-droplet"}),
            replaces_machine=True,
        )
    )
    return rows


ROWS = _rows()


def _cell(row: Row | None) -> str:
    if row is None:
        return "not measured (see below)"
    names = ", ".join(f"`{name.removeprefix('p2pvps-')}`" for name in sorted(row.touches))
    if row.replaces_machine:
        return f"**replaces the machine**: {names} and everything on it"
    return names


def markdown() -> str:
    """The README's table: per setting key, the resources whose inputs the change touches, per cloud."""
    lines = [
        f"| Setting | Change | {' | '.join(STACKS.values())} |",
        f"|---|---|{'---|' * len(STACKS)}",
    ]
    for key in dict.fromkeys(row.key for row in ROWS):
        rows = {row.stack: row for row in ROWS if row.key == key}
        change = next(iter(rows.values())).change
        lines.append(f"| `{key}` | {change} | {' | '.join(_cell(rows.get(stack)) for stack in STACKS)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(markdown(), end="")
