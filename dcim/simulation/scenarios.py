"""Simulated device values over time, per scenario, in base units (what a poller should read)."""

from __future__ import annotations

import math
from collections.abc import Callable

LabelSet = tuple[tuple[str, str], ...]
State = dict[tuple[str, LabelSet], float]

SCENARIOS: dict[str, str] = {
    "normal": "every device nominal",
    "ups-on-battery": "mains lost at the first UPS: on battery, charge and runtime falling, low battery after 60 s",
    "overheat": "rack inlet temperatures climb 0.5 °C/s (to 45 °C); the precision AC return air follows",
    "door-forced": "door 1 of the first access controller forced open, open time rising",
    "fire-alarm": "zone 1 of the first fire panel in alarm, zone 2 in pre-alarm",
    "crac-fault": "the first precision AC unit: compressor fault, supply air warming",
    "leak": "water detected in zone 1 of the first leak sensor; the first precision AC flags a leak",
}
UPS_LINES, PDU_PHASES, PDU_OUTLETS, DOORS, FIRE_ZONES, LEAK_ZONES = 3, 3, 8, 2, 4, 4
CARD_EVENT_BASE = 1_764_000_000


def _one(metric: str, value: float, **labels: str) -> tuple[tuple[str, LabelSet], float]:
    return (metric, tuple(sorted(labels.items()))), float(value)


def _wiggle(now: float, seed: int, amplitude: float) -> float:
    return amplitude * math.sin(now / 30.0 + seed)


def ups(
    first: bool, scenario: str, elapsed: float, now: float, seed: int
) -> tuple[State, list[str]]:
    """A UPS's readings and its present alarms."""
    on_battery = first and scenario == "ups-on-battery"
    low = on_battery and elapsed >= 60
    alarms = ["on_battery", "input_bad", *(["low_battery"] if low else [])] if on_battery else []
    state = dict(
        [
            _one("dcops_dcim_ups_battery_status_code", 3 if low else 2),
            _one("dcops_dcim_ups_on_battery_seconds", int(elapsed) if on_battery else 0),
            _one(
                "dcops_dcim_ups_battery_runtime_seconds",
                max(60, 1800 - 25 * int(elapsed)) if on_battery else 1800,
            ),
            _one(
                "dcops_dcim_ups_battery_charge_ratio",
                max(5, 100 - int(elapsed * 0.66)) / 100 if on_battery else 1.0,
            ),
            _one("dcops_dcim_ups_battery_voltage_volts", 520.0 if on_battery else 545.0),
            _one("dcops_dcim_ups_battery_current_amperes", 150.0 if on_battery else 0.0),
            _one("dcops_dcim_ups_battery_temperature_celsius", 24),
            _one("dcops_dcim_ups_output_source_code", 5 if on_battery else 3),
            _one("dcops_dcim_ups_alarms_present", len(alarms)),
        ]
    )
    for line in range(1, UPS_LINES + 1):
        n = str(line)
        state.update(
            [
                _one("dcops_dcim_ups_input_frequency_hertz", 0.0 if on_battery else 50.0, line=n),
                _one("dcops_dcim_ups_input_voltage_volts", 0 if on_battery else 230, line=n),
                _one("dcops_dcim_ups_output_voltage_volts", 230, line=n),
                _one(
                    "dcops_dcim_ups_output_current_amperes",
                    round(120 + 10 * line + _wiggle(now, seed + line, 2), 1),
                    line=n,
                ),
                _one("dcops_dcim_ups_output_power_watts", 27000 + 1000 * line, line=n),
                _one("dcops_dcim_ups_output_load_ratio", (40 + 2 * line) / 100, line=n),
                _one("dcops_dcim_ups_bypass_voltage_volts", 0 if on_battery else 230, line=n),
            ]
        )
    return state, alarms


def pdu(now: float, seed: int) -> State:
    """A rack PDU's readings."""
    state = dict([_one("dcops_dcim_pdu_power_watts", 3800 + 100 * (seed % 5))])
    for phase in range(1, PDU_PHASES + 1):
        amps = round(5.5 + phase + _wiggle(now, seed + phase, 0.4), 1)
        state.update(
            [
                _one("dcops_dcim_pdu_phase_current_amperes", amps, phase=str(phase)),
                _one("dcops_dcim_pdu_phase_rated_current_amperes", 32, phase=str(phase)),
            ]
        )
    for outlet in range(1, PDU_OUTLETS + 1):
        state.update(
            [
                _one(
                    "dcops_dcim_pdu_outlet_on",
                    0 if outlet == PDU_OUTLETS else 1,
                    outlet=str(outlet),
                )
            ]
        )
    return state


def inlet_temperature(scenario: str, elapsed: float, now: float, seed: int) -> float:
    """Rack inlet temperature: 22-23.5 °C normally, climbing in an overheat."""
    base = 22.8 + _wiggle(now, seed, 0.5)
    if scenario == "overheat":
        base = min(45.0, base + 0.5 * elapsed)
    return round(base, 2)


def env(scenario: str, elapsed: float, now: float, seed: int) -> State:
    """An environment sensor's readings."""
    return dict(
        [
            _one(
                "dcops_dcim_env_temperature_celsius",
                inlet_temperature(scenario, elapsed, now, seed),
            ),
            _one("dcops_dcim_env_humidity_ratio", round(0.45 + _wiggle(now, seed + 7, 0.03), 4)),
            _one("dcops_dcim_leak_detected", 0, zone="1"),
        ]
    )


def crac(first: bool, scenario: str, elapsed: float, now: float, seed: int) -> State:
    """A precision AC unit's readings."""
    fault = first and scenario == "crac-fault"
    return_air = 24.0 + _wiggle(now, seed, 0.4)
    if scenario == "overheat":
        return_air = min(45.0, return_air + 0.5 * elapsed)
    supply = min(30.0, 14.0 + 0.2 * elapsed) if fault else 14.0 + _wiggle(now, seed + 3, 0.3)
    alarms = {
        "general_fault": fault,
        "compressor_fault": fault,
        "high_return_temperature": return_air > 30,
        "water_leak": first and scenario == "leak",
    }
    running = {
        "fan": True,
        "compressor": not fault,
        "heater": False,
        "humidifier": False,
        "dehumidifier": False,
    }
    state = dict(
        [
            _one("dcops_dcim_crac_return_air_temperature_celsius", round(return_air, 1)),
            _one("dcops_dcim_crac_supply_air_temperature_celsius", round(supply, 1)),
            _one("dcops_dcim_crac_return_air_humidity_ratio", 0.45),
            _one("dcops_dcim_crac_supply_air_humidity_ratio", 0.55),
            _one("dcops_dcim_crac_temperature_setpoint_celsius", 24.0),
            _one("dcops_dcim_crac_humidity_setpoint_ratio", 0.5),
        ]
    )
    from dcops.dcim.catalogue import CRAC_ALARMS, CRAC_COMPONENTS

    state.update(_one("dcops_dcim_crac_running", running[c], component=c) for c in CRAC_COMPONENTS)
    state.update(_one("dcops_dcim_crac_alarm", alarms.get(a, False), alarm=a) for a in CRAC_ALARMS)
    return state


def leak(first: bool, scenario: str) -> State:
    """A leak detection controller's readings."""
    wet = first and scenario == "leak"
    return dict(
        _one("dcops_dcim_leak_detected", wet and zone == 1, zone=str(zone))
        for zone in range(1, LEAK_ZONES + 1)
    )


def door(first: bool, scenario: str, elapsed: float) -> State:
    """An access controller's readings."""
    state: State = {}
    for d in range(1, DOORS + 1):
        forced = first and scenario == "door-forced" and d == 1
        state.update(
            [
                _one("dcops_dcim_door_state_code", 2 if forced else 0, door=str(d)),
                _one("dcops_dcim_door_open_seconds", int(elapsed) if forced else 0, door=str(d)),
                _one(
                    "dcops_dcim_door_last_card_event_timestamp_seconds",
                    CARD_EVENT_BASE + 3600 * d,
                    door=str(d),
                ),
                _one("dcops_dcim_door_access_outside_hours", 0, door=str(d)),
            ]
        )
    return state


def fire(first: bool, scenario: str) -> State:
    """A fire panel's readings."""
    alarm = first and scenario == "fire-alarm"
    codes = {1: 2, 2: 1} if alarm else {}
    state: State = {}
    for zone in range(1, FIRE_ZONES + 1):
        state.update(
            [
                _one("dcops_dcim_fire_zone_state_code", codes.get(zone, 0), zone=str(zone)),
                _one("dcops_dcim_fire_zone_isolated_seconds", 0, zone=str(zone)),
            ]
        )
    return state


def device_state(
    kind: str, first: bool, scenario: str, elapsed: float, now: float, seed: int
) -> tuple[State, list[str]]:
    """The readings (and UPS alarms) a simulated device of this kind shows now."""
    makers: dict[str, Callable[[], State]] = {
        "pdu": lambda: pdu(now, seed),
        "env-sensor": lambda: env(scenario, elapsed, now, seed),
        "crac": lambda: crac(first, scenario, elapsed, now, seed),
        "leak-sensor": lambda: leak(first, scenario),
        "door-controller": lambda: door(first, scenario, elapsed),
        "fire-panel": lambda: fire(first, scenario),
    }
    if kind == "ups":
        return ups(first, scenario, elapsed, now, seed)
    maker = makers.get(kind)
    return (maker() if maker else {}), []
