"""The bench's registration floor: what a stack's program registered, written back as a straight-line
Pulumi program of literals.

The program it writes registers the same resources the same way the stack's program does: the
SDKs' typed resource classes, nested inputs as their `...Args` classes, secret inputs as secret
Outputs, the same names, parents, providers, dependencies and resource options, then the components'
outputs and the stack's exports. It computes nothing, so its run time is what the SDK charges for
registering exactly these resources, and the stack's evaluation time above it is the program's own.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Iterator
from typing import Any

from pulumi import _types
from pulumi.runtime import rpc

from offline.records import Evaluation, Registration, is_secret

PROVIDER_PREFIX = "pulumi:providers:"
HEADER = '"""What one stack registers, with literals only (written by offline/replay.py)."""'


def resource_class(token: str) -> type:
    """The SDK class registered for a resource type token, found through the SDK's own registry."""
    if token.startswith(PROVIDER_PREFIX):
        package = rpc.get_resource_package(token.removeprefix(PROVIDER_PREFIX), "")
        assert package is not None, f"no SDK registered the provider {token}"
        info = package.pkg_info  # type: ignore[attr-defined]
        return _attribute(info["fqn"], info["class"])
    package_name, module_name, _ = token.split(":")
    module = rpc.get_resource_module(package_name, module_name, "")
    assert module is not None, f"no SDK registered the resource type {token}"
    info = module.mod_info  # type: ignore[attr-defined]
    return _attribute(info["fqn"], info["classes"][token])


def _attribute(module: str, name: str) -> type:
    found: type = getattr(__import__(module, fromlist=[name]), name)
    return found


class _Writer:
    """Python source for values as a program hands them to the SDK; remembers the modules it names."""

    def __init__(self) -> None:
        self.modules: set[str] = {"pulumi"}

    def name(self, cls: type) -> str:
        self.modules.add(cls.__module__)
        return f"{cls.__module__}.{cls.__qualname__}"

    def value(self, value: Any, typ: Any = None) -> str:
        if is_secret(value):
            return f"pulumi.Output.secret({self.value(value.get('value'), typ)})"
        typ = _types.unwrap_type(typ) if typ is not None else None
        if isinstance(value, list):
            (element,) = typing.get_args(typ) or (None,)
            return "[" + ", ".join(self.value(item, element) for item in value) + "]"
        if isinstance(value, dict) and typ is not None and _types.is_input_type(typ):
            return f"{self.name(typ)}({self.arguments(typ, value)})"
        if isinstance(value, dict):
            return "{" + ", ".join(f"{key!r}: {self.value(item)}" for key, item in value.items()) + "}"
        if typ is int and isinstance(value, float):
            return repr(int(value))
        return repr(value)

    def arguments(self, args_type: type, values: dict[str, Any]) -> str:
        """Keyword arguments of an input type or a resource: Python names, each value per its declared type."""
        names = {engine: python for python, engine in _types.input_type_py_to_pulumi_names(args_type).items()}
        types = _types.input_type_types(args_type)
        return ", ".join(f"{names.get(key, key)}={self.value(item, types.get(key))}" for key, item in values.items())


def _args_type(cls: type) -> type:
    """The resource's own `...Args` class; the SDKs name it `...InitArgs` where a nested input type took `...Args`."""
    module = __import__(cls.__module__, fromlist=[cls.__name__])
    found: type = getattr(module, f"{cls.__name__}InitArgs", None) or getattr(module, f"{cls.__name__}Args")
    return found


def _provider_inputs(args_type: type, inputs: dict[str, Any]) -> dict[str, Any]:
    """A provider's inputs as the program gives them: the SDK hands every non-string one over JSON-encoded."""
    types = _types.input_type_types(args_type)
    return {key: value if _types.unwrap_type(types[key]) is str else json.loads(value) for key, value in inputs.items()}


def _options(registration: Registration, variables: dict[str, str]) -> str:
    provider = registration.provider.rsplit("::", 1)[0]
    options = {
        "parent": variables.get(registration.parent),
        "provider": variables.get(provider) if registration.provider else None,
        "depends_on": "[" + ", ".join(variables[urn] for urn in registration.dependencies) + "]"
        if registration.dependencies
        else None,
        "protect": "True" if registration.protect else None,
        "retain_on_delete": "True" if registration.retain_on_delete else None,
        "delete_before_replace": repr(registration.delete_before_replace)
        if registration.delete_before_replace_defined
        else None,
        "ignore_changes": repr(registration.ignore_changes) if registration.ignore_changes else None,
        "custom_timeouts": f"pulumi.CustomTimeouts(**{registration.custom_timeouts!r})"
        if registration.custom_timeouts
        else None,
        "deleted_with": variables.get(registration.deleted_with),
        "replacement_trigger": repr(registration.replacement_trigger)
        if registration.replacement_trigger is not None
        else None,
    }
    return "pulumi.ResourceOptions(" + ", ".join(f"{key}={value}" for key, value in options.items() if value) + ")"


def _statements(evaluation: Evaluation, writer: _Writer) -> Iterator[str]:
    variables: dict[str, str] = {}
    for index, registration in enumerate(evaluation.resources):
        variable = variables[registration.urn] = f"r{index}"
        options = _options(registration, variables)
        if not registration.custom:
            component = f"pulumi.ComponentResource({registration.type!r}, {registration.name!r}, None, {options})"
            yield f"{variable} = {component}"
            continue
        cls = resource_class(registration.type)
        args_type = _args_type(cls)
        inputs = registration.inputs
        if registration.type.startswith(PROVIDER_PREFIX):
            inputs = _provider_inputs(args_type, inputs)
        arguments = writer.arguments(args_type, inputs)
        yield f"{variable} = {writer.name(cls)}({registration.name!r}, opts={options}, {arguments})"
    for urn, outputs in evaluation.outputs.items():
        if urn in variables:
            yield f"{variables[urn]}.register_outputs({writer.value(outputs)})"
    for name, value in evaluation.exports.items():
        yield f"pulumi.export({name!r}, {writer.value(value)})"


def straight_line_program(evaluation: Evaluation) -> str:
    """Python source that registers, with literals only, what `evaluation` recorded."""
    writer = _Writer()
    body = list(_statements(evaluation, writer))
    imports = [f"import {module}" for module in sorted(writer.modules)]
    return "\n".join([HEADER, *imports, *body, ""])
