"""The facility pages: the room's floor plan, its devices and alerts, live, and the wall screen."""

from __future__ import annotations

import asyncio
import http.client
import math
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dcops.core.errors import InputError, OperationFailed
from dcops.server import site_api
from dcops.server.console import field, parsed, render, site_time, submitted, viewer
from dcops.server.context import context
from dcops.server.room_feed import RoomFeed
from dcops.server.room_view import (
    DEVICE_LISTS,
    VIEWS,
    Floor,
    floor,
    readings_by_series,
    shift_log,
)

if TYPE_CHECKING:
    from dcops.core.site import Site

router = APIRouter(prefix="/console", include_in_schema=False)
ROLES = site_api.ALERT_ROLES
FRESH_SECONDS = 1.0  # many wall screens share one reading of Alertmanager
SHARED_SECONDS = 5.0  # the oldest reading a page may open with (its live part follows at once)
# The server builds the room again whenever an exporter finishes a poll, and at least this
# often (for alerts and acknowledgements), so that no page waits for a reading.
KEEP_SECONDS = 3.0
POLL_SECONDS = 2  # a page retries this long after it lost the server
# A page's request for its live part is held until the room has been built again, at most this
# long: the page learns of a change as soon as the server does, without asking every second.
LIVE_WAIT_SECONDS = 20.0


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
        self.woken = threading.Event()  # an exporter finished a poll: build the room now
        self.keeper: threading.Thread | None = None
        self.version = 0  # counts the floors built; a page asks for one newer than it has

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
        self.woken.set()
        if self.keeper is not None:
            self.keeper.join(timeout=30)
            self.keeper = None

    def wake(self) -> None:
        """Build the room again now (an exporter has new readings)."""
        self.woken.set()

    async def changed(self, version: int, wait: float) -> None:
        """Return once a floor other than `version` is held, or after `wait` seconds."""
        deadline = time.monotonic() + wait
        while self.version == version and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    def _keep(self) -> None:
        wait = 0.0
        while not self.stopping.is_set():
            self.woken.wait(wait)
            if self.stopping.is_set():
                break
            wait = self._keep_once()
            if self.woken.is_set():  # woken while a page's own reading runs: look again shortly
                self.stopping.wait(0.05)

    def _keep_once(self) -> float:
        """Read now if woken or the held reading is old enough; the seconds until the next look."""
        with self.lock:
            age = self.clock() - self.built
            woken = self.woken.is_set()
            if self.refreshing or (age < self.keep_every and not woken):
                return max(0.05, min(self.keep_every, self.keep_every - age))
            self.refreshing = True
            self.woken.clear()
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
        self.version += 1
        built.version = self.version
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


def reader(site: Site, feed: RoomFeed) -> Callable[[], Floor]:
    """What the cache calls to build the room: the exporters' latest readings, which the feed
    holds, with the alerts and acknowledgements of Alertmanager and whether Prometheus is up."""
    return lambda: _build(site, feed)


def _build(site: Site, feed: RoomFeed) -> Floor:
    from dcops.monitors.alertmanager_api import active_alerts
    from dcops.monitors.alertmanager_members import ask_in_turn
    from dcops.monitors.layout import layout_of

    read_at = time.time()
    members = site.config.monitors.alertmanager_members(site.paths.state)
    with ThreadPoolExecutor(max_workers=3) as pool:
        active = pool.submit(ask_in_turn, members, active_alerts)
        acks = pool.submit(_acknowledgements, site)
        ready = pool.submit(_prometheus_problem, site)
        values, targets, reasons = readings_by_series(feed.current())
        problems = [p for p in [ready.result()] if p]
        alerts: list[dict[str, Any]] = []
        acknowledged: list[dict[str, Any]] = []
        unknown = False
        try:
            alerts = [dict(a.__dict__) for a in active.result().value]
            acknowledged = acks.result()
        except OperationFailed as exc:
            unknown = True
            problems.append(f"告警服务不可用 / the active alerts are unavailable: {exc}")
    built = floor(site, values, targets, alerts, acknowledged, problems, reasons=tuple(reasons))
    built.alerts_unknown = unknown
    built.shift_log = shift_log(layout_of(site).alert_log)
    built.read_at = read_at
    return built


def _prometheus_problem(site: Site) -> str:
    """Why no Prometheus, which turns readings into alerts, can be reached; empty when one can
    (with the pair running, either member evaluates the rules)."""
    reasons = []
    for url in site.config.monitors.prometheus_members(site.paths.state):
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=3) as reply:
                reply.read(1024)
            return ""
        except urllib.error.HTTPError as exc:
            exc.close()
            reasons.append(f"{url}: HTTP {exc.code}")
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            reasons.append(f"{url}: {getattr(exc, 'reason', exc)}")
    return (
        f"告警评估不可用 / Prometheus cannot be reached ({'; '.join(reasons)}): the readings "
        "below are current, but new alerts will not appear"
    )


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
async def room_live(
    request: Request,
    view: str = "temperature",
    wall: bool = False,
    devices: str = "problems",
    after: int | None = None,
) -> Response:
    """The live part of the room page; with `after` (the version the page shows) it is sent
    once the server holds a newer floor, or after LIVE_WAIT_SECONDS, so the page asks again at
    once and sees each change as soon as the server has it."""
    who = await run_in_threadpool(viewer, request, *ROLES, action="GET /console/room/live")
    view, devices = _view(view), _devices(devices)
    cache = _cache(request)
    if after is not None:
        await cache.changed(after, LIVE_WAIT_SECONDS)
    if wall:
        return await run_in_threadpool(cache.wall, request, view)
    shown = await run_in_threadpool(cache.get)
    return render(request, "room_live.html", who=who, floor=shown, view=view, wall=wall,
                  devices=devices, updated=site_time(request, shown.read_at))  # fmt: skip


@router.get("/wall")
def wall(request: Request, view: str = "temperature") -> Response:
    """The wall screen: no controls, large type; active alerts are always on screen."""
    who = viewer(request, *ROLES, action="GET /console/wall")
    shown = _cache(request).first()
    return render(request, "wall.html", who=who, floor=shown, view=_view(view), wall=True,
                  devices="problems", poll=POLL_SECONDS,
                  updated=site_time(request, shown.read_at))  # fmt: skip


@router.get("/room/plan.css")
def plan_css(request: Request) -> Response:
    """Where each rack and placed item of the floor plans stands, as places in a CSS grid (the
    pages' content policy allows no inline styles, so the places come as a stylesheet)."""
    viewer(request, *ROLES, action="GET /console/room/plan.css")
    text = plan_places(context(request).site)
    return Response(text, media_type="text/css", headers={"Cache-Control": "private, max-age=60"})


def plan_places(site: Site) -> str:
    """The stylesheet: each room's grid of tiles, and one rule per distinct place on it."""
    rules = []
    places: set[tuple[int, int, int, int]] = set()
    for room in site.rooms:
        width, depth = room.size()
        rules.append(f"#plan-{room.name} {{ grid-template-columns: repeat({width}, "
                     f"minmax(3.6em, 1fr)); grid-template-rows: repeat({depth}, "
                     "minmax(1.4em, auto)); }")  # fmt: skip
        for j, row in enumerate(room.rows):
            x, y = room.row_origin(j)
            places.update((x + k, y, 1, 1) for k in range(len(row.racks)))
        places.update((e.x, e.y, e.width, e.depth) for e in room.equipment)
        places.update((z.x, z.y, z.width, z.depth) for z in room.fire_zones)
        places.update((door.x, door.y, 1, 1) for door in room.doors)
        for rope in room.leak_ropes:
            for a, b in zip(rope.path, rope.path[1:], strict=False):
                places.add((min(a.x, b.x), min(a.y, b.y), abs(a.x - b.x) + 1, abs(a.y - b.y) + 1))
    for x, y, w, d in sorted(places):
        rules.append(f'.plan > [data-at="{x}-{y}-{w}-{d}"] {{ grid-area: {y + 1} / {x + 1} / '
                     f"span {d} / span {w}; }}")  # fmt: skip
    return "\n".join(rules) + "\n"


@router.post("/alerts/acknowledge")
async def acknowledge(request: Request) -> Response:
    """Acknowledge one alert: the API's handler silences it and records who and why."""
    _, form = await submitted(request, *ROLES, action="POST /console/alerts/acknowledge")
    values = {"duration": field(form, "duration", 10), "reason": field(form, "reason", 1000)}
    body = parsed(site_api.AlertAck, values, "acknowledge form")
    await run_in_threadpool(site_api.acknowledge, field(form, "alert", 100), body, request)
    _cache(request).forget()
    return RedirectResponse("/console/room", 303)
