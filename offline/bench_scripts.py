"""What the evaluation benchmark (offline.bench) runs in its fresh interpreters: the evaluation, the
SDK import floor, the two registration floors, and the probe and recording runs that prepare them."""

from __future__ import annotations

import compileall
import json
import os
import subprocess
import sys
from pathlib import Path

from components.evaluation import GC_THRESHOLDS
from offline.evaluate import evaluate
from offline.replay import straight_line_program
from offline.stack_files import PROJECT, PROJECT_DIR, as_config_string, secret_keys, sentinel_secrets, stack_config

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

UNTYPED_REPLAY = """
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

REGISTER = """
import sys
sys.path.insert(0, {root!r})
{imports}
import pulumi
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from offline.mock_cloud import MockCloud
pulumi.runtime.set_mocks(MockCloud(), project={project!r}, stack={stack!r}, preview=False)
sys.path.insert(0, {scratch!r})
_sync_await(run_pulumi_func(lambda: __import__({module!r})))
"""

RECORD = """
import json, sys
sys.path.insert(0, {root!r})
from offline.bench_scripts import write_registrations
write_registrations({stack!r}, {registrations!r}, {program!r})
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


def write_registrations(stack: str, untyped: str, program: str) -> None:
    """Evaluate `stack` once; write its registrations for the untyped floor (JSON) and the registration
    floor (a straight-line program), byte-compiled as the SDKs are."""
    evaluation = evaluate(stack)
    with open(untyped, "w") as out:
        json.dump([(r.type, r.name, r.custom, r.plain()) for r in evaluation.resources], out)
    Path(program).write_text(straight_line_program(evaluation))
    compileall.compile_file(program, quiet=1)


def _script(template: str, stack: str, **values: str) -> str:
    return template.format(
        root=str(PROJECT_DIR),
        project=PROJECT,
        stack=stack,
        main=str(PROJECT_DIR / "__main__.py"),
        packages=SDK_PACKAGES,
        **values,
    )


def probe_sdk_modules(stack: str, env: dict[str, str]) -> tuple[list[str], int]:
    """The SDK modules one evaluation of `stack` loads, and how many resources it registers."""
    probe = subprocess.run(
        [sys.executable, "-c", _script(PROBE, stack)], env=env, check=True, capture_output=True, text=True
    )
    found = json.loads(probe.stdout.strip().splitlines()[-1])
    return found["modules"], found["resources"]


def record_registrations(stack: str, env: dict[str, str], scratch: Path) -> tuple[Path, Path]:
    """Record what the stack's program registers, from a fresh interpreter: the untyped floor's JSON and
    the registration floor's program, in `scratch`."""
    untyped = scratch / f"{stack}.json"
    program = scratch / f"registration_floor_{stack.replace('-', '_')}.py"
    subprocess.run(
        [sys.executable, "-c", _script(RECORD, stack, registrations=str(untyped), program=str(program))],
        env=env,
        check=True,
        capture_output=True,
    )
    return untyped, program


def floor_script(modules: list[str]) -> str:
    """Import and execute exactly `modules`: the SDKs import some submodules lazily, and a lazy module
    runs only when an attribute other than its name, path or spec is read. The collector runs as in the
    program (`components.evaluation`), so the floors and the evaluation pay for it alike."""
    return (
        f"import gc\ngc.set_threshold(*{GC_THRESHOLDS!r})\n"
        f"import importlib\nfor name in {modules!r}:\n    hasattr(importlib.import_module(name), '__all__')\n"
    )


def untyped_replay_script(stack: str, modules: list[str], registrations: Path) -> str:
    return _script(UNTYPED_REPLAY, stack, imports=floor_script(modules), registrations=str(registrations))


def evaluation_script(stack: str) -> str:
    return _script(EVALUATE, stack)


def registration_script(stack: str, modules: list[str], program: Path) -> str:
    """Import the SDK modules, then run the straight-line program in `program` under the mocks."""
    return _script(REGISTER, stack, imports=floor_script(modules), scratch=str(program.parent), module=program.stem)
