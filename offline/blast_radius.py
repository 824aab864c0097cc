"""Which resources a settings change touches: two evaluations of the program compared input by input.

A changed input the resource ignores (`ignore_changes`) is no change. A changed input of the machine in
its provider's replace-on-change properties replaces the machine, and with it everything that is
recreated or deleted with the machine (`replacement_trigger`, `deleted_with`) or takes one of its
outputs as an input.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from offline.evaluate import evaluate
from offline.records import Evaluation, Registration

# Properties whose change the provider can only apply by replacing the machine (from each provider's
# schema: DigitalOcean and Vultr mark them ForceNew; AWS replaces user data only when asked to, which
# the program never does).
REPLACE_ON_CHANGE = {
    "digitalocean:index/droplet:Droplet": frozenset({"userData", "sshKeys", "image", "region"}),
    "vultr:index/instance:Instance": frozenset({"userData", "osId", "region"}),
    "aws:ec2/instance:Instance": frozenset({"ami", "availabilityZone"}),
}


@dataclass(frozen=True)
class Impact:
    """What a change does: resources whose inputs change, and whether the machine is replaced."""

    changed: dict[str, frozenset[str]]
    """Resource name -> the inputs that change (all of them for a resource that appears or goes)."""
    replaced: frozenset[str]
    """Resource names replaced with the machine (the machine included), empty when it stays."""


def changed_inputs(before: Registration, after: Registration) -> frozenset[str]:
    """Inputs that differ, less the ones the resource ignores."""
    keys = set(before.inputs) | set(after.inputs)
    ignored = set(after.ignore_changes)
    return frozenset(k for k in keys if k not in ignored and before.inputs.get(k) != after.inputs.get(k))


def replaces_machine(registration: Registration, changed: frozenset[str]) -> bool:
    return bool(changed & REPLACE_ON_CHANGE.get(registration.type, frozenset()))


def _with_machine(evaluation: Evaluation, machine: Registration) -> frozenset[str]:
    return frozenset(
        r.name
        for r in evaluation.resources
        if r is machine
        or r.replacement_trigger is not None
        or r.deleted_with == machine.urn
        or machine.urn in r.dependencies
    )


def impact(before: Evaluation, after: Evaluation) -> Impact:
    old = {r.urn: r for r in before.resources}
    new = {r.urn: r for r in after.resources}
    changed: dict[str, frozenset[str]] = {}
    replaced: frozenset[str] = frozenset()
    for urn in old.keys() | new.keys():
        if urn not in old or urn not in new:
            registration = new.get(urn) or old[urn]
            changed[registration.name] = frozenset(registration.inputs)
            continue
        keys = changed_inputs(old[urn], new[urn])
        if keys:
            changed[new[urn].name] = keys
            if replaces_machine(new[urn], keys):
                replaced = _with_machine(after, new[urn])
    return Impact(changed, replaced)


def measure(stack: str, **changes: Any) -> Impact:
    """The impact of changing settings of `stack` from the stack file's values to `changes`."""
    return impact(evaluate(stack), evaluate(stack, overrides=changes))
