"""The server's notion of now, injectable so tests can move time (lockouts, session expiry)."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Something that tells the time in seconds since the epoch."""

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    """The machine's clock."""

    def now(self) -> float:
        """Seconds since the epoch, from the system."""
        return time.time()


class ManualClock:
    """A clock that moves only when told to (for tests)."""

    def __init__(self, start: float | None = None) -> None:
        self.at = time.time() if start is None else start

    def now(self) -> float:
        """The time it was set to."""
        return self.at

    def advance(self, seconds: float) -> None:
        """Move the clock forward."""
        self.at += seconds
