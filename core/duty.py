"""The duty roster and escalation of dcops.toml: who is on shift when, and who hears next."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, model_validator

from dcops.core.durations import Duration, duration_seconds
from dcops.core.strict import Strict

TARGETS = ("on-call", "backup", "manager", "shift")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _clock(value: str) -> str:
    if not _CLOCK.match(value):
        raise ValueError(f"{value!r} is not a time of day; allowed: HH:MM, 00:00 to 23:59")
    return value


def clock_minutes(value: str) -> int:
    """Minutes after midnight of an HH:MM time."""
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


Clock = Annotated[str, AfterValidator(_clock)]
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Shift(Strict):
    """People of one role on duty from start to end (past midnight if end ≤ start) on some days."""

    role: str = Field(min_length=1)
    days: list[Day] = list(DAYS)
    start: Clock = "00:00"
    end: Clock = "00:00"
    people: list[str] = Field(min_length=1, description="on call first, then the backups in order")


class Roster(Strict):
    """The duty roster (值班表): shifts by role, and the duty manager (值班经理) above them."""

    manager: str | None = None
    shifts: list[Shift] = []


class EscalationStep(Strict):
    """After this long unacknowledged, tell these people through these channels."""

    after: Duration = "0s"
    to: Literal["on-call", "backup", "manager", "shift"] = "on-call"
    channels: list[str] = Field(min_length=1)


class EscalationPolicy(Strict):
    """Which alerts (by severity and category) go to which role's shift, step by step."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$")
    role: str = Field(min_length=1)
    severities: list[Literal["critical", "warning"]] = []
    categories: list[str] = []
    steps: list[EscalationStep] = Field(min_length=1)

    @model_validator(mode="after")
    def _steps_in_order(self) -> EscalationPolicy:
        times = [duration_seconds(step.after) for step in self.steps]
        if times != sorted(times):
            raise ValueError("steps must be in the order of their `after`")
        return self

    def matches(self, labels: dict[str, str]) -> bool:
        """Whether an alert with these labels follows this policy."""
        severity_ok = not self.severities or labels.get("severity") in self.severities
        category_ok = not self.categories or labels.get("category") in self.categories
        return severity_ok and category_ok
