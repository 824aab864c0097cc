"""The evaluation benchmark measures what it says: its floor runs the SDK modules the program runs,
its replay is the program's registrations, a peak is the measured interpreter's own. Nothing here
asserts on timings."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from offline import bench

pytestmark = pytest.mark.unit

COUNT_REGISTERED = """
from pulumi.runtime.settings import get_monitor
print(len(get_monitor().resources))
"""


def test_the_registration_floor_replays_every_resource_the_program_registers(tmp_path: Path) -> None:
    env = bench.pulumi_environment("local")
    modules, registered = bench.probe_sdk_modules("local", env)
    path = tmp_path / "local.json"
    bench.record_registrations("local", env, path)
    recorded = json.loads(path.read_text())
    assert len(recorded) == registered
    assert {"docker:index/container:Container", "p2pvps:index:ContainerStack"} <= {type_ for type_, *_ in recorded}

    script = bench.replay_script("local", modules, path) + COUNT_REGISTERED
    replay = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert replay.returncode == 0, replay.stderr
    assert int(replay.stdout.split()[-1]) == registered


EXECUTED_SDK_MODULES = """
import json, sys
print(json.dumps(sorted(
    name
    for name, module in sys.modules.items()
    if name.split(".")[0] in {packages!r} and type(module).__name__ != "_LazyModule"
)))
"""


def test_the_import_floor_executes_exactly_the_sdk_modules_the_evaluation_executes() -> None:
    """Lazily imported SDK submodules (pulumi_command.local for the local stack) count only once used."""
    env = bench.pulumi_environment("local")
    modules, _ = bench.probe_sdk_modules("local", env)
    assert {"pulumi", "pulumi_docker.container", "pulumi_command.local", "pulumi_random"} <= set(modules)
    assert "pulumi_command.remote" not in modules
    assert not {name for name in modules if name.split(".")[0] in ("components", "offline", "pulumi_aws")}

    script = bench.floor_script(modules) + EXECUTED_SDK_MODULES.format(packages=bench.SDK_PACKAGES)
    floor = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert floor.returncode == 0, floor.stderr
    assert json.loads(floor.stdout.splitlines()[-1]) == modules


def test_a_measured_peak_is_the_child_interpreters_own_not_its_parents() -> None:
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = bench.run_once("pass", bench.pulumi_environment("local"))
    assert parent_mb > 40
    assert child.peak_mb < 20
