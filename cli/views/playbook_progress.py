"""Live progress of a playbook run: a bar and a status line per host (plain lines off a terminal)."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from dcops.cli.views.output import error_console

_DONE = {
    "runner_on_ok": "ok",
    "runner_on_failed": "failed",
    "runner_on_unreachable": "unreachable",
    "runner_on_skipped": "skipped",
}


class PlaybookProgress:
    """Shows hosts × tasks while ansible-runner reports events (on stderr)."""

    def __init__(self, hosts: list[str], live: bool = True) -> None:
        self.console = error_console()
        self.live = live
        self.interactive = live and self.console.is_terminal
        self.tasks_seen = 0
        self.done: dict[str, int] = {}
        self.counts: dict[str, dict[str, int]] = {}
        self.rows: dict[str, TaskID] = {}
        self.progress = Progress(
            TextColumn("{task.fields[host]:<10}"),
            BarColumn(bar_width=24),
            MofNCompleteColumn(),
            TextColumn("{task.fields[status]}"),
            console=self.console,
            transient=False,
        )
        self.hosts = hosts

    def __enter__(self) -> PlaybookProgress:
        if self.interactive:
            self.progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.interactive:
            self.progress.stop()

    def event(self, event: Mapping[str, Any]) -> None:
        """Take one ansible-runner event and update the display."""
        kind = event.get("event", "")
        data = event.get("event_data", {}) or {}
        if kind == "playbook_on_task_start":
            self.tasks_seen += 1
            if self.live and not self.interactive:
                self.console.print(f"TASK {data.get('task', '')}", markup=False, highlight=False)
        elif kind == "playbook_on_play_start" and self.live and not self.interactive:
            self.console.print(f"PLAY {data.get('play', '')}", markup=False, highlight=False)
        elif kind in _DONE and data.get("host"):
            self._host_done(data["host"], _DONE[kind], data, event)

    def _host_done(
        self, host: str, outcome: str, data: Mapping[str, Any], event: Mapping[str, Any]
    ) -> None:
        res = data.get("res", {}) or {}
        if outcome == "ok" and res.get("changed"):
            outcome = "changed"
        self.done[host] = self.done.get(host, 0) + 1
        counts = self.counts.setdefault(host, {})
        counts[outcome] = counts.get(outcome, 0) + 1
        if not self.interactive:
            if self.live and outcome in ("changed", "failed", "unreachable"):
                self.console.print(f"  {outcome}: {host}", markup=False, highlight=False)
            return
        tally = " ".join(f"{k} {v}" for k, v in sorted(counts.items()))
        status = f"{tally} — {data.get('task', '')}"
        if host not in self.rows:
            self.rows[host] = self.progress.add_task("", host=host, status="", total=None)
        total = max(self.tasks_seen, self.done[host])
        self.progress.update(self.rows[host], completed=self.done[host], total=total, status=status)
