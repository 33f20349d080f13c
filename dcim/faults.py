"""Why a device poll failed, in the reasons the metrics use."""

from __future__ import annotations

from typing import Literal

Reason = Literal["timeout", "refused", "auth", "decode", "exception", "out_of_range", "other"]
REASONS: tuple[Reason, ...] = (
    "timeout",
    "refused",
    "auth",
    "decode",
    "exception",
    "out_of_range",  # a reading outside what it can physically be: dropped, not exported
    "other",
)


class DeviceFault(Exception):
    """A device did not give a usable answer; reason is one of REASONS."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason: Reason = reason
