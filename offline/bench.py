"""Evaluation benchmark: what a stack's program costs on top of what the SDK must spend for it.

For each example stack, in fresh interpreters:
  evaluation    the program run under Pulumi's mocks, its config handed over in PULUMI_CONFIG as the
                Pulumi CLI does, with the mock cloud answering;
  import floor  a bare import of exactly the SDK modules that evaluation executed (found by a probe
                run; the SDKs' lazily imported modules count only where the program used them);
  registration  the import floor, then a straight-line program of literals (offline.replay) that
  floor         registers what the program registered (recorded by offline.evaluate) the way it
                registers it: the SDKs' typed classes and input types, secret inputs, the same
                names, parents, providers, dependencies and options, the components' outputs and the
                stack's exports. It computes nothing: what the SDK alone charges for these resources.
  untyped       the import floor, then the same types, names and plain inputs registered as untyped
  floor         resources without parents, dependencies, options or outputs: a lower bound for any
                program, which leaves out what the SDK charges for its typed classes and the graph.
It prints the median wall time of each, the ratio evaluation / registration floor (the program's own
share), and peak memory. Every side runs from cached bytecode, as every Pulumi run after the first
does. A benchmark, not a test: run it with `make bench`, nothing asserts on its figures.

Usage: python -m offline.bench [--runs N] [STACK ...]
"""

from __future__ import annotations

import argparse
import compileall
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from offline.bench_scripts import (
    evaluation_script,
    floor_script,
    probe_sdk_modules,
    pulumi_environment,
    record_registrations,
    registration_script,
    untyped_replay_script,
)
from offline.stack_files import PROJECT_DIR, stack_names


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
    untyped_floor: Measurement
    sdk_modules: int
    resources: int

    @property
    def ratio(self) -> float:
        """The evaluation over what the SDK must spend for the same registrations."""
        return self.evaluation.seconds / self.registration_floor.seconds


def compile_project() -> None:
    """Byte-compile the project's modules, as pip does for the SDKs, so neither side compiles sources."""
    for package in ("components", "offline"):
        compileall.compile_dir(PROJECT_DIR / package, quiet=1)


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


def measure(stack: str, runs: int, scratch: Path) -> StackResult:
    env = pulumi_environment(stack)
    modules, resources = probe_sdk_modules(stack, env)
    untyped, program = record_registrations(stack, env, scratch)
    scripts = (
        floor_script(modules),
        untyped_replay_script(stack, modules, untyped),
        registration_script(stack, modules, program),
        evaluation_script(stack),
    )
    results: tuple[list[Measurement], ...] = ([], [], [], [])
    for _ in range(runs):
        for script, measured in zip(scripts, results, strict=True):
            measured.append(run_once(script, env))
    floor, untyped_floor, registration_floor, evaluation = (median(measured) for measured in results)
    return StackResult(stack, evaluation, floor, registration_floor, untyped_floor, len(modules), resources)


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
        "| stack | evaluation (s) | registration floor (s) | evaluation / registration floor "
        "| SDK import floor (s) | untyped floor (s) | peak MB eval / floor | SDK modules | resources |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="p2pvps-bench-") as scratch:
        for stack in arguments.stacks:
            result = measure(stack, arguments.runs, Path(scratch))
            print(
                f"| {stack} | {result.evaluation.seconds:.3f} | {result.registration_floor.seconds:.3f} "
                f"| {result.ratio:.2f} | {result.floor.seconds:.3f} | {result.untyped_floor.seconds:.3f} "
                f"| {result.evaluation.peak_mb:.0f} / {result.floor.peak_mb:.0f} "
                f"| {result.sdk_modules} | {result.resources} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
