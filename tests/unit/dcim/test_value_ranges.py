"""Values a device cannot mean are dropped and counted, never exported as readings."""

from __future__ import annotations

import asyncio
import math
import struct
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcops.dcim.catalogue import METRICS, READING_METRICS, valid_range
from dcops.dcim.decoding import Block, decode_registers, decode_scalars, decode_tables, plan_blocks
from dcops.dcim.profiles import bundled_profile, load_profile_file

UPS = bundled_profile("ups-mib")
ENV = bundled_profile("env-sensor")
CHARGE = "1.3.6.1.2.1.33.1.2.4.0"
STATUS = "1.3.6.1.2.1.33.1.2.1.0"
LOAD = "1.3.6.1.2.1.33.1.4.4.1.5"
LOAD_METRIC = "dcops_dcim_ups_output_load_ratio"


def _env(words: list[int]) -> list[tuple[str, float]]:
    [block] = plan_blocks(ENV)
    decoded = decode_registers(ENV, {block: words + [0] * (block.count - len(words))})
    return [(r.metric, r.value) for r in decoded.readings if "leak" not in r.metric]


@pytest.mark.parametrize(
    ("oid", "raw", "metric"),
    [
        (CHARGE, 2 * 10**88, "dcops_dcim_ups_battery_charge_ratio"),
        (CHARGE, -1, "dcops_dcim_ups_battery_charge_ratio"),
        (STATUS, -100, "dcops_dcim_ups_battery_status_code"),
        (STATUS, 9, "dcops_dcim_ups_battery_status_code"),
    ],
)
def test_impossible_snmp_values_are_dropped(oid: str, raw: int, metric: str) -> None:
    decoded = decode_scalars(UPS, [(oid, raw)])
    assert all(r.metric != metric for r in decoded.readings)
    [dropped] = decoded.out_of_range
    assert dropped.metric == metric and oid in str(dropped)


def test_possible_values_are_kept() -> None:
    decoded = decode_scalars(UPS, [(CHARGE, 100), (STATUS, 2)])
    assert {(r.metric, r.value) for r in decoded.readings} == {
        ("dcops_dcim_ups_battery_charge_ratio", 1.0),
        ("dcops_dcim_ups_battery_status_code", 2.0),
    }
    assert decoded.out_of_range == []


def test_register_sentinels_mean_no_sensor_and_wild_values_are_out_of_range() -> None:
    assert _env([0x7FFF, 5000]) == [("dcops_dcim_env_humidity_ratio", 0.5)]  # no probe
    assert ("dcops_dcim_env_temperature_celsius", 23.5) in _env([2350, 5000])
    [block] = plan_blocks(ENV)
    words = [9000, 0xFFFF] + [0] * (block.count - 2)  # 90 °C: beyond the sensor's range
    decoded = decode_registers(ENV, {block: words})
    assert [d.metric for d in decoded.out_of_range] == ["dcops_dcim_env_temperature_celsius"]
    assert [d.metric for d in decoded.absent] == ["dcops_dcim_env_humidity_ratio"]


def test_nan_pattern_in_a_float_register_is_dropped(tmp_path: Path) -> None:
    path = tmp_path / "f.yml"
    path.write_text(
        "name: f\ntitle: f\nkind: env-sensor\nprotocol: modbus\nregisters:\n"
        "  - {metric: dcops_dcim_env_temperature_celsius, address: 0, type: float32}\n",
        encoding="utf-8",
    )
    profile = load_profile_file(path)
    nan = struct.unpack(">HH", struct.pack(">f", math.nan))
    decoded = decode_registers(profile, {Block("holding", 0, 2): list(nan)})
    assert decoded.readings == [] and "not a number" in str(decoded.out_of_range[0])


@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(READING_METRICS))
def test_no_reading_outside_its_range_is_ever_kept(value: float, metric: str) -> None:
    from dcops.dcim.decoding import Decoded
    from dcops.dcim.profiles import SnmpObject

    decoded = Decoded()
    decoded.add(SnmpObject(metric=metric, oid="1.3.6.1.4.1.1.0"), (), value, value, "x")
    for reading in decoded.readings:
        assert math.isfinite(reading.value)
        bounds = valid_range(metric)
        if bounds is None:
            assert reading.value in METRICS[metric].codes
        else:
            assert bounds[0] <= reading.value <= bounds[1]
    assert len(decoded.readings) + len(decoded.out_of_range) == 1


def test_table_indexes_padded_with_zero_are_normalised() -> None:
    rows = [(f"{LOAD}.1.0", 40), (f"{LOAD}.2", 50)]
    decoded = decode_tables(UPS, {}, rows)
    lines = sorted(dict(r.labels)["line"] for r in decoded.readings if r.metric == LOAD_METRIC)
    assert lines == ["1", "2"]


def test_poller_counts_out_of_range_and_forgets_the_old_value() -> None:
    from dcops.dcim.poller import DeviceState, Poller

    poller = Poller.__new__(Poller)
    poller.clock = lambda: 100.0
    state = DeviceState(target=None)  # type: ignore[arg-type]
    state.readings[("dcops_dcim_ups_battery_charge_ratio", ())] = (0.9, 50.0)
    decoded = decode_scalars(UPS, [(CHARGE, -1), (STATUS, 2)])
    poller._record(state, decoded)
    assert state.errors["out_of_range"] == 1 and state.up
    assert ("dcops_dcim_ups_battery_charge_ratio", ()) not in state.readings
    assert asyncio.iscoroutinefunction(Poller.poll_device)
