#!/usr/bin/env python3
"""Print what every stack of a checkout would register, without a cloud, the CLI or any secret.

Runs the checkout's own `__main__.py` for each `Pulumi.<stack>.yaml` under the Pulumi mock runtime
of its `tests/harness.py` and prints each resource's inputs as YAML, sorted and with secret inputs
masked. The pull-request workflow prints it for the base and the head of a pull request and shows
the diff, so a pull request from a fork (which gets no secrets, hence no `pulumi preview`) still
has a reviewable plan. Mock outputs stand in for cloud-computed values.

Usage: offline_plan.py PROJECT_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

MASK = "[secret]"


def mask_secrets(value: Any, harness: Any) -> Any:
    """`value` with every secret-wrapped input replaced by MASK."""
    if isinstance(value, dict):
        if value.get(harness.SIG_KEY) == harness.SECRET_SIG:
            return MASK
        return {key: mask_secrets(item, harness) for key, item in value.items()}
    if isinstance(value, list):
        return [mask_secrets(item, harness) for item in value]
    return value


def stack_plan(stack: str, harness: Any) -> dict[str, Any] | str:
    """Resources of one stack by URN, or the error that stopped the program."""
    evaluation = harness.run_program(stack)
    if evaluation.error is not None:
        return f"error: {evaluation.error}"
    return {r.urn: mask_secrets(r.inputs, harness) for r in sorted(evaluation.resources, key=lambda r: r.urn)}


class _BlockStrings(yaml.SafeDumper):
    """Multi-line strings (cloud-init, scripts) as YAML blocks, so a diff shows the changed lines."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_BlockStrings.add_representer(str, _represent_str)


def main(argv: list[str]) -> None:
    project_dir = Path(argv[1]).resolve()
    sys.path[:0] = [str(project_dir), str(project_dir / "tests")]
    import harness  # noqa: PLC0415 - the checkout's own harness, importable only once its path is known

    plan = {stack: stack_plan(stack, harness) for stack in harness.stack_names()}
    print(yaml.dump(plan, Dumper=_BlockStrings, sort_keys=True, width=120), end="")


if __name__ == "__main__":
    main(sys.argv)
