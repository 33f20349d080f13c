"""Audit events: their fields, canonical JSON encoding and the times they carry."""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

FORMAT_VERSION = 1
Phase = Literal["intent", "result", "record"]
Status = Literal["pending", "success", "failure"]
STATUSES = ("pending", "success", "failure", "incomplete")


def canonical(data: Any) -> bytes:
    """Canonical JSON: sorted keys, no spaces, UTF-8, no NaN; the bytes that are hashed."""
    return json.dumps(
        data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def timestamps(timezone: str, now: datetime | None = None) -> dict[str, str]:
    """The moment in UTC and in the site's time zone, to the microsecond."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    local = moment.astimezone(ZoneInfo(timezone))
    return {
        "utc": moment.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "local": local.isoformat(timespec="microseconds"),
        "timezone": timezone,
    }


def new_correlation() -> str:
    """A fresh correlation id shared by the intent and result of one operation."""
    return uuid.uuid4().hex


def split_target(target: str) -> dict[str, str]:
    """'tenancy/fgw' as {"type": "tenancy", "id": "fgw"}; a bare 'alert-rules' has no id."""
    kind, _, ident = target.partition("/")
    return {"type": kind, "id": ident}


def draft(
    *,
    phase: Phase,
    action: str,
    target: str,
    actor: Mapping[str, Any],
    parameters: Mapping[str, Any],
    correlation: str,
    timezone: str,
    status: Status,
    error: str | None = None,
    diff: str | None = None,
    links: Mapping[str, str] | None = None,
    details: Mapping[str, Any] | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """An event without its position fields (id and prev), which the journal fills in."""
    event: dict[str, Any] = {
        "v": FORMAT_VERSION,
        "phase": phase,
        "action": action,
        "object": split_target(target),
        "actor": dict(actor),
        "parameters": dict(parameters),
        "correlation": correlation,
        "time": timestamps(timezone, now),
        "result": {"status": status, "error": error},
        "links": dict(links or {}),
    }
    if diff is not None:
        event["diff"] = diff
    if details:
        event["details"] = dict(details)
    _check_finite(event)
    return event


def _check_finite(value: Any) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"audit events cannot hold {value!r}")
    if isinstance(value, dict):
        for item in value.values():
            _check_finite(item)
    elif isinstance(value, list):
        for item in value:
            _check_finite(item)
