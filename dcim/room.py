"""The room at a glance: per-device status lines and the problems, worst first."""

from __future__ import annotations

from dataclasses import dataclass

from dcops.core.site import INLET_CRITICAL_MARGIN, ROOM_LIMITS, Thresholds, device_limits
from dcops.dcim.catalogue import DOOR_STATE, FIRE_ZONE_STATE, OUTPUT_SOURCE
from dcops.dcim.decoding import Reading
from dcops.dcim.poller import DeviceState

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
# The same severities as the alert rules in monitors/rules (a test holds them together).
UPS_CRITICAL_ALARMS = frozenset(
    {
        "battery_bad",
        "depleted_battery",
        "output_bad",
        "output_overload",
        "bypass_bad",
        "ups_output_off",
    }
)
UPS_ALARMS_SHOWN_ELSEWHERE = frozenset({"on_battery", "low_battery"})  # UpsOnBattery, UpsLowBattery
CRAC_CRITICAL_ALARMS = frozenset(
    {"compressor_fault", "fan_failure", "general_fault", "power_failure", "water_leak"}
)
CRITICAL_WHEN_DOWN = frozenset({"crac"})  # CracUnreachable is critical; DeviceDown a warning
DEFAULTS = ROOM_LIMITS


@dataclass(frozen=True)
class Problem:
    """Something wrong in the room, in words facility staff read (中文 first, then English)."""

    severity: str
    device: str
    room: str
    rack: str
    text: str

    def as_dict(self) -> dict[str, str]:
        """The problem as plain data."""
        return {
            "severity": self.severity,
            "device": self.device,
            "room": self.room,
            "rack": self.rack,
            "text": self.text,
        }


def limits(state: DeviceState) -> Thresholds:
    """The device's thresholds: its overrides over the defaults."""
    device = state.target.device
    if device is None:
        return DEFAULTS
    return device_limits(device)


def _values(readings: list[Reading], metric: str) -> list[tuple[dict[str, str], float]]:
    return [(dict(r.labels), r.value) for r in readings if r.metric == metric]


def _value(readings: list[Reading], metric: str) -> float | None:
    found = _values(readings, metric)
    return found[0][1] if found else None


def problems(state: DeviceState, readings: list[Reading]) -> list[Problem]:
    """The device's problems given its current readings."""
    t = state.target
    out: list[str | tuple[str, str]] = []
    if state.polled and not state.up:
        severity = "critical" if t.kind in CRITICAL_WHEN_DOWN else "warning"
        out.append(
            (severity, f"设备无响应 not answering ({state.last_reason}): {state.last_error}")
        )
    out += [("warning", f"读数无法解码 cannot decode: {p}") for p in state.problems[:3]]
    out += _kind_problems(t.kind, readings, limits(state))
    result = []
    for item in out:
        severity, text = item if isinstance(item, tuple) else ("warning", item)
        result.append(Problem(severity, t.name, t.room, t.rack, text))
    return result


def _kind_problems(kind: str, readings: list[Reading], lim: Thresholds) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    if kind == "ups":
        source = _value(readings, "dcops_dcim_ups_output_source_code")
        if source == 5:
            out.append(("critical", "UPS 电池供电 on battery (mains lost)"))
        elif source == 4:
            out.append(("warning", "UPS 旁路供电 on bypass"))
        status = _value(readings, "dcops_dcim_ups_battery_status_code")
        if status in (3, 4):
            out.append(
                (
                    "critical",
                    "UPS 电池电量低 battery low"
                    if status == 3
                    else "UPS 电池耗尽 battery depleted",
                )
            )
        charge = _value(readings, "dcops_dcim_ups_battery_charge_ratio")
        if (
            charge is not None
            and lim.battery_charge_low_ratio is not None
            and charge < lim.battery_charge_low_ratio
        ):
            out.append(
                (
                    "critical",
                    f"UPS 电量 {charge:.0%} charge below {lim.battery_charge_low_ratio:.0%}",
                )
            )
        alarms = [labels["alarm"] for labels, v in _values(readings, "dcops_dcim_ups_alarm") if v]
        out += _alarms("UPS 告警 alarms", alarms, UPS_CRITICAL_ALARMS)
    elif kind == "env-sensor":
        out += _climate(readings, lim)
        out += _leaks(readings)
    elif kind == "leak-sensor":
        out += _leaks(readings)
    elif kind == "crac":
        alarms = [labels["alarm"] for labels, v in _values(readings, "dcops_dcim_crac_alarm") if v]
        out += _alarms("精密空调告警 precision AC alarms", alarms, CRAC_CRITICAL_ALARMS)
    elif kind == "door-controller":
        for labels, v in _values(readings, "dcops_dcim_door_state_code"):
            if v == 2:
                out.append(
                    (
                        "critical",
                        f"门 {labels['door']} 被强行打开 door {labels['door']} forced open",
                    )
                )
            elif v == 3:
                out.append(
                    ("warning", f"门 {labels['door']} 长时间未关 door {labels['door']} held open")
                )
    elif kind == "fire-panel":
        for labels, v in _values(readings, "dcops_dcim_fire_zone_state_code"):
            zone, name = labels["zone"], FIRE_ZONE_STATE.get(int(v), str(v))
            if v == 2:
                out.append(("critical", f"火警 FIRE ALARM 防区 zone {zone}"))
            elif v in (1, 3):
                out.append(("warning", f"防区 zone {zone}: {name}"))
            elif v == 4:
                out.append(("info", f"防区 zone {zone} 已隔离 isolated"))
    elif kind == "pdu":
        out += _pdu(readings, lim)
    return out


def _climate(readings: list[Reading], lim: Thresholds) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    temp = _value(readings, "dcops_dcim_env_temperature_celsius")
    high, low = lim.temperature_high_celsius, lim.temperature_low_celsius
    above, below = INLET_CRITICAL_MARGIN
    if temp is not None and high is not None and temp > high:
        severity = "critical" if temp > high + above else "warning"
        out.append((severity, f"进风温度 {temp:.1f} °C 过高 inlet above {high:g} °C"))
    if temp is not None and low is not None and temp < low:
        severity = "critical" if temp < low - below else "warning"
        out.append((severity, f"进风温度 {temp:.1f} °C 过低 inlet below {low:g} °C"))
    rh = _value(readings, "dcops_dcim_env_humidity_ratio")
    if rh is not None and lim.humidity_high_ratio is not None and rh > lim.humidity_high_ratio:
        out.append(("warning", f"湿度 {rh:.0%} 过高 humidity above {lim.humidity_high_ratio:.0%}"))
    if rh is not None and lim.humidity_low_ratio is not None and rh < lim.humidity_low_ratio:
        out.append(("warning", f"湿度 {rh:.0%} 过低 humidity below {lim.humidity_low_ratio:.0%}"))
    return out


def _alarms(title: str, alarms: list[str], critical: frozenset[str]) -> list[tuple[str, str]]:
    """Active alarms as problems: the critical ones apart from the others, as the rules split them."""
    severe = [a for a in alarms if a in critical]
    rest = [a for a in alarms if a not in critical and a not in UPS_ALARMS_SHOWN_ELSEWHERE]
    out = [("critical", f"{title}: {', '.join(severe)}")] if severe else []
    return out + ([("warning", f"{title}: {', '.join(rest)}")] if rest else [])


def _leaks(readings: list[Reading]) -> list[tuple[str, str]]:
    return [
        ("critical", f"漏水 water leak, zone {labels['zone']}")
        for labels, v in _values(readings, "dcops_dcim_leak_detected")
        if v
    ]


def _pdu(readings: list[Reading], lim: Thresholds) -> list[tuple[str, str]]:
    rated = {
        labels.get("phase", ""): v
        for labels, v in _values(readings, "dcops_dcim_pdu_phase_rated_current_amperes")
    }
    out: list[tuple[str, str]] = []
    for labels, amps in _values(readings, "dcops_dcim_pdu_phase_current_amperes"):
        phase = labels.get("phase", "")
        rating = rated.get(phase) or lim.rated_current_amperes
        if rating and lim.load_high_ratio and amps > rating * lim.load_high_ratio:
            out.append(
                (
                    "warning",
                    f"相 {phase} 电流 {amps:.1f} A 超过额定 {lim.load_high_ratio:.0%} phase above rating ({rating:g} A)",
                )
            )
    return out


def summary(kind: str, readings: list[Reading]) -> str:
    """A one-line account of the device's key readings."""

    def v(metric: str) -> float | None:
        return _value(readings, metric)

    if kind == "ups":
        source = v("dcops_dcim_ups_output_source_code")
        charge, runtime = (
            v("dcops_dcim_ups_battery_charge_ratio"),
            v("dcops_dcim_ups_battery_runtime_seconds"),
        )
        loads = [x for _, x in _values(readings, "dcops_dcim_ups_output_load_ratio")]
        parts = [f"source {OUTPUT_SOURCE.get(int(source), '?')}" if source is not None else ""]
        parts += [f"charge {charge:.0%}" if charge is not None else ""]
        parts += [f"runtime {runtime / 60:.0f} min" if runtime is not None else ""]
        parts += [f"load {max(loads):.0%}" if loads else ""]
        return " · ".join(p for p in parts if p)
    if kind == "env-sensor":
        temp, rh = v("dcops_dcim_env_temperature_celsius"), v("dcops_dcim_env_humidity_ratio")
        return " · ".join(
            p
            for p in (
                f"{temp:.1f} °C" if temp is not None else "",
                f"{rh:.0%} RH" if rh is not None else "",
            )
            if p
        )
    if kind == "crac":
        ret, sup = (
            v("dcops_dcim_crac_return_air_temperature_celsius"),
            v("dcops_dcim_crac_supply_air_temperature_celsius"),
        )
        if ret is None or sup is None:
            return ""
        running = [
            labels["component"] for labels, x in _values(readings, "dcops_dcim_crac_running") if x
        ]
        return (
            f"return {ret:.1f} °C · supply {sup:.1f} °C · running {', '.join(running) or 'nothing'}"
        )
    if kind == "pdu":
        watts = v("dcops_dcim_pdu_power_watts")
        phases = " ".join(
            f"L{labels.get('phase', '?')} {a:.1f} A"
            for labels, a in _values(readings, "dcops_dcim_pdu_phase_current_amperes")
        )
        return f"{watts / 1000:.1f} kW · {phases}" if watts is not None else phases
    if kind == "door-controller":
        return ", ".join(
            f"door {labels['door']} {DOOR_STATE.get(int(x), '?')}"
            for labels, x in _values(readings, "dcops_dcim_door_state_code")
        )
    if kind == "fire-panel":
        return ", ".join(
            f"zone {labels['zone']} {FIRE_ZONE_STATE.get(int(x), '?')}"
            for labels, x in _values(readings, "dcops_dcim_fire_zone_state_code")
        )
    if kind == "leak-sensor":
        wet = [labels["zone"] for labels, x in _values(readings, "dcops_dcim_leak_detected") if x]
        return f"WET zone {', '.join(wet)}" if wet else "dry"
    return ""


def ordered_problems(found: list[Problem]) -> list[Problem]:
    """Worst first, then by room, rack and device."""
    return sorted(
        found, key=lambda p: (SEVERITY_ORDER.get(p.severity, 9), p.room, p.rack, p.device)
    )
