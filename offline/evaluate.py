"""Runs the real `__main__.py` under Pulumi's mock runtime, offline, and records every registration.

The recording keeps what the engine itself would receive: inputs with their secret wrappers,
parent, dependencies and resource options. It serves the tests, `make plan` and the evaluation
benchmark. The mock cloud answers with plausible, fixed values; secrets it cannot know are
recognisable sentinels.
"""

from __future__ import annotations

import asyncio
import json
import runpy
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.project import config_schema
from components.settings import Settings, parse_settings
from offline.mock_cloud import (
    SENTINEL,
    MockCloud,
)

PROJECT_DIR = Path(__file__).resolve().parent.parent
PROJECT = "p2pvps"
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


def _registration(request: Any, urn: str, id_: str) -> Registration:
    timeouts = request.customTimeouts
    return Registration(
        type=request.type,
        name=request.name,
        custom=request.custom,
        urn=urn,
        id=id_,
        inputs=json_format.MessageToDict(request.object),
        parent=request.parent,
        dependencies=list(request.dependencies),
        provider=request.provider,
        protect=request.protect,
        retain_on_delete=request.retainOnDelete,
        delete_before_replace=request.deleteBeforeReplace,
        delete_before_replace_defined=request.deleteBeforeReplaceDefined,
        ignore_changes=list(request.ignoreChanges),
        custom_timeouts={k: getattr(timeouts, k) for k in ("create", "update", "delete") if getattr(timeouts, k)},
        deleted_with=request.deletedWith,
        replacement_trigger=json_format.MessageToDict(request.replacement_trigger)
        if request.HasField("replacement_trigger")
        else None,
        additional_secret_outputs=list(request.additionalSecretOutputs),
    )


class _RecordingMonitor(mocks.MockMonitor):
    def __init__(self, mock: mocks.Mocks, registrations: list[Registration], outputs: dict[str, dict[str, Any]]):
        super().__init__(mock)
        self._registrations = registrations
        self._outputs = outputs

    def RegisterResource(self, request: Any) -> Any:
        """MockMonitor.RegisterResource, plus what the engine also does: outputs named in
        `additionalSecretOutputs` come back secret."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        args = mocks.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=rpc.deserialize_properties(request.object),
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        new_id, state = self.mocks.new_resource(args)
        id_ = new_id or ""
        for key in request.additionalSecretOutputs:
            if key in state:
                state[key] = secret(state[key])
        self.resources[urn] = mocks.MockMonitor.ResourceRegistration(urn, id_, state)
        self._registrations.append(_registration(request, urn, id_))
        return resource_pb2.RegisterResourceResponse(
            urn=urn, id=id_, object=_sync_await(rpc.serialize_properties(state, {}))
        )

    def RegisterResourceOutputs(self, request: Any) -> Any:
        self._outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


def load_yaml(path: Path) -> Any:
    with path.open() as handle:
        return yaml.safe_load(handle)


def project_defaults() -> dict[str, Any]:
    """Config defaults declared in Pulumi.yaml, which the Pulumi CLI applies before the program runs."""
    return {f"{PROJECT}:{key}": spec["default"] for key, spec in config_schema().items() if "default" in spec}


def secret_keys() -> list[str]:
    """Config keys Pulumi.yaml declares secret."""
    return sorted(key for key, spec in config_schema().items() if spec.get("secret"))


def sentinel_secrets() -> dict[str, str]:
    """A recognisable value for every secret key, so tests can look for it anywhere it must not be."""
    return {key: f"{SENTINEL}{key}" for key in secret_keys()}


def stack_names() -> list[str]:
    return sorted(path.name[len("Pulumi.") : -len(".yaml")] for path in PROJECT_DIR.glob("Pulumi.*.yaml"))


def stack_config(stack: str) -> dict[str, Any]:
    """The stack file's values over the project defaults, as the CLI would merge them.

    Encrypted (`secure:`) values cannot be decrypted here; they are left to `secrets`.
    """
    values = load_yaml(PROJECT_DIR / f"Pulumi.{stack}.yaml").get("config") or {}
    plain = {key: value for key, value in values.items() if not (isinstance(value, dict) and "secure" in value)}
    return project_defaults() | plain


def raw_config(stack: str = "dev", **changes: Any) -> dict[str, str]:
    """The stack's `p2pvps:*` values as the CLI hands them to the program: strings, lists as JSON."""
    prefix = f"{PROJECT}:"
    config = {key.removeprefix(prefix): value for key, value in stack_config(stack).items() if key.startswith(prefix)}
    config |= changes
    return {key: as_config_string(value) for key, value in config.items() if value is not None}


def settings_for(stack: str = "dev", *, secrets: Mapping[str, str] | None = None, **changes: Any) -> Settings:
    """Parsed settings of a stack file (with changes), every secret set (or `secrets`), outside the Pulumi runtime."""
    secrets = sentinel_secrets() if secrets is None else secrets
    return parse_settings(raw_config(stack, **changes), project=PROJECT, stack=stack, secrets=secrets)


def as_config_string(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value)


def evaluate(stack: str = "dev", **options: Any) -> Evaluation:
    """Run the program for `stack` (see `run_program`) and raise what the program raised."""
    evaluation = run_program(stack, **options)
    if evaluation.error is not None:
        raise evaluation.error
    return evaluation


def run_program(
    stack: str = "dev",
    *,
    overrides: Mapping[str, Any] | None = None,
    remove: tuple[str, ...] = (),
    secrets: Mapping[str, str] | None = None,
    cloud: MockCloud | None = None,
) -> Evaluation:
    """Run `__main__.py` for `stack` with config changes; a failure is kept in `error` with what was registered."""
    config = stack_config(stack) | {f"{PROJECT}:{k}": v for k, v in (overrides or {}).items()}
    for key in remove:
        config.pop(f"{PROJECT}:{key}", None)
    secrets = sentinel_secrets() if secrets is None else secrets
    config |= {f"{PROJECT}:{k}": v for k, v in secrets.items()}
    return run_pulumi_program(
        PROJECT_DIR / "__main__.py",
        project=PROJECT,
        stack=stack,
        config={key: as_config_string(value) for key, value in config.items()},
        secret_keys=[f"{PROJECT}:{k}" for k in secrets],
        mock=cloud or MockCloud(),
    )


def run_pulumi_program(
    main: Path,
    *,
    project: str,
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    mock: mocks.Mocks,
) -> Evaluation:
    """Run any Pulumi program file under the mock runtime with `config`; record what it registers."""
    registrations: list[Registration] = []
    outputs: dict[str, dict[str, Any]] = {}
    runtime_settings.ROOT.set(None)  # a fresh root stack resource, so exports never carry over
    pulumi.runtime.set_mocks(
        mock, project=project, stack=stack, preview=False, monitor=_RecordingMonitor(mock, registrations, outputs)
    )
    pulumi.runtime.set_all_config(dict(config), secret_keys=secret_keys)
    error: BaseException | None = None

    def program() -> None:
        runpy.run_path(str(main), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(program))
    except Exception as exc:  # noqa: BLE001 - handed to the caller with what was registered before it
        error = exc
        _settle()
    return Evaluation(registrations, outputs, _stack_exports() if error is None else {}, error)


def _settle() -> None:
    """Forget a failed program's outstanding work: the runtime stops at the first failure and keeps
    the rest (outputs waiting on the failed value) in module state, where the next run would await it."""
    state: Any = runtime_settings.SETTINGS  # its attributes are context properties the type checker cannot see
    with state.lock:
        state.outputs.clear()
    runtime_settings._get_rpc_manager().clear()


def _ensure_event_loop() -> None:
    """The mock monitor runs in executor threads, which need an event loop to deserialize resources."""
    try:
        asyncio.get_event_loop()
    except RuntimeError:
        asyncio.set_event_loop(asyncio.new_event_loop())


def _stack_exports() -> dict[str, Any]:
    """Values of `pulumi.export`, resolved; secret ones marked with their wrapper."""
    root = get_root_resource()
    exports: dict[str, Any] = {}
    for name, value in (getattr(root, "outputs", None) or {}).items():
        output = pulumi.Output.from_input(value)
        resolved = _sync_await(output.future())
        exports[name] = secret(resolved) if _sync_await(output.is_secret()) else resolved
    return exports
