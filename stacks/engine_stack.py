"""An Automation API stack without the CLI runs that dcops does not need.

`auto.Stack` selects its stack when it is made (`pulumi stack select`), and after every update,
refresh or destroy reads the stack's outputs twice and its last history entry back (`pulumi
stack output`, `pulumi stack history`): four more starts of the CLI, each 0.2–0.6 s on a loaded
machine, for answers dcops already has. Every command names its stack (`--stack`), so nothing
needs selecting; the stack's state is read once when it is opened (dcops checks which parts it
holds before an update); the engine's event stream ends with a summary event holding the same
counts as the history entry; and dcops reads a stack's outputs once, after an update
(`StackDriver.up`), not after every run. The engine's lock, its
checkpoints and its history are untouched: the engine writes them as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from pulumi import automation as auto
from pulumi.automation.events import EngineEvent, SummaryEvent


class EngineStack(auto.Stack):
    """A stack opened by reading its state; results of a run come from its summary event."""

    def __init__(self, name: str, workspace: auto.Workspace) -> None:
        # Not super().__init__: that runs `pulumi stack select`, which open() makes unneeded.
        self.name = name
        self.workspace = workspace
        self.summary: SummaryEvent | None = None

    def __repr__(self) -> str:
        return f"EngineStack(stack_name={self.name!r}, workspace={self.workspace!r})"

    @staticmethod
    def read_state(name: str, workspace: auto.Workspace) -> Mapping[str, Any] | None:
        """The stack's last deployment, or None when the stack does not exist yet (read-only)."""
        try:
            return workspace.export_stack(name).deployment or {}
        except auto.StackNotFoundError:
            return None

    @classmethod
    def open(
        cls, name: str, workspace: auto.Workspace, state: Mapping[str, Any] | None
    ) -> tuple[EngineStack, Mapping[str, Any]]:
        """The stack and its state as read_state found it; a stack not found is created empty."""
        if state is None:
            try:
                workspace.create_stack(name)
                state = {}
            except auto.StackAlreadyExistsError:  # another run created it in between
                state = cls.read_state(name, workspace) or {}
        return cls(name, workspace), state

    @contextmanager
    def reporting(self, on_event: Callable[[EngineEvent], None]) -> Iterator[Any]:
        """For one run: on_event, which also keeps the run's summary event for outputs/info."""

        def listen(event: EngineEvent) -> None:
            if event.summary_event is not None:
                self.summary = event.summary_event
            on_event(event)

        self.summary = None
        try:
            yield listen
        finally:
            self.summary = None

    def outputs(self) -> auto.OutputMap:
        """Nothing while a run that reported its summary ends (dcops reads them after); else the CLI's."""
        return {} if self.summary is not None else super().outputs()

    def info(self, show_secrets: bool = True) -> auto.UpdateSummary | None:
        """The running operation's counts from its summary event (the only field dcops reads);
        outside a run, or without the event, the CLI's last history entry."""
        if self.summary is None:
            return super().info(show_secrets)
        now = datetime.now(UTC)
        return auto.UpdateSummary(
            kind="update",
            start_time=now,
            end_time=now,
            message="",
            environment={},
            config={},
            result="succeeded",
            resource_changes=dict(self.summary.resource_changes),
        )
