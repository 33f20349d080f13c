"""A Progress that remembers what the engine reported, for tests."""

from __future__ import annotations


class RecordedProgress:
    """Keeps every step and note."""

    def __init__(self) -> None:
        self.total = 0
        self.steps: list[tuple[str, str, bool, bool]] = []
        self.notes: list[str] = []

    def planned(self, total: int) -> None:
        """Remember the planned total."""
        self.total = total

    def step(self, op: str, urn: str, done: bool, failed: bool = False) -> None:
        """Remember a step."""
        self.steps.append((op, urn, done, failed))

    def note(self, message: str) -> None:
        """Remember a note."""
        self.notes.append(message)
