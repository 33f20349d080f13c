"""The facility pages: the room's floor plan, its devices and alerts, live, and the wall screen."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dcops.core.errors import InputError, OperationFailed
from dcops.server import site_api
from dcops.server.console import field, parsed, render, site_time, submitted, viewer
from dcops.server.room_view import DEVICE_LISTS, VIEWS, Floor, floor, read_series, shift_log

if TYPE_CHECKING:
    from dcops.core.site import Site

router = APIRouter(prefix="/console", include_in_schema=False)
ROLES = site_api.ALERT_ROLES
FRESH_SECONDS = 1.0  # many wall screens share one reading of Prometheus and Alertmanager
SHARED_SECONDS = 5.0  # the oldest reading a page may open with (its live part follows at once)
# With nobody watching, the server still reads the room this often, so that the first viewer
# in a while opens the page at once instead of waiting for Prometheus and Alertmanager.
KEEP_SECONDS = 3.0
POLL_SECONDS = 2


class FloorCache:
    """The last floor built, shared by every viewer: one reading of Prometheus and Alertmanager
    serves them all for a second, and a page's first paint never waits for a reading."""

    def __init__(
        self,
        build: Callable[[], Floor],
        clock: Callable[[], float] = time.monotonic,
        keep_every: float = KEEP_SECONDS,
    ) -> None:
        self.build = build
        self.clock = clock
        self.keep_every = keep_every
        self.lock = threading.Lock()
        self.built = -math.inf
        self.floor: Floor | None = None
        self.walls: dict[str, tuple[float, bytes]] = {}
        self.refreshing = False
        self.stopping = threading.Event()
        self.keeper: threading.Thread | None = None

    def get(self) -> Floor:
        """A floor no older than FRESH_SECONDS, read now if the held one is older."""
        with self.lock:
            if self.floor is None or self.clock() - self.built > FRESH_SECONDS:
                self._hold(self.build())
            assert self.floor is not None
            return self.floor

    def first(self) -> Floor:
        """For a page being opened: the held floor if it is at most SHARED_SECONDS old (a fresh
        one is read meanwhile, and the page's first live update brings it), else a fresh one."""
        with self.lock:
            age = self.clock() - self.built
            if self.floor is not None and age <= SHARED_SECONDS:
                if age > FRESH_SECONDS and not self.refreshing:
                    self.refreshing = True
                    threading.Thread(target=self._refresh, daemon=True).start()
                return self.floor
        return self.get()

    def keep(self) -> None:
        """Start reading the room in the background whenever the held reading is keep_every old."""
        self.stopping.clear()
        self.keeper = threading.Thread(target=self._keep, name="dcops-floor-keeper", daemon=True)
        self.keeper.start()

    def stop(self) -> None:
        """Stop the background reading and wait for the one in progress."""
        self.stopping.set()
        if self.keeper is not None:
            self.keeper.join(timeout=30)
            self.keeper = None

    def _keep(self) -> None:
        wait = 0.0
        while not self.stopping.wait(wait):
            wait = self._keep_once()

    def _keep_once(self) -> float:
        """Read now if the held reading is old enough; the seconds until the next look."""
        with self.lock:
            age = self.clock() - self.built
            if self.refreshing or age < self.keep_every:
                return max(0.05, min(self.keep_every, self.keep_every - age))
            self.refreshing = True
        self._refresh()  # viewers polling keep it fresh themselves; this reads only when idle
        return self.keep_every

    def forget(self) -> None:
        """Make the next page read afresh (after a change such as an acknowledgement)."""
        with self.lock:
            self.built = -math.inf

    def _refresh(self) -> None:
        try:
            built = self.build()
        except Exception:  # the next reading made in a request raises it to its viewer
            built = None
        with self.lock:
            if built is not None:
                self._hold(built)
            self.refreshing = False

    def _hold(self, built: Floor) -> None:
        self.floor = built
        self.built = self.clock()
        self.walls.clear()

    def wall(self, request: Request, view: str) -> Response:
        """The wall screens' live part: the same for every viewer, so rendered once a reading."""
        floor = self.get()
        with self.lock:
            held = self.walls.get(view)
            if held is not None and held[0] == self.built:
                return HTMLResponse(held[1])
        page = render(request, "room_live.html", floor=floor, view=view, wall=True,
                      devices="problems", updated=site_time(request, floor.read_at))  # fmt: skip
        with self.lock:
            self.walls[view] = (self.built, bytes(page.body))
        return page


def reader(site: Site) -> Callable[[], Floor]:
    """What the cache calls to read the room: Prometheus and Alertmanager, at the same time."""
    return lambda: _build(site)


def _build(site: Site) -> Floor:
    from dcops.monitors.alertmanager_api import active_alerts
    from dcops.monitors.alertmanager_members import ask_in_turn
    from dcops.monitors.layout import layout_of

    read_at = time.time()
    members = site.config.monitors.alertmanager_members(site.paths.state)
    with ThreadPoolExecutor(max_workers=3) as pool:
        series = pool.submit(read_series, site)
        active = pool.submit(ask_in_turn, members, active_alerts)
        acks = pool.submit(_acknowledgements, site)
        values, targets, problems = series.result()
        alerts: list[dict[str, Any]] = []
        acknowledged: list[dict[str, Any]] = []
        try:
            alerts = [dict(a.__dict__) for a in active.result().value]
            acknowledged = acks.result()
        except OperationFailed as exc:
            problems.append(f"告警服务不可用 / the active alerts are unavailable: {exc}")
    built = floor(site, values, targets, alerts, acknowledged, problems)
    built.shift_log = shift_log(layout_of(site).alert_log)
    built.read_at = read_at
    return built


def _acknowledgements(site: Site) -> list[dict[str, Any]]:
    """Who acknowledged which alert, why, and until when (active acknowledgement silences)."""
    from dcops.monitors.acknowledgement import ACK_PREFIX
    from dcops.monitors.alertmanager_members import ask_in_turn
    from dcops.monitors.silences import list_silences

    found = []
    members = site.config.monitors.alertmanager_members(site.paths.state)
    for silence in ask_in_turn(members, list_silences).value:
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


def _cache(request: Request) -> FloorCache:
    cache: FloorCache = request.app.state.floor_cache
    return cache


def _view(view: str) -> str:
    if view not in VIEWS:
        raise InputError(f"未知视图 / view {view[:20]!r} is not known; allowed: {', '.join(VIEWS)}")
    return view


def _devices(devices: str) -> str:
    if devices not in DEVICE_LISTS:
        raise InputError(
            f"未知设备列表 / devices {devices[:20]!r} is not known; allowed: {', '.join(DEVICE_LISTS)}"
        )
    return devices


@router.get("/room")
def room(request: Request, view: str = "temperature", devices: str = "problems") -> Response:
    """The floor plan with controls: switch views, acknowledge alerts."""
    who = viewer(request, *ROLES, action="GET /console/room")
    shown = _cache(request).first()
    return render(request, "room.html", who=who, floor=shown, view=_view(view), wall=False,
                  devices=_devices(devices), poll=POLL_SECONDS,
                  updated=site_time(request, shown.read_at))  # fmt: skip


@router.get("/room/live")
def room_live(
    request: Request, view: str = "temperature", wall: bool = False, devices: str = "problems"
) -> Response:
    """The live part of the room page, fetched every few seconds by the page itself."""
    who = viewer(request, *ROLES, action="GET /console/room/live")
    if wall:
        return _cache(request).wall(request, _view(view))
    shown = _cache(request).get()
    return render(request, "room_live.html", who=who, floor=shown, view=_view(view), wall=wall,
                  devices=_devices(devices), updated=site_time(request, shown.read_at))  # fmt: skip


@router.get("/wall")
def wall(request: Request, view: str = "temperature") -> Response:
    """The wall screen: no controls, large type; active alerts are always on screen."""
    who = viewer(request, *ROLES, action="GET /console/wall")
    shown = _cache(request).first()
    return render(request, "wall.html", who=who, floor=shown, view=_view(view), wall=True,
                  devices="problems", poll=POLL_SECONDS,
                  updated=site_time(request, shown.read_at))  # fmt: skip


@router.post("/alerts/acknowledge")
async def acknowledge(request: Request) -> Response:
    """Acknowledge one alert: the API's handler silences it and records who and why."""
    _, form = await submitted(request, *ROLES, action="POST /console/alerts/acknowledge")
    values = {"duration": field(form, "duration", 10), "reason": field(form, "reason", 1000)}
    body = parsed(site_api.AlertAck, values, "acknowledge form")
    await run_in_threadpool(site_api.acknowledge, field(form, "alert", 100), body, request)
    _cache(request).forget()
    return RedirectResponse("/console/room", 303)
