"""The evaluation benchmark measures what it says: its import floor runs the SDK modules the program
runs, its registration floor registers exactly what the program registers, its untyped floor every
resource the program registers, a peak is the measured interpreter's own. Nothing here asserts on
timings."""

from __future__ import annotations

import dataclasses
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from offline import bench, bench_scripts
from offline.evaluate import evaluate, run_pulumi_program
from offline.mock_cloud import MockCloud
from offline.records import Registration
from offline.replay import straight_line_program
from offline.stack_files import PROJECT

pytestmark = pytest.mark.unit

COUNT_REGISTERED = """
from pulumi.runtime.settings import get_monitor
print(len(get_monitor().resources))
"""


def test_the_untyped_floor_replays_every_resource_the_program_registers(tmp_path: Path) -> None:
    env = bench_scripts.pulumi_environment("local")
    modules, registered = bench_scripts.probe_sdk_modules("local", env)
    untyped, _ = bench_scripts.record_registrations("local", env, tmp_path)
    recorded = json.loads(untyped.read_text())
    assert len(recorded) == registered
    assert {"docker:index/container:Container", "p2pvps:index:ContainerStack"} <= {type_ for type_, *_ in recorded}

    script = bench_scripts.untyped_replay_script("local", modules, untyped) + COUNT_REGISTERED
    replay = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert replay.returncode == 0, replay.stderr
    assert int(replay.stdout.split()[-1]) == registered


def test_the_registration_floor_script_runs_the_recorded_program(tmp_path: Path) -> None:
    env = bench_scripts.pulumi_environment("local")
    modules, registered = bench_scripts.probe_sdk_modules("local", env)
    _, program = bench_scripts.record_registrations("local", env, tmp_path)
    assert program.with_name("__pycache__").is_dir()

    script = bench_scripts.registration_script("local", modules, program) + COUNT_REGISTERED
    floor = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert floor.returncode == 0, floor.stderr
    assert int(floor.stdout.split()[-1]) == registered


@pytest.mark.parametrize("stack", ["local", "aws-us-east-1"])
def test_the_registration_floor_registers_exactly_what_the_program_registers(stack: str, tmp_path: Path) -> None:
    """Same URNs (types, names, parents), inputs with their secrets, dependencies, providers and options,
    component outputs and stack exports; the engine could not tell the two programs apart."""
    program = evaluate(stack)
    path = tmp_path / "floor.py"
    path.write_text(straight_line_program(program))
    floor = run_pulumi_program(path, project=PROJECT, stack=stack, config={}, secret_keys=[], mock=MockCloud())
    assert floor.error is None

    def engine_view(registration: Registration) -> dict[str, Any]:
        fields = dataclasses.asdict(registration)
        return fields | {"dependencies": sorted(fields["dependencies"])}

    assert sorted(map(engine_view, floor.resources), key=str) == sorted(map(engine_view, program.resources), key=str)
    assert floor.outputs == program.outputs
    assert floor.exports == program.exports


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
    env = bench_scripts.pulumi_environment("local")
    modules, _ = bench_scripts.probe_sdk_modules("local", env)
    assert {"pulumi", "pulumi_docker.container", "pulumi_command.local", "pulumi_random"} <= set(modules)
    assert "pulumi_command.remote" not in modules
    assert not {name for name in modules if name.split(".")[0] in ("components", "offline", "pulumi_aws")}

    script = bench_scripts.floor_script(modules) + EXECUTED_SDK_MODULES.format(packages=bench_scripts.SDK_PACKAGES)
    floor = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False)
    assert floor.returncode == 0, floor.stderr
    assert json.loads(floor.stdout.splitlines()[-1]) == modules


def test_a_measured_peak_is_the_child_interpreters_own_not_its_parents() -> None:
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = bench.run_once("pass", bench_scripts.pulumi_environment("local"))
    assert parent_mb > 40
    assert child.peak_mb < 20
