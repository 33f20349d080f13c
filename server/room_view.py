"""The room as the facility page draws it: racks in place with their readings, devices, alerts.

Readings come straight from the DCIM exporters (room_feed: the same series the alert rules
read, as soon as each poll ends) and alerts from Alertmanager; when either cannot be reached, or
the exporter's data has gone stale, the view says so plainly instead of showing old numbers as
if they were current.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dcops.core.durations import duration_seconds
from dcops.core.site import INLET_CRITICAL_MARGIN, ROOM_LIMITS, device_limits

if TYPE_CHECKING:
    from pathlib import Path

    from dcops.core.site import Device, Room, Site
    from dcops.server.room_feed import ExporterReading

VIEWS = ("temperature", "power", "humidity")
# The DewPointOutOfRange rule's band (monitors/rules/environment.yml), °C.
DEW_POINT_CELSIUS = (5.5, 15.0)
DEVICE_LISTS = ("problems", "all")  # devices=problems lists what needs a look, all lists every one
SERIES = {
    "inlet": "dcops_dcim_env_temperature_celsius",
    "humidity": "dcops_dcim_env_humidity_ratio",
    "power": "dcops_dcim_pdu_power_watts",
    "up": "dcops_dcim_device_up",
    "success": "dcops_dcim_device_last_success_timestamp_seconds",
    "supply": "dcops_dcim_crac_supply_air_temperature_celsius",
    "return": "dcops_dcim_crac_return_air_temperature_celsius",
    "source": "dcops_dcim_ups_output_source_code",
    "charge": "dcops_dcim_ups_battery_charge_ratio",
    "door": "dcops_dcim_door_state_code",
    "zone": "dcops_dcim_fire_zone_state_code",
    "leak": "dcops_dcim_leak_detected",
}
# Series with one value per door or zone of a device: keyed "device/number" by this label.
PER_PART = {"door": "door", "zone": "zone", "leak": "zone"}
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
    x: int = 0
    y: int = 0
    pdu: str = ""  # the status of the rack's PDU: up, down, unknown, or empty without one
    inlet: float | None = None
    humidity: float | None = None
    power_kw: float | None = None
    level: str = "none"
    alert: str = ""
    load_high: float = ROOM_LIMITS.load_high_ratio or 0.8  # its PDU's limit, of design power
    humidity_band: tuple[float, float] = (
        ROOM_LIMITS.humidity_low_ratio or 0.2,
        ROOM_LIMITS.humidity_high_ratio or 0.6,
    )

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

    @property
    def power_level(self) -> str:
        """ok, warm (above its PDU's load limit of design power), hot (above design power), or
        none (no PDU reading)."""
        load = self.load
        if load is None:
            return "none"
        return "hot" if load > 1 else ("warm" if load > self.load_high else "ok")

    @property
    def humidity_level(self) -> str:
        """ok, warm (humidity outside its sensor's limits or dew point outside the rule's
        band), or none (no humidity reading)."""
        dew = self.dew_point
        if self.humidity is None or dew is None:
            return "none"
        low, high = self.humidity_band
        inside = low <= self.humidity <= high
        return "ok" if inside and DEW_POINT_CELSIUS[0] <= dew <= DEW_POINT_CELSIUS[1] else "warm"

    def level_in(self, view: str) -> str:
        """The colour the rack is drawn in for a view of the page."""
        if view == "power":
            return self.power_level
        return self.humidity_level if view == "humidity" else self.level


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
class Placed:
    """Something drawn on the floor plan besides racks: a CRAC, UPS, floor PDU or ATS, a door, a
    fire zone, or one straight stretch of a leak rope, with its state and what it reads."""

    kind: str  # crac, ups, pdu, ats, door, fire-zone, leak-rope
    name: str  # the device, or device/number for a door, zone or rope
    x: int
    y: int
    width: int
    depth: int
    state: str  # ok, warn, alarm or none (not read): the colour it is drawn in
    text: str  # its reading in words, 中文 first
    alert: str = ""
    label: bool = True  # a rope's later stretches carry no words

    @property
    def key(self) -> str:
        """The element id's part that tells this item apart in its room."""
        return f"{self.kind}-{self.name.replace('/', '-')}-{self.x}-{self.y}"


@dataclass
class RoomView:
    """One machine room: rows of racks, and the devices that stand outside the racks."""

    name: str
    title: str
    rows: list[tuple[str, list[RackCell]]]
    equipment: list[Equipment]
    width: int = 1
    depth: int = 1
    placed: list[Placed] = field(default_factory=list)

    def drawn(self, *kinds: str) -> list[Placed]:
        """The placed items of these kinds."""
        return [p for p in self.placed if p.kind in kinds]

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
    read_at: float = 0.0  # when the room was built from the exporters and Alertmanager (Unix time)
    version: int = 0  # which floor of the server's this is (pages ask for a newer one)
    # No Alertmanager answered: the alerts are not known, which is not the same as none firing.
    alerts_unknown: bool = False

    def legend(self, view: str) -> list[tuple[str, str]]:
        """What each colour of a view means."""
        return view_legend(view)

    @property
    def worst(self) -> str:
        """The worst active alert's severity, or empty when none fires."""
        order = [a["severity"] for a in self.alerts]
        return "critical" if "critical" in order else ("warning" if order else "")


def view_legend(view: str) -> list[tuple[str, str]]:
    """What each colour of a view means, by the room's limits (a device may set its own)."""
    if view == "power":
        share = f"{RackCell.load_high:.0%}"
        found = [
            ("ok", f"kW/设计 design kW ≤ {share}"),
            ("warm", f"> {share} (或 PDU 自设上限 or its PDU's own limit)"),
            ("hot", "> 100% 超过设计功率 above design"),
        ]
    elif view == "humidity":
        (low, high), (dew_low, dew_high) = RackCell.humidity_band, DEW_POINT_CELSIUS
        found = [
            (
                "ok",
                f"相对湿度 RH {low * 100:.0f}–{high:.0%}, 露点 dew point {dew_low:g}–{dew_high:g} °C",
            ),
            ("warm", "超出 outside"),
        ]
    else:
        cold, warm = ROOM_LIMITS.temperature_low_celsius, ROOM_LIMITS.temperature_high_celsius
        found = [("cold", f"<{cold:g} °C"), ("ok", f"{cold:g}–{warm:g} °C"),
                 ("warm", f">{warm:g} °C"), ("hot", "危险 critical")]  # fmt: skip
    return [*found, ("none", "无读数 no reading")]


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


def readings_by_series(
    readings: list[ExporterReading],
) -> tuple[dict[str, dict[str, float]], dict[str, float], list[str]]:
    """Each series by device (or device/number), each exporter's up value, and why the down
    ones could not be read, from the exporters' latest answers (a dead one shows no values)."""
    key_of = {metric: key for key, metric in SERIES.items()}
    values: dict[str, dict[str, float]] = {key: {} for key in SERIES}
    targets = {}
    for reading in readings:
        if reading.read_at == 0:
            continue  # not read yet (the server has just started)
        targets[reading.address] = 1.0 if reading.up else 0.0
        for metric, labels, value in reading.samples:
            key = key_of[metric]
            device = labels.get("device", "")
            part = PER_PART.get(key)
            values[key][f"{device}/{labels.get(part, '')}" if part else device] = value
    reasons = [f"{r.address}: {r.error}" for r in readings if r.error][:5]
    return values, targets, reasons


def floor(
    site: Site,
    values: dict[str, dict[str, float]],
    targets: dict[str, float],
    alerts: list[dict[str, Any]],
    acknowledged: list[dict[str, Any]],
    problems: list[str],
    now: float | None = None,
    reasons: tuple[str, ...] = (),
) -> Floor:
    """The floor plan of every room with the readings, alerts and data problems filled in."""
    now = time.time() if now is None else now
    banners = list(problems)
    down = sorted(t for t, up in targets.items() if up < 1)
    if down:
        why = f" ({'; '.join(reasons)[:300]})" if reasons else ""
        banners.append(f"采集器离线 / the exporter is down: {', '.join(down)[:300]}{why}")
    elif not problems and not targets:
        banners.append("没有采集器数据 / no exporter has been read: the readings are not collected")
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
    for j, row in enumerate(room.rows):
        x, y = room.row_origin(j)
        cells = [
            _cell(row.name, rack.name, rack.power_kw, in_rack.get(rack.name, []), values, worst)
            for rack in row.racks
        ]
        for k, cell in enumerate(cells):
            cell.x, cell.y = x + k, y
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
    width, depth = room.size()
    by_name = {d.name: d for d in devices}
    placed = _placed(room, by_name, values, worst)
    return RoomView(room.name, room.title, rows, equipment, width, depth, placed)


def _placed(
    room: Room, devices: dict[str, Device], values: dict[str, dict[str, float]],
    worst: dict[str, str],
) -> list[Placed]:  # fmt: skip
    found = []
    for item in room.equipment:
        device = devices.get(item.device)
        kind = device.kind if device else "ups"
        state, text = _equipment_state(kind, item.device, values)
        found.append(Placed(kind, item.device, item.x, item.y, item.width, item.depth, state,
                            text, worst.get(item.device, "")))  # fmt: skip
    for door in room.doors:
        key = f"{door.device}/{door.door}"
        state, text = _coded(values.get("door", {}).get(key), DOOR_WORDS)
        found.append(Placed("door", key, door.x, door.y, 1, 1, state, text,
                            worst.get(door.device, "")))  # fmt: skip
    for zone in room.fire_zones:
        key = f"{zone.device}/{zone.zone}"
        state, text = _coded(values.get("zone", {}).get(key), ZONE_WORDS)
        found.append(Placed("fire-zone", key, zone.x, zone.y, zone.width, zone.depth, state,
                            text, worst.get(zone.device, "")))  # fmt: skip
    for rope in room.leak_ropes:
        key = f"{rope.device}/{rope.zone}"
        state, text = _coded(values.get("leak", {}).get(key), LEAK_WORDS)
        for n, (a, b) in enumerate(zip(rope.path, rope.path[1:], strict=False)):
            x, y = min(a.x, b.x), min(a.y, b.y)
            found.append(Placed("leak-rope", key, x, y, abs(a.x - b.x) + 1, abs(a.y - b.y) + 1,
                                state, text, worst.get(rope.device, ""), label=n == 0))  # fmt: skip
    return found


# code → (state drawn, words shown), as the exporter's catalogue numbers them
DOOR_WORDS = {0: ("ok", "关 closed"), 1: ("warn", "开 open"), 2: ("alarm", "强行打开 forced"),
              3: ("warn", "未关 held open")}  # fmt: skip
ZONE_WORDS = {0: ("ok", "正常 normal"), 1: ("warn", "预警 pre-alarm"), 2: ("alarm", "火警 ALARM"),
              3: ("warn", "故障 fault"), 4: ("warn", "隔离 isolated")}  # fmt: skip
LEAK_WORDS = {0: ("ok", "干 dry"), 1: ("alarm", "漏水 WET")}
UPS_SOURCE = {3: ("ok", "市电 mains"), 4: ("warn", "旁路 bypass"), 5: ("alarm", "电池 battery")}


def _coded(code: float | None, words: dict[int, tuple[str, str]]) -> tuple[str, str]:
    if code is None or math.isnan(code):
        return "none", "无读数 no reading"
    return words.get(int(code), ("warn", f"code {int(code)}"))


def _equipment_state(
    kind: str, device: str, values: dict[str, dict[str, float]]
) -> tuple[str, str]:
    up = values.get("up", {}).get(device)
    if up is None:
        return "none", "无读数 no reading"
    if up < 1:
        return "alarm", "离线 down"
    if kind == "crac":
        supply, back = values.get("supply", {}).get(device), values.get("return", {}).get(device)
        if supply is None or back is None:
            return "ok", "在线 up"
        return "ok", f"送风 supply {supply:.1f} °C · 回风 return {back:.1f} °C"
    if kind == "ups":
        state, words = _coded(values.get("source", {}).get(device), UPS_SOURCE)
        charge = values.get("charge", {}).get(device)
        return state, words + (f" · {charge:.0%}" if charge is not None else "")
    return "ok", "在线 up"


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
            limits = device_limits(device)
            cell.humidity_band = (
                limits.humidity_low_ratio or 0.0,
                limits.humidity_high_ratio or 1.0,
            )
        if device.name in values["power"]:
            limit = device_limits(device).load_high_ratio or 1.0
            # a rack fed by two PDUs is coloured by the stricter limit of the two
            cell.load_high = limit if cell.power_kw is None else min(cell.load_high, limit)
            cell.power_kw = (cell.power_kw or 0) + values["power"][device.name] / 1000
        if device.kind == "pdu":
            cell.pdu = _status(values["up"].get(device.name))
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
