"""Every metric the DCIM exporter may produce: help text, unit, labels and enumeration codes."""

from __future__ import annotations

from dataclasses import dataclass, field

COMMON_LABELS = ("site", "room", "rack", "device", "kind")
SIMULATED_LABEL = "simulated"  # "true" on every series while `dcops dcim simulate` is polled


@dataclass(frozen=True)
class MetricSpec:
    """One exported metric family."""

    name: str
    help: str
    unit: str = ""
    labels: tuple[str, ...] = ()
    codes: dict[int, str] = field(default_factory=dict)
    kind: str = "gauge"


BATTERY_STATUS = {1: "unknown", 2: "normal", 3: "low", 4: "depleted"}
OUTPUT_SOURCE = {
    1: "other",
    2: "none",
    3: "normal",
    4: "bypass",
    5: "battery",
    6: "booster",
    7: "reducer",
}
DOOR_STATE = {0: "closed", 1: "open", 2: "forced", 3: "held_open"}
FIRE_ZONE_STATE = {0: "normal", 1: "pre_alarm", 2: "alarm", 3: "fault", 4: "isolated"}
UPS_ALARMS = (
    "battery_bad",
    "on_battery",
    "low_battery",
    "depleted_battery",
    "temp_bad",
    "input_bad",
    "output_bad",
    "output_overload",
    "on_bypass",
    "bypass_bad",
    "output_off_as_requested",
    "ups_off_as_requested",
    "charger_failed",
    "ups_output_off",
)
CRAC_COMPONENTS = ("fan", "compressor", "heater", "humidifier", "dehumidifier")
CRAC_ALARMS = (
    "general_fault",
    "compressor_fault",
    "fan_failure",
    "high_return_temperature",
    "low_return_temperature",
    "high_humidity",
    "low_humidity",
    "water_leak",
    "filter_clogged",
    "power_failure",
)

_SPECS = (
    MetricSpec("dcops_dcim_device_up", "1 if the last poll of the device succeeded, else 0."),
    MetricSpec(
        "dcops_dcim_device_last_success_timestamp_seconds",
        "Unix time of the last successful poll.",
        "seconds",
    ),
    MetricSpec(
        "dcops_dcim_device_poll_duration_seconds", "How long the last poll took.", "seconds"
    ),
    MetricSpec(
        "dcops_dcim_device_poll_errors_total",
        "Failed polls by reason.",
        "",
        ("reason",),
        kind="counter",
    ),
    MetricSpec(
        "dcops_dcim_device_stale_readings",
        "Readings not refreshed within two intervals (not exported as current).",
    ),
    MetricSpec(
        "dcops_dcim_exporter_build_info", "Always 1; the exporter's version.", "", ("version",)
    ),
    MetricSpec("dcops_dcim_ups_battery_status_code", "upsBatteryStatus.", "", (), BATTERY_STATUS),
    MetricSpec("dcops_dcim_ups_on_battery_seconds", "Time on battery (0 on mains).", "seconds"),
    MetricSpec(
        "dcops_dcim_ups_battery_runtime_seconds", "Estimated runtime left on battery.", "seconds"
    ),
    MetricSpec("dcops_dcim_ups_battery_charge_ratio", "Battery charge, 0..1.", "ratio"),
    MetricSpec("dcops_dcim_ups_battery_voltage_volts", "Battery voltage.", "volts"),
    MetricSpec("dcops_dcim_ups_battery_current_amperes", "Battery current.", "amperes"),
    MetricSpec("dcops_dcim_ups_battery_temperature_celsius", "Battery temperature.", "celsius"),
    MetricSpec(
        "dcops_dcim_ups_input_frequency_hertz", "Input frequency per line.", "hertz", ("line",)
    ),
    MetricSpec("dcops_dcim_ups_input_voltage_volts", "Input voltage per line.", "volts", ("line",)),
    MetricSpec("dcops_dcim_ups_output_source_code", "upsOutputSource.", "", (), OUTPUT_SOURCE),
    MetricSpec(
        "dcops_dcim_ups_output_voltage_volts", "Output voltage per line.", "volts", ("line",)
    ),
    MetricSpec(
        "dcops_dcim_ups_output_current_amperes", "Output current per line.", "amperes", ("line",)
    ),
    MetricSpec("dcops_dcim_ups_output_power_watts", "Output power per line.", "watts", ("line",)),
    MetricSpec(
        "dcops_dcim_ups_output_load_ratio", "Output load per line, 0..1.", "ratio", ("line",)
    ),
    MetricSpec(
        "dcops_dcim_ups_bypass_voltage_volts", "Bypass voltage per line.", "volts", ("line",)
    ),
    MetricSpec("dcops_dcim_ups_alarms_present", "upsAlarmsPresent: number of active alarms."),
    MetricSpec(
        "dcops_dcim_ups_alarm",
        "1 while the named well-known alarm is present, else 0.",
        "",
        ("alarm",),
    ),
    MetricSpec("dcops_dcim_pdu_phase_current_amperes", "Current per phase.", "amperes", ("phase",)),
    MetricSpec(
        "dcops_dcim_pdu_phase_rated_current_amperes",
        "Rated current per phase.",
        "amperes",
        ("phase",),
    ),
    MetricSpec("dcops_dcim_pdu_outlet_on", "1 if the outlet is on, 0 if off.", "", ("outlet",)),
    MetricSpec("dcops_dcim_pdu_power_watts", "Power drawn through the PDU.", "watts"),
    MetricSpec(
        "dcops_dcim_crac_return_air_temperature_celsius", "Return air temperature.", "celsius"
    ),
    MetricSpec(
        "dcops_dcim_crac_supply_air_temperature_celsius", "Supply air temperature.", "celsius"
    ),
    MetricSpec(
        "dcops_dcim_crac_return_air_humidity_ratio", "Return air relative humidity, 0..1.", "ratio"
    ),
    MetricSpec(
        "dcops_dcim_crac_supply_air_humidity_ratio", "Supply air relative humidity, 0..1.", "ratio"
    ),
    MetricSpec("dcops_dcim_crac_temperature_setpoint_celsius", "Temperature setpoint.", "celsius"),
    MetricSpec("dcops_dcim_crac_humidity_setpoint_ratio", "Humidity setpoint, 0..1.", "ratio"),
    MetricSpec("dcops_dcim_crac_running", "1 while the component runs.", "", ("component",)),
    MetricSpec("dcops_dcim_crac_alarm", "1 while the alarm bit is set.", "", ("alarm",)),
    MetricSpec(
        "dcops_dcim_env_temperature_celsius",
        "Air temperature at the sensor (rack inlet for a rack sensor).",
        "celsius",
    ),
    MetricSpec("dcops_dcim_env_humidity_ratio", "Relative humidity at the sensor, 0..1.", "ratio"),
    MetricSpec(
        "dcops_dcim_leak_detected", "1 while the zone detects water, 0 when dry.", "", ("zone",)
    ),
    MetricSpec("dcops_dcim_door_state_code", "Door state.", "", ("door",), DOOR_STATE),
    MetricSpec(
        "dcops_dcim_door_open_seconds",
        "How long the door has been open (0 when closed).",
        "seconds",
        ("door",),
    ),
    MetricSpec(
        "dcops_dcim_door_last_card_event_timestamp_seconds",
        "Unix time of the last card event.",
        "seconds",
        ("door",),
    ),
    MetricSpec(
        "dcops_dcim_door_access_outside_hours",
        "1 if access outside permitted hours was reported (latched).",
        "",
        ("door",),
    ),
    MetricSpec(
        "dcops_dcim_fire_zone_state_code", "Fire zone state.", "", ("zone",), FIRE_ZONE_STATE
    ),
    MetricSpec(
        "dcops_dcim_fire_zone_isolated_seconds",
        "How long the zone has been isolated (0 otherwise).",
        "seconds",
        ("zone",),
    ),
)

METRICS: dict[str, MetricSpec] = {spec.name: spec for spec in _SPECS}

# What a reading in each unit can physically be; a device reporting outside it is wrong
# (an unset register, a sensor that is absent, a bad scale), and the value is not exported.
_UNIT_RANGES: dict[str, tuple[float, float]] = {
    "celsius": (-50.0, 150.0),
    "ratio": (0.0, 1.0),
    "seconds": (0.0, 1e10),
    "volts": (0.0, 2000.0),
    "amperes": (-5000.0, 5000.0),
    "hertz": (0.0, 100.0),
    "watts": (0.0, 1e7),
    "": (0.0, 1.0),  # flags: 1 while something is on, else 0
}
_METRIC_RANGES: dict[str, tuple[float, float]] = {
    "dcops_dcim_ups_output_load_ratio": (0.0, 3.0),  # overload is real and must be seen
    "dcops_dcim_pdu_phase_current_amperes": (0.0, 5000.0),
    "dcops_dcim_ups_alarms_present": (0.0, 1000.0),
}


def valid_range(name: str) -> tuple[float, float] | None:
    """The values a reading of this metric can take (None: enumeration codes are checked instead)."""
    spec = METRICS[name]
    if spec.codes:
        return None
    return _METRIC_RANGES.get(name) or _UNIT_RANGES.get(spec.unit)


HEALTH_METRICS = frozenset(
    name for name in METRICS if name.startswith(("dcops_dcim_device_", "dcops_dcim_exporter_"))
)
READING_METRICS = tuple(name for name in METRICS if name not in HEALTH_METRICS)
