"""Offline plan: a stack's desired state as a readable Markdown page, without the Pulumi CLI or credentials.

`python -m offline.plan STACK` prints one stack's plan; `--write` rewrites plans/<stack>.md for every
example stack (committed, so every infrastructure change shows up in a pull request's diff, and a
test fails when they are stale). It is not a preview: nothing is compared with the cloud.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from components import dns
from components.catalog import build_catalog, public_ports
from components.settings import ServerSettings
from components.targets import stack_values
from offline.evaluate import evaluate
from offline.records import Evaluation, Registration, is_secret
from offline.stack_files import PROJECT_DIR, sentinel_secrets, settings_for, stack_names

PLANS_DIR = PROJECT_DIR / "plans"
MASK = "[secret]"
MAX_VALUE = 90
# Inputs worth a reviewer's eye, for the types whose full input list would drown the table.
IMPORTANT_INPUTS = {
    "docker:index/container:Container": (
        "image",
        "ports",
        "mounts",
        "envs",
        "restart",
        "networkMode",
        "memory",
        "memorySwap",
        "cgroupParent",
        "command",
    ),
    "docker:index/image:Image": ("imageName", "build"),
    "command:remote:Command": ("create", "stdin", "triggers"),
    "command:local:Command": ("create",),
    "pulumi:providers:docker": ("host",),
    "aws:ec2/instance:Instance": ("ami", "instanceType", "availabilityZone", "userData", "metadataOptions"),
}

HEADER = """# Offline plan: stack `{stack}`

> **Desired state, not a diff.** This page is what the program asks for when it runs with
> `Pulumi.{stack}.yaml`, evaluated under Pulumi's mock runtime without the CLI or any credentials.
> It does not compare anything with the cloud: run `pulumi preview` for that. Values only a cloud
> can know (ids, addresses, looked-up images) are mock placeholders; secrets show as `[secret]`.
> Regenerate with `make plans`.
"""


def _env_names(entries: list[Any]) -> str:
    """Variable names only (values are in the stack file or secret): `NAME`, `NAME[secret]`."""
    names = []
    for entry in entries:
        if is_secret(entry):
            names.append(f"{str(entry.get('value', '')).split('=', 1)[0]}{MASK}")
        else:
            names.append(str(entry).split("=", 1)[0])
    return " ".join(names)


def _mounts(mounts: list[dict[str, Any]]) -> str:
    return " ".join(f"{m['source']}:{m['target']}" + (":ro" if m.get("readOnly") else "") for m in mounts)


def _rules(rules: list[dict[str, Any]]) -> str:
    """Firewall rules as `ports/protocol<-sources`."""
    cells = []
    for rule in rules:
        ports = rule.get("portRange") or "-".join(str(int(rule[k])) for k in ("fromPort", "toPort") if k in rule) or "*"
        sources = (
            rule.get("sourceAddresses")
            or rule.get("destinationAddresses")
            or [
                *rule.get("cidrBlocks", []),
                *rule.get("ipv6CidrBlocks", []),
            ]
        )
        cells.append(f"{ports}/{rule['protocol']}<-{','.join(sources)}")
    return "; ".join(cells)


FORMATTERS = {
    "envs": _env_names,
    "mounts": _mounts,
    "inboundRules": _rules,
    "outboundRules": _rules,
    "ingress": _rules,
    "egress": _rules,
}


def _short(value: Any, key: str = "") -> str:
    """One table cell: secrets masked, long text reduced to its size and digest, everything on one line."""
    if is_secret(value):
        return MASK
    if key in FORMATTERS and isinstance(value, list):
        return FORMATTERS[key](value)
    if isinstance(value, str):
        if "\n" in value:
            digest = hashlib.sha256(value.encode()).hexdigest()[:12]
            return f"<{len(value.splitlines())} lines, sha256 {digest}>"
        return value if len(value) <= MAX_VALUE else value[: MAX_VALUE - 1] + "…"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, list) and any(is_secret(item) for item in value):
        value = [MASK if is_secret(item) else item for item in value]
    text = json.dumps(value, sort_keys=True, separators=(",", ":"))
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _inputs(registration: Registration) -> str:
    keys = IMPORTANT_INPUTS.get(registration.type, tuple(sorted(registration.inputs)))
    cells = [f"{key}={_short(registration.inputs[key], key)}" for key in keys if key in registration.inputs]
    return "<br>".join(cell.replace("|", "\\|") for cell in cells)


def _parent_name(evaluation: Evaluation, registration: Registration) -> str:
    try:
        return evaluation.by_urn(registration.parent).name
    except StopIteration:
        return "(stack)"


def _perimeter_section(stack: str, overrides: Mapping[str, Any]) -> list[str]:
    settings = settings_for(stack, **overrides)
    lines = ["## Perimeter", ""]
    server = settings.target
    if not isinstance(server, ServerSettings):
        return [*lines, "No cloud firewall: the local cloud publishes ports on 127.0.0.1 only.", ""]
    lines += ["| Ports | Protocol | Open to | Purpose |", "|---|---|---|---|"]
    for rule in public_ports(build_catalog(stack_values(settings))):
        sources = ", ".join(rule.sources(server.admin.cidrs))
        lines.append(f"| {rule.ports} | {rule.protocol} | {sources} | {rule.purpose} |")
    lines += ["", "## DNS names", ""]
    lines += [f"- `{dns.fqdn(record, settings.domain)}`" for record in dns.RECORD_NAMES]
    return [*lines, ""]


def render_plan(stack: str, overrides: Mapping[str, Any] | None = None) -> str:
    """The plan page of `stack` (optionally with config changes, as a pull request would make them)."""
    overrides = overrides or {}
    evaluation = evaluate(stack, overrides=overrides, secrets=sentinel_secrets())
    ordered = sorted(evaluation.resources, key=lambda r: (r.type.split(":")[0], r.type, r.name))
    lines = [HEADER.format(stack=stack), *_perimeter_section(stack, overrides)]
    lines += [f"## Resources ({len(ordered)})", "", "| Type | Name | Parent | Inputs |", "|---|---|---|---|"]
    for registration in ordered:
        options = [
            name for name, on in (("protect", registration.protect), ("retain", registration.retain_on_delete)) if on
        ]
        name = registration.name + (f" ({', '.join(options)})" if options else "")
        lines.append(
            f"| `{registration.type}` | {name} | {_parent_name(evaluation, registration)} | {_inputs(registration)} |"
        )
    return "\n".join(lines) + "\n"


def plan_path(stack: str) -> Path:
    return PLANS_DIR / f"{stack}.md"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("stacks", nargs="*", help="stacks to print (default: every example stack)")
    parser.add_argument("--write", action="store_true", help="rewrite plans/<stack>.md instead of printing")
    arguments = parser.parse_args()
    for stack in arguments.stacks or stack_names():
        text = render_plan(stack)
        if arguments.write:
            PLANS_DIR.mkdir(exist_ok=True)
            plan_path(stack).write_text(text)
        else:
            print(text)


if __name__ == "__main__":
    main()
