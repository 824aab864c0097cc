"""Evaluation benchmark: what a stack's program costs on top of importing the SDKs it needs.

For each example stack, in fresh interpreters:
  evaluation  the program run under Pulumi's mocks, its config handed over in PULUMI_CONFIG as the
              Pulumi CLI does, with the mock cloud answering;
  floor       a bare import of exactly the SDK modules that evaluation loaded (found by a probe run).
It prints the median wall time of each, the ratio evaluation / floor, and peak memory. A benchmark,
not a test: run it with `make bench`, nothing asserts on its figures.

Usage: python -m offline.bench [--runs N] [STACK ...]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass

from offline.evaluate import (
    PROJECT,
    PROJECT_DIR,
    as_config_string,
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

BARE_CONTAINERS = """
import sys
sys.path.insert(0, {root!r})
import pulumi, pulumi_docker as docker
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from offline.mock_cloud import MockCloud
pulumi.runtime.set_mocks(MockCloud(), project="bench", stack="bench", preview=False)
def program():
    for index in range({count}):
        docker.Container(f"c{{index}}", image="busybox")
_sync_await(run_pulumi_func(program))
"""

PROBE = (
    EVALUATE
    + """
import json
from pulumi.runtime.settings import get_monitor
modules = sorted(name for name in sys.modules if name.split(".")[0] in {packages!r})
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
    sdk_modules: int
    resources: int

    @property
    def ratio(self) -> float:
        return self.evaluation.seconds / self.floor.seconds


def pulumi_environment(stack: str) -> dict[str, str]:
    """The stack's config the way the Pulumi CLI passes it to a Python program."""
    secrets = sentinel_secrets()
    config = {key: as_config_string(value) for key, value in stack_config(stack).items()}
    config |= {f"{PROJECT}:{key}": value for key, value in secrets.items()}
    return os.environ | {
        "PULUMI_CONFIG": json.dumps(config),
        "PULUMI_CONFIG_SECRET_KEYS": json.dumps([f"{PROJECT}:{key}" for key in secret_keys()]),
        "PYTHONWARNINGS": "ignore",
    }


def _script(template: str, stack: str) -> str:
    return template.format(
        root=str(PROJECT_DIR),
        project=PROJECT,
        stack=stack,
        main=str(PROJECT_DIR / "__main__.py"),
        packages=SDK_PACKAGES,
    )


def run_once(code: str, env: dict[str, str]) -> Measurement:
    """Wall time and peak RSS of one fresh interpreter running `code`."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise subprocess.CalledProcessError(child.returncode, child.args)
    return Measurement(elapsed, usage.ru_maxrss / 1024)


def median(measurements: list[Measurement]) -> Measurement:
    return Measurement(statistics.median(m.seconds for m in measurements), max(m.peak_mb for m in measurements))


def measure(stack: str, runs: int) -> StackResult:
    env = pulumi_environment(stack)
    probe = subprocess.run(
        [sys.executable, "-c", _script(PROBE, stack)], env=env, check=True, capture_output=True, text=True
    )
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    modules = found["modules"]
    floor_code = "".join(f"import {name}\n" for name in modules)
    evaluation_code = _script(EVALUATE, stack)
    evaluations: list[Measurement] = []
    floors: list[Measurement] = []
    for _ in range(runs):
        floors.append(run_once(floor_code, env))
        evaluations.append(run_once(evaluation_code, env))
    return StackResult(stack, median(evaluations), median(floors), len(modules), found["resources"])


def sdk_cost_per_resource(runs: int, count: int = 50) -> float:
    """Seconds the Pulumi SDK itself spends on one typed resource under mocks (a bare docker.Container)."""
    env = os.environ | {"PYTHONWARNINGS": "ignore"}

    def timed(n: int) -> float:
        code = BARE_CONTAINERS.format(root=str(PROJECT_DIR), count=n)
        return statistics.median(run_once(code, env).seconds for _ in range(runs))

    return (timed(count) - timed(0)) / count


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
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("stacks", nargs="*", default=stack_names())
    arguments = parser.parse_args()
    print(f"# {machine()}, {time.strftime('%Y-%m-%d')}, median of {arguments.runs} fresh processes each")
    print("| stack | evaluation (s) | SDK import floor (s) | ratio | peak MB eval / floor | SDK modules | resources |")
    print("|---|---|---|---|---|---|---|")
    for stack in arguments.stacks:
        result = measure(stack, arguments.runs)
        print(
            f"| {stack} | {result.evaluation.seconds:.3f} | {result.floor.seconds:.3f} | {result.ratio:.2f} "
            f"| {result.evaluation.peak_mb:.0f} / {result.floor.peak_mb:.0f} "
            f"| {result.sdk_modules} | {result.resources} |",
            flush=True,
        )
    per_resource = sdk_cost_per_resource(arguments.runs)
    print(
        f"\nThe Pulumi SDK alone: {per_resource * 1000:.1f} ms per typed resource under mocks (bare docker.Container)."
    )


if __name__ == "__main__":
    main()
