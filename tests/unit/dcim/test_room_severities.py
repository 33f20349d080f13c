"""`dcim poll`/`watch` and the alert rules give the same situations the same severity."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dcops.dcim import room
from dcops.dcim.decoding import Reading
from dcops.dcim.exporter import render
from dcops.dcim.inventory import Target
from dcops.dcim.poller import DeviceState, Poller
from dcops.dcim.profiles import bundled_profile

RULES = Path(__file__).resolve().parents[3] / "monitors" / "rules"


def _alerts() -> list[dict[str, Any]]:
    found = []
    for path in sorted(RULES.glob("*.yml")):
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]:
            found += [r for r in group["rules"] if "alert" in r]
    return found


def _alarm_names(expr: str) -> set[str]:
    match = re.search(r'alarm=~"([^"]+)"', expr)
    return set(match.group(1).split("|")) if match else set()


def _state(kind: str, profile: str, up: bool = True) -> DeviceState:
    target = Target(
        name=f"{kind}-1",
        kind=kind,
        room="r301",
        rack="",
        protocol="modbus",
        host="127.0.0.1",
        port=1,
        unit=1,
        profile=bundled_profile(profile),
    )
    return DeviceState(target, up=up, polled=True, last_reason="" if up else "timeout")


def test_critical_ups_and_crac_alarms_are_the_rules_critical_ones() -> None:
    critical = {a["alert"]: a for a in _alerts() if a["labels"]["severity"] == "critical"}
    assert _alarm_names(critical["UpsAlarm"]["expr"]) == room.UPS_CRITICAL_ALARMS
    crac = _alarm_names(critical["CracAlarm"]["expr"]) | {"compressor_fault", "fan_failure"}
    assert "compressor_fault" in critical["CracCompressorFailure"]["expr"]
    assert "fan_failure" in critical["CracFanFailure"]["expr"]
    assert crac == room.CRAC_CRITICAL_ALARMS


def test_a_device_down_is_as_severe_as_its_alert() -> None:
    by_name = {(a["alert"], a["labels"]["severity"]) for a in _alerts()}
    assert ("DeviceDown", "warning") in by_name and ("CracUnreachable", "critical") in by_name
    sensor = room.problems(_state("env-sensor", "env-sensor", up=False), [])
    crac = room.problems(_state("crac", "vertiv-crac", up=False), [])
    assert [p.severity for p in sensor] == ["warning"]
    assert [p.severity for p in crac] == ["critical"]


def test_inlet_temperature_bands_match_the_rules() -> None:
    bands = {
        (a["alert"], a["labels"]["severity"]): float(a["expr"].split()[-1])
        for a in _alerts()
        if a["alert"] in ("InletTemperatureHigh", "InletTemperatureLow")
    }
    high, low = room.DEFAULTS.temperature_high_celsius, room.DEFAULTS.temperature_low_celsius
    assert high is not None and low is not None
    above, below = room.INLET_CRITICAL_MARGIN
    assert bands == {
        ("InletTemperatureHigh", "warning"): high,
        ("InletTemperatureHigh", "critical"): high + above,
        ("InletTemperatureLow", "warning"): low,
        ("InletTemperatureLow", "critical"): low - below,
    }
    state = _state("env-sensor", "env-sensor")
    metric = "dcops_dcim_env_temperature_celsius"
    for value, severity in (
        (33.0, "critical"),
        (28.0, "warning"),
        (16.0, "warning"),
        (14.0, "critical"),
    ):
        found = room.problems(state, [Reading(metric, (), value)])
        assert [p.severity for p in found] == [severity], value


def test_ups_alarms_are_split_by_severity_as_the_rules_split_them() -> None:
    state = _state("ups", "ups-mib")
    readings = [
        Reading("dcops_dcim_ups_alarm", (("alarm", "output_overload"),), 1.0),
        Reading("dcops_dcim_ups_alarm", (("alarm", "temp_bad"),), 1.0),
    ]
    found = {p.severity: p.text for p in room.problems(state, readings)}
    assert "output_overload" in found["critical"] and "temp_bad" in found["warning"]


def test_a_simulated_poller_labels_every_series() -> None:
    state = _state("env-sensor", "env-sensor")
    poller = Poller([state.target], interval=10, clock=lambda: 1000.0, simulated=True)
    polled = poller.states[state.target.name]
    polled.polled, polled.up, polled.last_success = True, True, 999.0
    polled.readings[("dcops_dcim_env_temperature_celsius", ())] = (22.0, 999.0)
    text = render(poller, "gdc", "9.9").decode()
    series = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert series and all('simulated="true"' in line for line in series)
    real = Poller([state.target], interval=10, clock=lambda: 1000.0)
    assert "simulated" not in render(real, "gdc", "9.9").decode()
