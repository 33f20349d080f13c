"""Engine progress on the terminal: one line per finished resource and a bar."""

from __future__ import annotations

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from dcops.cli.views import output

MARKS = {"create": "+", "update": "~", "delete": "-", "replace": "±", "same": "=", "refresh": "↻"}


class EngineProgress:
    """Draws engine events: a bar over the planned steps and a line per changed resource."""

    def __init__(self, title: str) -> None:
        self._bar = Progress(
            TextColumn(title),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=output.console(),
            transient=True,
        )
        self._task = self._bar.add_task(title, total=None)

    def __enter__(self) -> EngineProgress:
        self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._bar.stop()

    def planned(self, total: int) -> None:
        """Set the bar's length."""
        self._bar.update(self._task, total=total)

    def step(self, op: str, urn: str, done: bool, failed: bool = False) -> None:
        """Print finished non-trivial steps and advance the bar."""
        if not done:
            return
        self._bar.advance(self._task)
        if failed:
            self._bar.console.print(f"✗ {op} {urn.rsplit('::', 1)[-1]} FAILED", markup=False)
        elif op != "same":
            mark = MARKS.get(op, "·")
            self._bar.console.print(f"{mark} {op} {urn.rsplit('::', 1)[-1]}", markup=False)

    def note(self, message: str) -> None:
        """Print an engine warning or error."""
        self._bar.console.print(message, markup=False)
