"""Runs the real `__main__.py` under Pulumi's mock runtime, offline, and records every registration.

The recording keeps what the engine itself would receive: inputs with their secret wrappers,
parent, dependencies and resource options. It serves the tests, `make plan` and the evaluation
benchmark. The mock cloud answers with plausible, fixed values; secrets it cannot know are
recognisable sentinels.
"""

from __future__ import annotations

import asyncio
import runpy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks, rpc
from pulumi.runtime import settings as runtime_settings
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_root_resource
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mock_cloud import (
    MockCloud,
)
from offline.records import Evaluation, Registration, secret
from offline.stack_files import PROJECT, PROJECT_DIR, as_config_string, sentinel_secrets, stack_config


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
