"""The facility pages: the room's floor plan, its devices and alerts, live, and the wall screen."""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dcops.core.errors import InputError, OperationFailed
from dcops.server import site_api
from dcops.server.console import field, parsed, render, site_time, submitted, viewer
from dcops.server.context import context
from dcops.server.room_view import VIEWS, Floor, floor, read_series, shift_log

if TYPE_CHECKING:
    from dcops.core.site import Site

router = APIRouter(prefix="/console", include_in_schema=False)
ROLES = site_api.ALERT_ROLES
FRESH_SECONDS = 1.0  # many wall screens share one reading of Prometheus and Alertmanager
POLL_SECONDS = 2


class FloorCache:
    """The last floor built, reused for a second so that every viewer costs one read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.built = 0.0
        self.floor: Floor | None = None
        self.walls: dict[str, tuple[float, bytes]] = {}

    def get(self, request: Request) -> Floor:
        """A floor no older than FRESH_SECONDS."""
        with self.lock:
            if self.floor is None or time.monotonic() - self.built > FRESH_SECONDS:
                self.floor = _build(request)
                self.built = time.monotonic()
                self.walls.clear()
            return self.floor

    def wall(self, request: Request, view: str) -> Response:
        """The wall screens' live part: the same for every viewer, so rendered once a reading."""
        floor = self.get(request)
        with self.lock:
            held = self.walls.get(view)
            if held is not None and held[0] == self.built:
                return HTMLResponse(held[1])
        page = render(request, "room_live.html", floor=floor, view=view, wall=True,
                      updated=site_time(request))  # fmt: skip
        with self.lock:
            self.walls[view] = (self.built, bytes(page.body))
        return page


def _build(request: Request) -> Floor:
    site: Site = context(request).site
    values, targets, problems = read_series(site)
    alerts: list[dict[str, Any]] = []
    acknowledged: list[dict[str, Any]] = []
    try:
        alerts = site_api.alerts(request)
        acknowledged = _acknowledgements(site)
    except OperationFailed as exc:
        problems.append(f"告警服务不可用 / the active alerts are unavailable: {exc}")
    from dcops.monitors.layout import layout_of

    built = floor(site, values, targets, alerts, acknowledged, problems)
    built.shift_log = shift_log(layout_of(site).alert_log)
    return built


def _acknowledgements(site: Site) -> list[dict[str, Any]]:
    """Who acknowledged which alert, why, and until when (active acknowledgement silences)."""
    from dcops.monitors.acknowledgement import ACK_PREFIX
    from dcops.monitors.silences import list_silences

    found = []
    for silence in list_silences(site.config.monitors.alertmanager_url):
        if silence.state != "active" or not silence.comment.startswith(ACK_PREFIX):
            continue
        labels = {m.name: m.value for m in silence.matchers}
        found.append(
            {
                "alert": labels.get("alertname", ""),
                "device": labels.get("device", ""),
                "by": silence.created_by,
                "reason": silence.comment[len(ACK_PREFIX) :],
                "until": silence.ends_at,
            }
        )
    return found


def _floor(request: Request) -> Floor:
    cache: FloorCache = request.app.state.floor_cache
    return cache.get(request)


def _view(view: str) -> str:
    if view not in VIEWS:
        raise InputError(f"未知视图 / view {view[:20]!r} is not known; allowed: {', '.join(VIEWS)}")
    return view


@router.get("/room")
def room(request: Request, view: str = "temperature") -> Response:
    """The floor plan with controls: switch views, acknowledge alerts."""
    who = viewer(request, *ROLES, action="GET /console/room")
    return render(
        request,
        "room.html",
        who=who,
        floor=_floor(request),
        view=_view(view),
        wall=False,
        poll=POLL_SECONDS,
        updated=site_time(request),
    )


@router.get("/room/live")
def room_live(request: Request, view: str = "temperature", wall: bool = False) -> Response:
    """The live part of the room page, fetched every few seconds by the page itself."""
    who = viewer(request, *ROLES, action="GET /console/room/live")
    if wall:
        cache: FloorCache = request.app.state.floor_cache
        return cache.wall(request, _view(view))
    return render(
        request,
        "room_live.html",
        who=who,
        floor=_floor(request),
        view=_view(view),
        wall=wall,
        updated=site_time(request),
    )


@router.get("/wall")
def wall(request: Request, view: str = "temperature") -> Response:
    """The wall screen: no controls, large type; active alerts are always on screen."""
    who = viewer(request, *ROLES, action="GET /console/wall")
    return render(
        request,
        "wall.html",
        who=who,
        floor=_floor(request),
        view=_view(view),
        wall=True,
        poll=POLL_SECONDS,
        updated=site_time(request),
    )


@router.post("/alerts/acknowledge")
async def acknowledge(request: Request) -> Response:
    """Acknowledge one alert: the API's handler silences it and records who and why."""
    _, form = await submitted(request, *ROLES, action="POST /console/alerts/acknowledge")
    values = {"duration": field(form, "duration", 10), "reason": field(form, "reason", 1000)}
    body = parsed(site_api.AlertAck, values, "acknowledge form")
    await run_in_threadpool(site_api.acknowledge, field(form, "alert", 100), body, request)
    request.app.state.floor_cache.built = 0.0
    return RedirectResponse("/console/room", 303)
