"""The journal read as operations: intent and result paired, incomplete ones marked, filtered."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any
from zoneinfo import ZoneInfo

from dcops.core.errors import InputError


@dataclass
class Operation:
    """One change: who, when, what, on which object, with what result and diff."""

    id: int
    correlation: str
    time_utc: str
    time_local: str
    user: str
    name: str
    host: str
    roles: list[str]
    action: str
    object: str
    parameters: dict[str, Any]
    status: str = "incomplete"
    error: str | None = None
    result_id: int | None = None
    finished_utc: str | None = None
    diff: str | None = None
    links: dict[str, str] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)
    login: str = ""
    method: str = ""
    source: str = ""

    def as_dict(self) -> dict[str, Any]:
        """Plain data for `--output json` and the reports."""
        return dict(self.__dict__)


def _object(event: dict[str, Any]) -> str:
    target = event.get("object") or {}
    kind, ident = str(target.get("type", "")), str(target.get("id", ""))
    return f"{kind}/{ident}" if ident else kind


def _start(event: dict[str, Any]) -> Operation:
    actor = event.get("actor") or {}
    moment = event.get("time") or {}
    return Operation(
        id=int(event.get("id", -1)),
        correlation=str(event.get("correlation", "")),
        time_utc=str(moment.get("utc", "")),
        time_local=str(moment.get("local", "")),
        user=str(actor.get("user", "")),
        name=str(actor.get("name", "")),
        host=str(actor.get("host", "")),
        roles=list(actor.get("roles", [])),
        action=str(event.get("action", "")),
        object=_object(event),
        parameters=dict(event.get("parameters") or {}),
        login=str(actor.get("login", "")),
        method=str(actor.get("method", "")),
        source=str(actor.get("source", "")),
    )


def _finish(op: Operation, event: dict[str, Any]) -> None:
    result = event.get("result") or {}
    op.status = str(result.get("status", "failure"))
    op.error = result.get("error")
    op.result_id = int(event.get("id", -1))
    op.finished_utc = str((event.get("time") or {}).get("utc", ""))
    op.diff = event.get("diff")
    op.links = dict(event.get("links") or {})
    op.details = dict(event.get("details") or {})


def operations(events: Iterable[dict[str, Any]]) -> list[Operation]:
    """Operations in journal order; an intent without a result stays `incomplete`."""
    found: list[Operation] = []
    open_ops: dict[str, Operation] = {}
    for event in events:
        phase = event.get("phase")
        if phase == "intent":
            op = _start(event)
            open_ops[op.correlation] = op
            found.append(op)
            continue
        op_or_none = (
            open_ops.pop(str(event.get("correlation", "")), None) if phase == "result" else None
        )
        if op_or_none is None:  # a record, or a result whose intent was pruned
            op_or_none = _start(event)
            found.append(op_or_none)
        _finish(op_or_none, event)
    return found


@dataclass(frozen=True)
class Filter:
    """What `dcops audit log` and `report` select: a period, an actor, an action, an object."""

    since: datetime | None = None
    until: datetime | None = None
    actor: str | None = None
    action: str | None = None
    object: str | None = None

    def matches(self, op: Operation) -> bool:
        """Whether the operation is selected."""
        moment = parse_utc(op.time_utc)
        if self.since and (moment is None or moment < self.since):
            return False
        if self.until and (moment is None or moment >= self.until):
            return False
        if self.actor and op.user != self.actor:
            return False
        if self.action and not (
            op.action == self.action or op.action.startswith(self.action + ".")
        ):
            return False
        if not self.object:
            return True
        named = [op.object, *op.parameters.get("objects", [])]
        return any(o == self.object or o.split("/")[0] == self.object for o in named)


def in_zone(moment_utc: str, timezone: str) -> str:
    """A UTC event time shown in a time zone, ISO 8601 with its offset ('' if unreadable)."""
    moment = parse_utc(moment_utc)
    return moment.astimezone(ZoneInfo(timezone)).isoformat() if moment else ""


def parse_utc(text: str) -> datetime | None:
    """An event's UTC time, or None if it has none."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_moment(value: str, timezone: str, option: str, end_of_day: bool = False) -> datetime:
    """A --since/--until value: a date (in the site's time zone) or an ISO date-time."""
    zone = ZoneInfo(timezone)
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            moment = datetime.combine(day, time(), zone)
            if end_of_day:
                moment = datetime.combine(date.fromordinal(day.toordinal() + 1), time(), zone)
            return moment.astimezone(UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"{option} {value!r} is not a date; allowed: YYYY-MM-DD (site time, {timezone}) "
            "or an ISO date-time such as 2026-11-25T08:00:00+08:00"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)).astimezone(UTC)
