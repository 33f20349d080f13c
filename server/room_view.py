"""The room as the facility page draws it: racks in place with their readings, devices, alerts.

Readings come from Prometheus (the same series the alert rules read) and alerts from
Alertmanager; when either cannot be reached, or the exporter's data has gone stale, the view
says so plainly instead of showing old numbers as if they were current.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dcops.core.durations import duration_seconds
from dcops.core.errors import OperationFailed
from dcops.core.site import INLET_CRITICAL_MARGIN, device_limits

if TYPE_CHECKING:
    from pathlib import Path

    from dcops.core.site import Device, Room, Site
    from dcops.monitors.prometheus_api import Sample

VIEWS = ("temperature", "power", "humidity")
DEVICE_LISTS = ("problems", "all")  # devices=problems lists what needs a look, all lists every one
SERIES = {
    "inlet": "dcops_dcim_env_temperature_celsius",
    "humidity": "dcops_dcim_env_humidity_ratio",
    "power": "dcops_dcim_pdu_power_watts",
    "up": "dcops_dcim_device_up",
    "success": "dcops_dcim_device_last_success_timestamp_seconds",
}
KIND_TITLES = {
    "ups": "UPS 不间断电源",
    "crac": "精密空调 CRAC",
    "pdu": "机柜 PDU",
    "ats": "ATS 切换开关",
    "env-sensor": "温湿度 sensor",
    "leak-sensor": "漏水绳 leak rope",
    "door-controller": "门禁 door",
    "fire-panel": "消防 fire panel",
}


@dataclass
class RackCell:
    """One rack in place: its design power and the latest readings of the devices in it."""

    row: str
    name: str
    design_kw: float
    inlet: float | None = None
    humidity: float | None = None
    power_kw: float | None = None
    level: str = "none"
    alert: str = ""

    @property
    def dew_point(self) -> float | None:
        """Dew point (°C) from inlet temperature and humidity (Magnus formula)."""
        if self.inlet is None or not self.humidity or self.humidity <= 0:
            return None
        gamma = math.log(self.humidity) + 17.62 * self.inlet / (243.12 + self.inlet)
        return 243.12 * gamma / (17.62 - gamma)

    @property
    def load(self) -> float | None:
        """Power drawn against the rack's design power (0..1+)."""
        return None if self.power_kw is None else self.power_kw / self.design_kw


@dataclass
class Equipment:
    """A device of the room with its status: up, down or not polled yet, and its worst alert."""

    name: str
    kind: str
    title: str
    model: str
    rack: str
    status: str
    alert: str = ""


@dataclass
class RoomView:
    """One machine room: rows of racks, and the devices that stand outside the racks."""

    name: str
    title: str
    rows: list[tuple[str, list[RackCell]]]
    equipment: list[Equipment]

    def listed(self, every: bool) -> list[Equipment]:
        """The devices a page lists: all of them, or those outside the racks and those in a rack
        that are not up or have an alert (a rack's cell already shows the rest)."""
        return [e for e in self.equipment if every or _worth_listing(e)]

    @property
    def quiet(self) -> int:
        """How many devices in racks are up with no alert."""
        return sum(not _worth_listing(e) for e in self.equipment)


def _worth_listing(item: Equipment) -> bool:
    return not item.rack or item.status != "up" or bool(item.alert)


@dataclass
class Floor:
    """Everything the facility page shows at one moment, and what is wrong with the data."""

    rooms: list[RoomView]
    alerts: list[dict[str, Any]]
    acknowledged: list[dict[str, Any]]
    banners: list[str] = field(default_factory=list)
    newest_poll: float | None = None
    shift_log: list[dict[str, str]] = field(default_factory=list)
    read_at: float = 0.0  # when Prometheus and Alertmanager were read (Unix time)

    @property
    def worst(self) -> str:
        """The worst active alert's severity, or empty when none fires."""
        order = [a["severity"] for a in self.alerts]
        return "critical" if "critical" in order else ("warning" if order else "")


def inlet_level(device: Device | None, celsius: float | None) -> str:
    """ok, warm (above the high limit), hot (critical), cold, or none (no reading)."""
    if celsius is None:
        return "none"
    limits = device_limits(device) if device is not None else None
    high = limits.temperature_high_celsius if limits else 27.0
    low = limits.temperature_low_celsius if limits else 18.0
    above, below = INLET_CRITICAL_MARGIN
    assert high is not None and low is not None
    if celsius > high + above:
        return "hot"
    if celsius > high:
        return "warm"
    if celsius < low - below:
        return "frozen"
    return "cold" if celsius < low else "ok"


def _by_device(samples: list[Sample]) -> dict[str, float]:
    return {s.labels.get("device", ""): s.value for s in samples}


def read_series(site: Site) -> tuple[dict[str, dict[str, float]], dict[str, float], list[str]]:
    """Each series by device, each exporter target's up value, and what could not be read."""
    from dcops.monitors.prometheus_api import instant
    from dcops.monitors.prometheus_config import DCIM_JOB

    url = site.config.monitors.prometheus_url
    where = f'{{site="{site.name}"}}'
    # Of the poll timestamps only the newest is shown: Prometheus sends one sample, not one a device.
    queries = [
        f"max({name}{where})" if key == "success" else name + where for key, name in SERIES.items()
    ] + [f'up{{job="{DCIM_JOB}"}}']
    try:
        # one round trip's wait instead of one per series: the page waits for the slowest only
        with ThreadPoolExecutor(max_workers=len(queries)) as pool:
            answers = list(pool.map(lambda expr: instant(url, expr), queries))
        values = {key: _by_device(found) for key, found in zip(SERIES, answers, strict=False)}
        targets = {s.labels.get("instance", "?"): s.value for s in answers[-1]}
    except OperationFailed as exc:
        return (
            {key: {} for key in SERIES},
            {},
            [f"监控数据不可用 / the room's readings are unavailable: {exc}"],
        )
    return values, targets, []


def floor(
    site: Site,
    values: dict[str, dict[str, float]],
    targets: dict[str, float],
    alerts: list[dict[str, Any]],
    acknowledged: list[dict[str, Any]],
    problems: list[str],
    now: float | None = None,
) -> Floor:
    """The floor plan of every room with the readings, alerts and data problems filled in."""
    now = time.time() if now is None else now
    banners = list(problems)
    down = sorted(t for t, up in targets.items() if up < 1)
    if down:
        banners.append(f"采集器离线 / the exporter is down: {', '.join(down)[:300]}")
    elif not problems and not targets:
        banners.append("没有采集器 / no exporter is scraped: the readings are not being collected")
    newest = max(values["success"].values(), default=None)
    limit = 3 * duration_seconds(site.config.monitors.scrape_interval) + 10
    if newest is not None and now - newest > limit:
        age = int(now - newest)
        banners.append(f"数据陈旧 / the data is stale: the last successful poll was {age} s ago")
    worst = _worst_alert(alerts)
    rooms = [_room(site, room, values, worst) for room in site.rooms]
    return Floor(rooms, alerts, acknowledged, banners, newest)


def _worst_alert(alerts: list[dict[str, Any]]) -> dict[str, str]:
    """device or rack → the worst severity among its active alerts."""
    found: dict[str, str] = {}
    for alert in reversed(alerts):  # worst first, so the worst one is written last
        for key in (alert.get("device"), alert.get("rack")):
            if key:
                found[key] = str(alert.get("severity", ""))
    return found


def _room(
    site: Site, room: Room, values: dict[str, dict[str, float]], worst: dict[str, str]
) -> RoomView:
    devices = [d for d in site.devices if d.room == room.name]
    in_rack: dict[str, list[Device]] = {}
    for device in devices:
        if device.rack:
            in_rack.setdefault(device.rack, []).append(device)
    rows = []
    for row in room.rows:
        cells = [
            _cell(row.name, rack.name, rack.power_kw, in_rack.get(rack.name, []), values, worst)
            for rack in row.racks
        ]
        rows.append((row.name, cells))
    equipment = [
        Equipment(
            d.name,
            d.kind,
            KIND_TITLES.get(d.kind, d.kind),
            d.model,
            d.rack or "",
            _status(values["up"].get(d.name)),
            worst.get(d.name, ""),
        )
        for d in devices
    ]
    return RoomView(room.name, room.title, rows, equipment)


def _cell(
    row: str,
    rack: str,
    design_kw: float,
    devices: list[Device],
    values: dict[str, dict[str, float]],
    worst: dict[str, str],
) -> RackCell:
    cell = RackCell(row, rack, design_kw, alert=worst.get(rack, ""))
    for device in devices:
        if device.name in values["inlet"] and device.kind == "env-sensor":
            cell.inlet = values["inlet"][device.name]
            cell.humidity = values["humidity"].get(device.name)
            cell.level = inlet_level(device, cell.inlet)
        if device.name in values["power"]:
            cell.power_kw = (cell.power_kw or 0) + values["power"][device.name] / 1000
        cell.alert = cell.alert or worst.get(device.name, "")
    return cell


def _status(up: float | None) -> str:
    if up is None:
        return "unknown"
    return "up" if up >= 1 else "down"


SHIFT_LOG_TAIL = 256 * 1024
SHIFT_LOG_SHOWN = 20


def shift_log(path: Path) -> list[dict[str, str]]:
    """The newest alerts of the shift log, newest first (read from its tail only)."""
    import json

    if not path.is_file():
        return []
    with path.open("rb") as log:
        log.seek(max(0, path.stat().st_size - SHIFT_LOG_TAIL))
        lines = log.read().decode("utf-8", errors="replace").splitlines()[1:]
    entries = []
    for line in reversed(lines):
        try:
            note = json.loads(line)
        except json.JSONDecodeError:
            continue
        for alert in note.get("alerts", [])[:50] if isinstance(note, dict) else []:
            labels = alert.get("labels", {})
            entries.append(
                {
                    "at": str(note.get("received_at", ""))[:19],
                    "status": str(alert.get("status", "")),
                    "alert": str(labels.get("alertname", "")),
                    "severity": str(labels.get("severity", "")),
                    "device": str(labels.get("device", "")),
                    "summary": str(alert.get("annotations", {}).get("summary", ""))[:300],
                }
            )
        if len(entries) >= SHIFT_LOG_SHOWN:
            break
    return entries[:SHIFT_LOG_SHOWN]
