"""The notifier's notices as rows: alert, step, channel, recipients, attempts, delivered.

What `dcops alerts deliveries` and `GET /api/v1/alerts/deliveries` show: the newest notices
first, at most `limit` of them, so that a record years long is never read or sent whole.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dcops.core.errors import InvalidInput, Problem
from dcops.core.site import Site
from dcops.monitors.incidents import Delivery, Incident, IncidentStore
from dcops.monitors.layout import layout_of

DEFAULT_LIMIT = 200
MAX_LIMIT = 1000


def notice_limit(limit: int) -> int:
    """How many notices to list; InvalidInput unless from 1 to MAX_LIMIT."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(
            "要列出的通知条数超出范围 / the number of notices to list is out of range",
            [Problem("limit", "", f"{limit} is not allowed; allowed: 1 to {MAX_LIMIT}")],
        )
    return limit


def notices(site: Site, *, pending: bool = False, limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """The newest notices the notifier recorded (only undelivered ones if pending), newest first.

    `notices` is None before the notifier ran; `total` counts every matching notice, so a
    reader sees when more exist than the `limit` listed.
    """
    notice_limit(limit)
    database = layout_of(site).notifier_db
    if not database.exists():
        return {"notices": None, "total": 0, "limit": limit}
    store = IncidentStore(database)
    try:
        found, total = store.latest_deliveries(limit, pending=pending)
        incidents = store.incidents_by_id(d.incident_id for d in found)
    finally:
        store.close()
    rows = [_row(d, incidents[d.incident_id]) for d in found]
    return {"notices": rows, "total": total, "limit": limit}


def _row(delivery: Delivery, incident: Incident) -> dict[str, Any]:
    return {
        "alert": incident.labels.get("alertname", ""),
        "device": incident.labels.get("device", ""),
        "kind": delivery.kind,
        "step": delivery.step + 1 if delivery.kind == "firing" else None,
        "channel": delivery.channel,
        "recipients": list(delivery.recipients),
        "attempts": delivery.attempts,
        "delivered_at": _when(delivery.delivered_at),
        "last_error": delivery.last_error,
    }


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else ""
