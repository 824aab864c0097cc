"""What one run of the program registered, as the engine would see it, and the engine's secret wrapper."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from offline.stack_files import PROJECT

SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"
SIG_KEY = "4dabf18193072939515e22adb298388d"


@dataclass
class Registration:
    """One RegisterResource call, as the engine would see it."""

    type: str
    name: str
    custom: bool
    urn: str
    id: str
    inputs: dict[str, Any]
    parent: str
    dependencies: list[str]
    provider: str
    protect: bool
    retain_on_delete: bool
    delete_before_replace: bool
    delete_before_replace_defined: bool
    """The program said delete_before_replace, True or False; otherwise the provider's default applies."""
    ignore_changes: list[str]
    custom_timeouts: dict[str, str]
    deleted_with: str
    replacement_trigger: Any
    additional_secret_outputs: list[str]

    def plain(self, key: str | None = None) -> Any:
        """Inputs (or one input) with secret wrappers removed."""
        value = self.inputs if key is None else self.inputs[key]
        return unwrap(value)

    def is_secret(self, key: str) -> bool:
        return is_secret(self.inputs.get(key))


@dataclass
class Evaluation:
    """Everything one run of the program registered."""

    resources: list[Registration]
    outputs: dict[str, dict[str, Any]]
    exports: dict[str, Any]
    error: BaseException | None = None

    def of_type(self, type_: str) -> list[Registration]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Registration:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected one {type_}, found {[r.name for r in found]}"
        return found[0]

    def named(self, name: str) -> Registration:
        found = [r for r in self.resources if r.name == name]
        assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.resources if r.urn == urn)

    def ancestors(self, registration: Registration) -> Iterator[Registration]:
        parent = registration.parent
        while parent and not parent.endswith(f"::{PROJECT}-{registration.urn.split('::')[1]}"):
            try:
                found = self.by_urn(parent)
            except StopIteration:
                return
            yield found
            parent = found.parent


def is_secret(value: Any) -> bool:
    """Whether a recorded value is the engine's secret wrapper."""
    return isinstance(value, dict) and value.get(SIG_KEY) == SECRET_SIG


def secret(value: Any) -> dict[str, Any]:
    """`value` in the engine's secret wrapper, as the engine records a secret."""
    return {SIG_KEY: SECRET_SIG, "value": value}


def unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if is_secret(value):
            return unwrap(value.get("value"))
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value
