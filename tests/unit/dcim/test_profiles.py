"""Profiles: the shipped ones load and read contract metrics; bad ones name file, line and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput
from dcops.dcim.catalogue import METRICS
from dcops.dcim.profiles import bundled_profile, load_profile_file, profile_names


def test_shipped_profiles_cover_every_reading_kind() -> None:
    names = profile_names()
    assert {
        "ups-mib",
        "apc-rack-pdu",
        "vertiv-crac",
        "env-sensor",
        "access-controller",
        "fire-panel",
    } <= set(names)
    metrics = set()
    for name in names:
        profile = bundled_profile(name)
        metrics |= {o.metric for o in profile.scalars} | {r.metric for r in profile.registers}
        metrics |= {c.metric for t in profile.tables for c in t.columns}
    assert metrics == {
        m for m in METRICS if not m.startswith(("dcops_dcim_device_", "dcops_dcim_exporter_"))
    }


def test_ups_alarm_table_maps_all_well_known_alarms() -> None:
    column = bundled_profile("ups-mib").tables[-1].columns[0]
    assert column.names is not None and len(column.names) == 14
    assert column.names["1.3.6.1.2.1.33.1.6.3.2"] == "on_battery"


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / f"{name}.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_metric_and_bad_oid_are_reported_with_lines(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "bad",
        "name: bad\ntitle: t\nkind: ups\nprotocol: snmp\nscalars:\n"
        "  - {metric: dcops_dcim_ups_temp, oid: 1.3.6.1.2.1.33.1.2.7.0}\n"
        "  - {metric: dcops_dcim_ups_battery_charge_ratio, oid: 1.3.x.1}\n",
    )
    with pytest.raises(InvalidInput) as caught:
        load_profile_file(path, "bad.yml")
    shown = [str(p) for p in caught.value.problems]
    assert shown[0].startswith(
        "bad.yml:6: scalars[0].metric: unknown metric 'dcops_dcim_ups_temp'; allowed:"
    )
    assert shown[1].startswith("bad.yml:7: scalars[1].oid: '1.3.x.1' is not an OID; allowed:")


def test_register_overlap_bit_range_and_wrong_type(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "regs",
        "name: regs\ntitle: t\nkind: crac\nprotocol: modbus\nregisters:\n"
        "  - {metric: dcops_dcim_crac_return_air_temperature_celsius, address: 0, type: int32}\n"
        "  - {metric: dcops_dcim_crac_supply_air_temperature_celsius, address: 1}\n",
    )
    with pytest.raises(InvalidInput) as caught:
        load_profile_file(path, "regs.yml")
    assert str(caught.value.problems[0]) == (
        "regs.yml:7: registers[1].address: holding register 1 is also read by registers[0]; each register once"
    )
    path = _write(
        tmp_path,
        "bits",
        "name: bits\ntitle: t\nkind: crac\nprotocol: modbus\nregisters:\n"
        "  - {metric: dcops_dcim_crac_alarm, address: 0, type: float32, bit_label: alarm, bits: {16: x}}\n",
    )
    with pytest.raises(InvalidInput) as caught:
        load_profile_file(path, "bits.yml")
    messages = " | ".join(str(p) for p in caught.value.problems)
    assert "bit 16 is outside a register; allowed: 0..15" in messages
    assert "bits.yml:6" in messages


def test_unknown_field_lists_the_allowed_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, "x", "name: x\ntitle: t\nkind: pdu\nprotocol: snmp\nscalrs: []\n")
    with pytest.raises(InvalidInput) as caught:
        load_profile_file(path, "x.yml")
    assert any(
        "unknown field 'scalrs'; allowed: " in str(p) and "scalars" in str(p)
        for p in caught.value.problems
    )


def test_unknown_profile_name_lists_choices() -> None:
    with pytest.raises(InvalidInput) as caught:
        bundled_profile("nope")
    assert "ups-mib" in caught.value.problems[0].message
