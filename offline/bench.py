"""Evaluation benchmark: what a stack's program costs on top of importing the SDKs it needs.

For each example stack, in fresh interpreters:
  evaluation    the program run under Pulumi's mocks, its config handed over in PULUMI_CONFIG as the
                Pulumi CLI does, with the mock cloud answering;
  import floor  a bare import of exactly the SDK modules that evaluation executed (found by a probe
                run; the SDKs' lazily imported modules count only where the program used them);
  registration  the import floor, then the program's own registrations (same types, names and
  floor         inputs, recorded by offline.evaluate) replayed through the bare SDK as untyped
                resources without parents or dependencies: what the SDK alone charges for this
                stack, a lower bound for any program that registers these resources.
It prints the median wall time of each, the ratio evaluation / import floor, the best ratio any
program could reach (registration floor / import floor), and peak memory. Both sides run from
cached bytecode, as every Pulumi run after the first does. A benchmark, not a test: run it with
`make bench`, nothing asserts on its figures.

Usage: python -m offline.bench [--runs N] [STACK ...]
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from offline.evaluate import (
    PROJECT,
    PROJECT_DIR,
    as_config_string,
    evaluate,
    secret_keys,
    sentinel_secrets,
    stack_config,
    stack_names,
)

SDK_PACKAGES = (
    "pulumi",
    "pulumi_docker",
    "pulumi_command",
    "pulumi_tls",
    "pulumi_random",
    "pulumi_digitalocean",
    "pulumi_aws",
    "ediri_vultr",
)

EVALUATE = """
import runpy, sys
sys.path.insert(0, {root!r})
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from offline.mock_cloud import MockCloud
pulumi.runtime.set_mocks(MockCloud(), project={project!r}, stack={stack!r}, preview=False)
_sync_await(run_pulumi_func(lambda: runpy.run_path({main!r}, run_name="__main__")))
"""

REPLAY = """
import json, sys
sys.path.insert(0, {root!r})
{imports}
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from offline.mock_cloud import MockCloud
pulumi.runtime.set_mocks(MockCloud(), project={project!r}, stack={stack!r}, preview=False)
with open({registrations!r}) as recorded:
    registrations = json.load(recorded)
def replay():
    for type_, name, custom, inputs in registrations:
        if type_.startswith("pulumi:providers:"):
            pulumi.ProviderResource(type_.rsplit(":", 1)[1], name, inputs)
        elif custom:
            pulumi.CustomResource(type_, name, inputs)
        else:
            pulumi.ComponentResource(type_, name, inputs)
_sync_await(run_pulumi_func(replay))
"""

RECORD = """
import json, sys
sys.path.insert(0, {root!r})
from offline.bench import recorded_registrations
with open({registrations!r}, "w") as out:
    json.dump(recorded_registrations({stack!r}), out)
"""

PROBE = (
    EVALUATE
    + """
import json
from pulumi.runtime.settings import get_monitor
modules = sorted(
    name
    for name, module in sys.modules.items()
    if name.split(".")[0] in {packages!r} and type(module).__name__ != "_LazyModule"
)
print(json.dumps({{"modules": modules, "resources": len(get_monitor().resources)}}))
"""
)


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class StackResult:
    stack: str
    evaluation: Measurement
    floor: Measurement
    registration_floor: Measurement
    sdk_modules: int
    resources: int

    @property
    def ratio(self) -> float:
        return self.evaluation.seconds / self.floor.seconds

    @property
    def best_ratio(self) -> float:
        return self.registration_floor.seconds / self.floor.seconds


def pulumi_environment(stack: str) -> dict[str, str]:
    """The stack's config the way the Pulumi CLI passes it to a Python program."""
    secrets = sentinel_secrets()
    config = {key: as_config_string(value) for key, value in stack_config(stack).items()}
    config |= {f"{PROJECT}:{key}": value for key, value in secrets.items()}
    return _fresh_environment() | {
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps([f"{PROJECT}:{key}" for key in secret_keys()]),
    }


def _fresh_environment() -> dict[str, str]:
    """The caller's environment, except that bytecode caches are used (PYTHONDONTWRITEBYTECODE unset)."""
    environment = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    return environment | {"PYTHONWARNINGS": "ignore"}


def compile_project() -> None:
    """Byte-compile the project's modules, as pip does for the SDKs, so neither side compiles sources."""
    for package in ("components", "offline"):
        compileall.compile_dir(PROJECT_DIR / package, quiet=1)


def recorded_registrations(stack: str) -> list[tuple[str, str, bool, object]]:
    """(type, name, custom, plain inputs) of every resource the stack's program registers."""
    return [(r.type, r.name, r.custom, r.plain()) for r in evaluate(stack).resources]


def _script(template: str, stack: str, **values: str) -> str:
    return template.format(
        root=str(PROJECT_DIR),
        project=PROJECT,
        stack=stack,
        main=str(PROJECT_DIR / "__main__.py"),
        packages=SDK_PACKAGES,
        **values,
    )


PEAK_REPORT = """
with open("/proc/self/status") as status:
    print(next(line.split()[1] for line in status if line.startswith("VmHWM:")))
"""


def run_once(code: str, env: dict[str, str]) -> Measurement:
    """Wall time and peak RSS of one fresh interpreter running `code`.

    The child reports its own VmHWM: a child's ru_maxrss on Linux starts at its parent's RSS at fork.
    """
    start = time.perf_counter()
    command = [sys.executable, "-c", code + PEAK_REPORT]
    child = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    if child.returncode != 0:
        raise RuntimeError(f"a measured interpreter failed ({child.returncode}):\n{child.stderr}")
    return Measurement(elapsed, int(child.stdout.split()[-1]) / 1024)


def median(measurements: list[Measurement]) -> Measurement:
    return Measurement(statistics.median(m.seconds for m in measurements), max(m.peak_mb for m in measurements))


def probe_sdk_modules(stack: str, env: dict[str, str]) -> tuple[list[str], int]:
    """The SDK modules one evaluation of `stack` loads, and how many resources it registers."""
    probe = subprocess.run(
        [sys.executable, "-c", _script(PROBE, stack)], env=env, check=True, capture_output=True, text=True
    )
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    return found["modules"], found["resources"]


def record_registrations(stack: str, env: dict[str, str], path: Path) -> None:
    """Write what the stack's program registers to `path`, from a fresh interpreter."""
    subprocess.run(
        [sys.executable, "-c", _script(RECORD, stack, registrations=str(path))],
        env=env,
        check=True,
        capture_output=True,
    )


def floor_script(modules: list[str]) -> str:
    """Import and execute exactly `modules`: the SDKs import some submodules lazily, and a lazy module
    runs only when an attribute other than its name, path or spec is read."""
    return f"import importlib\nfor name in {modules!r}:\n    hasattr(importlib.import_module(name), '__all__')\n"


def replay_script(stack: str, modules: list[str], registrations: Path) -> str:
    return _script(REPLAY, stack, imports=floor_script(modules), registrations=str(registrations))


def measure(stack: str, runs: int, scratch: Path) -> StackResult:
    env = pulumi_environment(stack)
    modules, resources = probe_sdk_modules(stack, env)
    registrations = scratch / f"{stack}.json"
    record_registrations(stack, env, registrations)
    scripts = (floor_script(modules), replay_script(stack, modules, registrations), _script(EVALUATE, stack))
    floors: list[Measurement] = []
    replays: list[Measurement] = []
    evaluations: list[Measurement] = []
    for _ in range(runs):
        for script, results in zip(scripts, (floors, replays, evaluations), strict=True):
            results.append(run_once(script, env))
    return StackResult(stack, median(evaluations), median(floors), median(replays), len(modules), resources)


def machine() -> str:
    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return (
        f"{platform.system()} {platform.release()}, {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=11)
    parser.add_argument("stacks", nargs="*", default=stack_names())
    arguments = parser.parse_args()
    compile_project()
    print(f"# {machine()}, {time.strftime('%Y-%m-%d')}, median of {arguments.runs} fresh processes each")
    print(
        "| stack | evaluation (s) | SDK import floor (s) | ratio | registration floor (s) | best possible ratio "
        "| peak MB eval / floor | SDK modules | resources |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="p2pvps-bench-") as scratch:
        for stack in arguments.stacks:
            result = measure(stack, arguments.runs, Path(scratch))
            print(
                f"| {stack} | {result.evaluation.seconds:.3f} | {result.floor.seconds:.3f} | {result.ratio:.2f} "
                f"| {result.registration_floor.seconds:.3f} | {result.best_ratio:.2f} "
                f"| {result.evaluation.peak_mb:.0f} / {result.floor.peak_mb:.0f} "
                f"| {result.sdk_modules} | {result.resources} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
