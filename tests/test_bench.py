"""The evaluation benchmark measures what it says: its replay is the program's registrations, and a
peak is the measured interpreter's own. Nothing here asserts on timings."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

from offline import bench

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


def test_the_floor_imports_the_sdk_modules_the_evaluation_loads_and_nothing_of_the_project() -> None:
    modules, _ = bench.probe_sdk_modules("local", bench.pulumi_environment("local"))
    assert {"pulumi", "pulumi_docker", "pulumi_docker.container", "pulumi_random"} <= set(modules)
    assert not {name for name in modules if name.split(".")[0] in ("components", "offline", "pulumi_aws")}


def test_a_measured_peak_is_the_child_interpreters_own_not_its_parents() -> None:
    parent_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = bench.run_once("pass", bench.pulumi_environment("local"))
    assert parent_mb > 40
    assert child.peak_mb < 20
