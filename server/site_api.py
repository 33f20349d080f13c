"""/api/v1/site and /api/v1/alerts: the site as data; alerts, silences, notices, acknowledging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from dcops.core.identity import require_role
from dcops.server.context import actor, context

router = APIRouter(prefix="/api/v1", tags=["site"])
ALERT_ROLES = ("ops", "facility")
T = TypeVar("T")


class AlertAck(BaseModel):
    """How long to silence an alert and why."""

    duration: str = Field(min_length=2, max_length=10, description="e.g. 30m (1m to 7d)")
    reason: str = Field(min_length=1, max_length=1000)


@router.get("/site")
def site_show(request: Request) -> dict[str, Any]:
    """The site's configuration, rooms and devices (any authenticated person)."""
    actor(request)
    site = context(request).site
    return {
        "config": site.config.model_dump(mode="json"),
        "rooms": [r.model_dump(mode="json") for r in site.rooms],
        "devices": [d.model_dump(mode="json") for d in site.devices],
    }


@router.get("/alerts")
def alerts(request: Request, all: bool = False) -> list[dict[str, Any]]:
    """Active alerts from the site's Alertmanager, most severe first (ops or facility)."""
    from dcops.monitors.alertmanager_api import active_alerts

    require_role(actor(request), *ALERT_ROLES, action="GET /api/v1/alerts")
    found = _ask_alertmanagers(request, lambda url: active_alerts(url, include_suppressed=all))
    return [dict(a.__dict__) for a in found]


@router.get("/alerts/silences")
def silences(request: Request, expired: bool = False) -> list[dict[str, str]]:
    """Alertmanager's silences, acknowledgements among them: who, why, until when (ops or facility)."""
    from dcops.monitors.silences import list_silences

    require_role(actor(request), *ALERT_ROLES, action="GET /api/v1/alerts/silences")
    found = _ask_alertmanagers(request, lambda url: list_silences(url, include_expired=expired))
    return [s.as_data() for s in found]


def _ask_alertmanagers(request: Request, ask: Callable[[str], list[T]]) -> list[T]:
    """What the first Alertmanager of the site's pair that answers says."""
    from dcops.monitors.alertmanager_members import ask_in_turn

    site = context(request).site
    return ask_in_turn(site.config.monitors.alertmanager_members(site.paths.state), ask).value


@router.get("/alerts/deliveries")
def deliveries(request: Request, pending: bool = False, limit: int = 200) -> dict[str, Any]:
    """The newest `limit` (1 to 1000) of the notifier's notices on the server's host, and
    how many there are; `notices` is null before it first ran."""
    from dcops.monitors.notices import notices

    require_role(actor(request), *ALERT_ROLES, action="GET /api/v1/alerts/deliveries")
    return notices(context(request).site, pending=pending, limit=limit)


@router.post("/alerts/{ref}/acknowledge")
def acknowledge(ref: str, body: AlertAck, request: Request) -> dict[str, Any]:
    """Silence exactly this alert for a while, saying who and why; audited like `dcops alerts ack`."""
    from dcops.audit.recorder import audited
    from dcops.monitors.acknowledgement import (
        ack_reason,
        ack_window,
        acknowledge_in_turn,
        alert_in_turn,
    )

    ack_window(body.duration)
    ack_reason(body.reason)
    who = actor(request)
    require_role(who, *ALERT_ROLES, action="POST /api/v1/alerts/{ref}/acknowledge")
    site = context(request).site
    members = site.config.monitors.alertmanager_members(site.paths.state)
    lookup = alert_in_turn(members, ref[:100])
    found = lookup.value
    members = [lookup.member, *(m for m in members if m != lookup.member)]
    parameters = {"alert": ref[:100], "for": body.duration, "reason": body.reason}
    target = f"{found.name}@{found.device}"
    with audited(site, who, action="alerts.ack", target=target, parameters=parameters) as op:
        done = acknowledge_in_turn(members, found, body.duration, body.reason, who.user)
        op.attach(details={"silence": done.silence_id, "fingerprint": done.alert.fingerprint,
                           "until": done.until.isoformat(),
                           "alertmanager": done.alertmanager})  # fmt: skip
    return {"silence": done.silence_id, "alert": done.alert.name, "device": done.alert.device,
            "fingerprint": done.alert.fingerprint, "by": done.by, "reason": done.reason,
            "until": done.until.isoformat(), "alertmanager": done.alertmanager}  # fmt: skip
