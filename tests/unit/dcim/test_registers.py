"""Register decoding: word and byte orders, signedness and scale, pinned and as properties."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcops.dcim.decoding import Block, decode_registers, plan_blocks, value_to_words, words_to_value
from dcops.dcim.profiles import Profile, bundled_profile

ORDERS = st.sampled_from(["big", "little"])


@pytest.mark.parametrize(
    ("words", "kind", "word_order", "byte_order", "expected"),
    [
        ([0x0001, 0x0002], "uint32", "big", "big", 0x00010002),
        ([0x0001, 0x0002], "uint32", "little", "big", 0x00020001),
        ([0x0100, 0x0200], "uint32", "big", "little", 0x00010002),
        ([0x0200, 0x0100], "uint32", "little", "little", 0x00010002),
        ([0xFFFF], "int16", "big", "big", -1),
        ([0xFFFF], "uint16", "big", "big", 65535),
        ([0xFFFF, 0xFFFE], "int32", "big", "big", -2),
        ([0x41C8, 0x0000], "float32", "big", "big", 25.0),
        ([0x0000, 0x41C8], "float32", "little", "big", 25.0),
        ([0xC841, 0x0000], "float32", "big", "little", 25.0),
    ],
)
def test_pinned_orders(
    words: list[int], kind: str, word_order: str, byte_order: str, expected: float
) -> None:
    assert words_to_value(words, kind, word_order, byte_order) == expected  # type: ignore[arg-type]


@given(st.integers(-(2**31), 2**31 - 1), ORDERS, ORDERS)
def test_int32_round_trips_in_every_order(value: int, word_order: str, byte_order: str) -> None:
    words = value_to_words(value, "int32", word_order, byte_order)
    assert all(0 <= w <= 0xFFFF for w in words) and len(words) == 2
    assert words_to_value(words, "int32", word_order, byte_order) == value


@given(st.integers(0, 2**32 - 1), ORDERS, ORDERS)
def test_uint32_round_trips_in_every_order(value: int, word_order: str, byte_order: str) -> None:
    assert (
        words_to_value(
            value_to_words(value, "uint32", word_order, byte_order),
            "uint32",
            word_order,
            byte_order,
        )
        == value
    )


@given(st.integers(-(2**15), 2**15 - 1), ORDERS)
def test_int16_sign_survives_byte_order(value: int, byte_order: str) -> None:
    words = value_to_words(value, "int16", "big", byte_order)
    assert words_to_value(words, "int16", "big", byte_order) == value


@given(st.floats(width=32, allow_nan=False, allow_infinity=False), ORDERS, ORDERS)
def test_float32_round_trips(value: float, word_order: str, byte_order: str) -> None:
    words = value_to_words(value, "float32", word_order, byte_order)
    assert (
        words_to_value(words, "float32", word_order, byte_order)
        == struct.unpack(">f", struct.pack(">f", value))[0]
    )


@given(st.integers(-32768, 32767))
def test_signed_scaled_temperature(raw: int) -> None:
    profile = bundled_profile("vertiv-crac")
    registers = [0] * 8
    registers[0] = raw & 0xFFFF
    decoded = decode_registers(profile, {Block("holding", 0, 8): registers})
    metric = "dcops_dcim_crac_return_air_temperature_celsius"
    kept = [r.value for r in decoded.readings if r.metric == metric]
    if -50 <= raw * 0.1 <= 150:  # what air can be; beyond it the value is dropped as impossible
        assert kept == [pytest.approx(raw * 0.1)]
    else:
        assert kept == [] and [d.metric for d in decoded.out_of_range] == [metric]


def test_repeated_doors_decode_low_word_first_open_time() -> None:
    profile = bundled_profile("access-controller")
    registers = [0] * 14
    registers[8] = 2  # door 2 forced
    registers[9], registers[10] = 0x0001, 0x0002  # open seconds, low word first: 0x00020001
    registers[11], registers[12] = 0x6925, 0xA580  # last card event, big-endian words
    decoded = decode_registers(profile, {Block("holding", 0, 14): registers})
    values = {(r.metric, r.labels): r.value for r in decoded.readings}
    assert values[("dcops_dcim_door_state_code", (("door", "2"),))] == 2
    assert values[("dcops_dcim_door_open_seconds", (("door", "2"),))] == 0x00020001
    assert (
        values[("dcops_dcim_door_last_card_event_timestamp_seconds", (("door", "2"),))]
        == 0x6925A580
    )
    assert values[("dcops_dcim_door_state_code", (("door", "1"),))] == 0
    assert decoded.problems == []


def test_bits_become_one_series_per_named_bit() -> None:
    decoded = decode_registers(
        bundled_profile("vertiv-crac"), {Block("holding", 0, 8): [0, 0, 0, 0, 0, 0, 0b11, 0b10]}
    )
    alarms = {
        dict(r.labels)["alarm"]: r.value
        for r in decoded.readings
        if r.metric == "dcops_dcim_crac_alarm"
    }
    running = {
        dict(r.labels)["component"]: r.value
        for r in decoded.readings
        if r.metric == "dcops_dcim_crac_running"
    }
    assert alarms["compressor_fault"] == 1 and alarms["general_fault"] == 0 and len(alarms) == 10
    assert running == {"fan": 1, "compressor": 1, "heater": 0, "humidifier": 0, "dehumidifier": 0}


def test_missing_block_is_a_problem_not_a_crash() -> None:
    decoded = decode_registers(bundled_profile("fire-panel"), {Block("input", 100, 5): [0] * 5})
    assert any("register 105 was not read" in p for p in decoded.problems)
    assert len([r for r in decoded.readings if r.metric == "dcops_dcim_fire_zone_state_code"]) == 2


def test_blocks_are_as_few_as_possible() -> None:
    assert plan_blocks(bundled_profile("fire-panel")) == [Block("input", 100, 15)]
    assert plan_blocks(bundled_profile("access-controller")) == [Block("holding", 0, 14)]
    far = Profile.model_validate(
        {
            "name": "far",
            "title": "far apart",
            "kind": "env-sensor",
            "protocol": "modbus",
            "registers": [
                {"metric": "dcops_dcim_env_temperature_celsius", "address": 0},
                {"metric": "dcops_dcim_env_humidity_ratio", "address": 500, "table": "input"},
                {
                    "metric": "dcops_dcim_leak_detected",
                    "address": 300,
                    "bit_label": "zone",
                    "bits": {0: "1"},
                },
            ],
        }
    )
    assert plan_blocks(far) == [
        Block("holding", 0, 1),
        Block("holding", 300, 1),
        Block("input", 500, 1),
    ]
