"""Run Pulumi programs offline under mocks and record every resource they register."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar, TypeVarTuple, Unpack

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2, source_pb2

from dcops.stacks.mocks import CloudMocks

PLAN_STACK = "plan"
PROJECT = "dcops"
ROOT_TYPE = "pulumi:pulumi:Stack"
SECRET_SIG = rpc._special_sig_key
SECRET_MARK = "[secret]"
_Args = TypeVarTuple("_Args")
_Result = TypeVar("_Result")


@dataclass
class PlannedResource:
    """One resource as the program declared it, with the outputs the mocks computed."""

    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    provider: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    id: str = ""
    secrets: list[str] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    """Everything one mocked run registered, and the URNs registered more than once."""

    resources: list[PlannedResource]
    duplicates: list[str]


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock resource monitor that keeps each registration's parent, provider and inputs."""

    def __init__(self, mocks: CloudMocks) -> None:
        super().__init__(mocks)
        self._lock = threading.Lock()
        self.planned: list[PlannedResource] = []
        self.duplicates: list[str] = []
        self._seen: set[str] = set()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """URNs as the engine makes them: the root stack's type is not part of the chain."""
        qualified = type_
        if parent and not parent.split("::")[2].endswith(ROOT_TYPE):
            qualified = parent.split("::")[2] + "$" + type_
        return f"urn:pulumi:{pulumi.get_stack()}::{pulumi.get_project()}::{qualified}::{name}"

    def RegisterResource(self, request: Any) -> Any:
        """Register like the stock mock monitor, and record what was registered."""
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == ROOT_TYPE:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        raw = rpc.deserialize_properties(request.object)
        secrets = sorted(k for k, v in raw.items() if _is_secret(v))
        inputs = {k: _plain(_reveal(v)) for k, v in raw.items()}
        args = pulumi.runtime.MockResourceArgs(
            typ=request.type,
            name=request.name,
            inputs=inputs,
            provider=request.provider,
            resource_id=request.importId,
            custom=request.custom or False,
        )
        found, state = self.mocks.new_resource(args)
        rid = found or ""
        self._record(
            PlannedResource(
                urn=urn,
                type=request.type,
                name=request.name,
                parent=request.parent,
                custom=bool(request.custom),
                provider=request.provider,
                inputs={k: (SECRET_MARK if k in secrets else v) for k, v in inputs.items()},
                outputs={k: (SECRET_MARK if k in secrets else v) for k, v in state.items()},
                id=rid,
                secrets=secrets,
                dependencies=list(request.dependencies),
            )
        )
        wire = {k: (raw[k] if k in secrets else v) for k, v in state.items()}
        obj = struct_pb2.Struct()
        obj.update(wire)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, rid, state)
        return resource_pb2.RegisterResourceResponse(urn=urn, id=rid, object=obj)

    def _record(self, planned: PlannedResource) -> None:
        with self._lock:
            if planned.urn in self._seen:
                self.duplicates.append(planned.urn)
            self._seen.add(planned.urn)
            self.planned.append(planned)


def _is_secret(value: Any) -> bool:
    return isinstance(value, dict) and value.get(SECRET_SIG) == rpc._special_secret_sig


def _plain(value: Any) -> Any:
    """Wire numbers are floats: give whole numbers back as ints (ports, sizes, counts)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _reveal(value: Any) -> Any:
    return value["value"] if _is_secret(value) else value


@contextlib.contextmanager
def _without_source_positions() -> Iterator[None]:
    # The SDK walks the whole Python stack on every registration to tell the engine where the
    # resource was declared; mocks discard it, and it is a fifth of the offline run's time.
    original = sdk_resource._get_stack_trace
    sdk_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        sdk_resource._get_stack_trace = original


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector for a block that only builds up objects."""
    # Every registration leaves hundreds of futures, tasks and closures alive until the run
    # ends, so the cyclic collector keeps rescanning a growing heap for nothing: it was two
    # thirds of a 100-tenancy plan. Pause it for the run; the garbage is left to the process's
    # end (plan workers) or to a later collection, since one full collection of it costs as
    # much as the run did.
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class InlineCallLoop(asyncio.SelectorEventLoop):
    """An event loop that runs the SDK's calls to the mock monitor in place, not in threads."""

    # The SDK hands every call to its monitor to a thread pool because a real engine answers
    # over gRPC. The mock monitor answers at once from this process, so the hop to a thread
    # and back only adds thread switches (a tenth of an offline run's CPU, more under load).
    def run_in_executor(
        self,
        executor: Executor | None,
        func: Callable[[Unpack[_Args]], _Result],
        *args: *_Args,
    ) -> asyncio.Future[_Result]:
        """The call's result as a finished future, computed here and now."""
        done: asyncio.Future[_Result] = self.create_future()
        try:
            done.set_result(func(*args))
        except Exception as exc:  # the awaiting SDK code gets it, as from a thread
            done.set_exception(exc)
        return done


def evaluate(programs: Iterable[Callable[[], None]], mocks: CloudMocks) -> Evaluation:
    """Run the programs in one mocked Pulumi run and return what they registered."""
    chosen = list(programs)

    def run_all() -> None:
        for program in chosen:
            program()

    # A loop of our own, made before the mocks register the root stack: a loop inherited
    # across fork() would wait on executor threads that only exist in the parent.
    loop = InlineCallLoop()
    asyncio.set_event_loop(loop)
    monitor = RecordingMonitor(mocks)
    try:
        pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=PLAN_STACK, monitor=monitor)
        with _without_source_positions(), collector_paused():
            pulumi.runtime.test(run_all)()  # type: ignore[no-untyped-call]
    finally:
        loop.close()
        asyncio.set_event_loop(None)
    return Evaluation(resources=list(monitor.planned), duplicates=sorted(set(monitor.duplicates)))
