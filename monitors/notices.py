"""The notifier's notices as rows: alert, step, channel, recipients, attempts, delivered."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from dcops.core.site import Site
from dcops.monitors.incidents import IncidentStore
from dcops.monitors.layout import layout_of


def notices(site: Site, *, pending: bool = False) -> list[dict[str, Any]] | None:
    """Every notice the notifier recorded (only undelivered ones if pending); None before it ran."""
    database = layout_of(site).notifier_db
    if not database.exists():
        return None
    store = IncidentStore(database)
    try:
        incidents = {i.id: i for i in store.all_incidents()}
        found = [d for d in store.deliveries() if not (pending and d.delivered_at)]
    finally:
        store.close()
    return [
        {
            "alert": incidents[d.incident_id].labels.get("alertname", ""),
            "device": incidents[d.incident_id].labels.get("device", ""),
            "kind": d.kind,
            "step": d.step + 1 if d.kind == "firing" else None,
            "channel": d.channel,
            "recipients": list(d.recipients),
            "attempts": d.attempts,
            "delivered_at": _when(d.delivered_at),
            "last_error": d.last_error,
        }
        for d in found
    ]


def _when(stamp: float | None) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else ""
