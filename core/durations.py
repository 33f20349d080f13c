"""Prometheus-style durations (15s, 1m, 2h30m) as they appear in dcops.toml."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

DURATION_RULE = "a Prometheus duration such as 15s, 1m, 2h30m"
_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
_UNITS_MS = {"y": 31_536_000_000, "w": 604_800_000, "d": 86_400_000, "h": 3_600_000}
_UNITS_MS |= {"m": 60_000, "s": 1_000, "ms": 1}


def _duration(value: str) -> str:
    if not value or not _DURATION.match(value):
        raise ValueError(f"{value!r} is not a duration; allowed: {DURATION_RULE}")
    return value


def duration_seconds(value: str) -> float:
    """A Prometheus duration in seconds."""
    total = 0
    for number, unit in re.findall(r"(\d+)(ms|[ywdhms])", value):
        total += int(number) * _UNITS_MS[unit]
    return total / 1000


Duration = Annotated[str, AfterValidator(_duration)]
