"""A systemd slice per container on a server, for the process limit pulumi_docker cannot set.

pulumi_docker 5 has no `pids_limit`. On a server (Ubuntu: cgroup v2, Docker's systemd cgroup
driver) each container gets `cgroup_parent` set to a slice of its own, whose `TasksMax` caps the
processes and threads of everything below it: the same kernel limit (`pids.max`) Docker's
`--pids-limit` sets, one level up. The compose file sets `pids_limit` directly.
"""

from __future__ import annotations

import shlex

from components.catalog import ServiceSpec

UNIT_DIR = "/etc/systemd/system"


def slice_name(spec: ServiceSpec) -> str:
    """`p2pvps-<service>.slice`; a dash in a slice name means nesting to systemd, so the service's become `_`."""
    return f"p2pvps-{spec.name.replace('-', '_')}.slice"


def slice_unit(spec: ServiceSpec) -> str:
    return f"[Unit]\nDescription=P2P VPS container {spec.name}\n\n[Slice]\nTasksMax={spec.limits.pids}\n"


def install_script(catalog: tuple[ServiceSpec, ...]) -> str:
    """Shell for the admin account (passwordless sudo): every slice unit written, systemd reloaded."""
    lines = ["# Process limits: one systemd slice per container (its cgroup_parent), TasksMax from the catalog."]
    lines += [
        f"printf '%s' {shlex.quote(slice_unit(spec))} | sudo -n tee {UNIT_DIR}/{slice_name(spec)} >/dev/null"
        for spec in catalog
    ]
    lines.append("sudo -n systemctl daemon-reload")
    return "\n".join(lines) + "\n"
