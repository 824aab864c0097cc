"""Every container has a memory ceiling (plus as much again in swap) and a process ceiling, from the
catalog, in both renderings, sized so that all of them together fit a 2 GB server with its 2 GB swap.

Under Pulumi's mocks: the containers' `memory`, `memory_swap` and (on a server) `cgroup_parent`; the
slice units the server's prepare command writes are produced by running that exact command with
stand-ins for `sudo` and `systemctl`, and checked by `systemd-analyze verify`. The compose file's
limits: tests/test_compose.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from components.catalog import ServiceSpec, build_catalog
from components.cloud_init import SWAP_BYTES
from components.container_slices import UNIT_DIR, slice_name
from components.targets import stack_values
from harness import CONTAINER, Evaluation, cloud_stacks, containers, evaluate, settings_for, stack_names
from tools import require, run

pytestmark = pytest.mark.tools

DEFAULT_SERVER_MEMORY_MB = 2048
FAKE_SUDO = """#!/bin/sh
# Stand-in for sudo: `-n tee PATH` writes PATH under $FAKE_ROOT; `-n systemctl ...` is recorded.
[ "$1" = -n ] && shift
case "$1" in
  tee) shift; exec tee "$FAKE_ROOT$1" ;;
  systemctl) shift; echo "systemctl $*" >> "$FAKE_ROOT/systemctl.log" ;;
  *) exec "$@" ;;
esac
"""


def catalog_of(stack: str) -> dict[str, ServiceSpec]:
    return {spec.name: spec for spec in build_catalog(stack_values(settings_for(stack)))}


def prepare_command(evaluation: Evaluation) -> str:
    (command,) = [r for r in evaluation.resources if r.name.endswith("-prepare-dirs")]
    return command.plain("create")


@pytest.mark.parametrize("stack", stack_names())
def test_every_container_has_the_catalogs_memory_ceiling(stack: str) -> None:
    catalog = catalog_of(stack)
    found = containers(evaluate(stack))
    assert set(found) == set(catalog)
    for name, container in found.items():
        limits = catalog[name].limits
        assert container.plain("memory") == limits.memory_mb, name
        assert container.plain("memorySwap") == 2 * limits.memory_mb, name


@pytest.mark.parametrize("stack", cloud_stacks())
def test_on_a_server_every_container_runs_in_a_slice_the_prepare_command_limits(stack: str, tmp_path: Path) -> None:
    evaluation = evaluate(stack)
    catalog = catalog_of(stack)
    units = write_slices(prepare_command(evaluation), tmp_path)
    for name, container in containers(evaluation).items():
        parent = container.plain("cgroupParent")
        assert parent == slice_name(catalog[name]), name
        assert re.fullmatch(r"p2pvps-[a-z_]+\.slice", parent), "a dash would nest the slice in another"
        unit = (units / parent).read_text()
        assert f"\n[Slice]\nTasksMax={catalog[name].limits.pids}\n" in unit, name
    assert (tmp_path / "systemctl.log").read_text() == "systemctl daemon-reload\n"


def write_slices(command: str, root: Path) -> Path:
    """Run the prepare command's slice part (everything after its directories) with the stand-in sudo."""
    script = command[command.index("# Process limits") :]
    bin_dir = root / "bin"
    bin_dir.mkdir()
    (bin_dir / "sudo").write_text(FAKE_SUDO)
    (bin_dir / "sudo").chmod(0o755)
    units = root / UNIT_DIR.lstrip("/")
    units.mkdir(parents=True)
    result = run(["sh", "-eu", "-c", script], env={"PATH": f"{bin_dir}:/usr/bin:/bin", "FAKE_ROOT": str(root)})
    assert result.returncode == 0, result.stderr
    return units


def test_systemd_accepts_every_slice_unit(tmp_path: Path) -> None:
    units = write_slices(prepare_command(evaluate("dev")), tmp_path)
    names = sorted(path.name for path in units.glob("*.slice"))
    assert names == sorted(slice_name(spec) for spec in catalog_of("dev").values())
    result = run([require("systemd-analyze"), f"--root={tmp_path}", "verify", *names])
    assert result.returncode == 0 and result.stderr == "", result.stderr


def test_systemd_analyze_catches_a_misspelt_limit(tmp_path: Path) -> None:
    """Control: the same check reports a unit whose TasksMax is misspelt (systemd would ignore it)."""
    units = tmp_path / UNIT_DIR.lstrip("/")
    units.mkdir(parents=True)
    (units / "p2pvps-x.slice").write_text("[Slice]\nTaskMax=64\n")
    result = run([require("systemd-analyze"), f"--root={tmp_path}", "verify", "p2pvps-x.slice"])
    assert "Unknown key 'TaskMax'" in result.stderr


def test_the_local_stack_sets_no_slice() -> None:
    """Your own Docker may have no systemd (Docker Desktop, rootless): no cgroup_parent, no slice script."""
    evaluation = evaluate("local")
    assert all(c.plain().get("cgroupParent") is None for c in evaluation.of_type(CONTAINER))
    assert "# Process limits" not in prepare_command(evaluation)


@pytest.mark.parametrize("stack", cloud_stacks())
def test_all_ceilings_together_fit_the_default_server_and_its_swap(stack: str) -> None:
    """Every service at its memory ceiling at once still fits in the server's memory plus swap (swap beyond
    that is each service's own allowance, not a promise that all can use theirs at once)."""
    memory = sum(spec.limits.memory_mb for spec in catalog_of(stack).values())
    assert memory <= DEFAULT_SERVER_MEMORY_MB + SWAP_BYTES // 2**20
