"""Profiles run backwards: the OIDs or registers a device must hold to show given readings."""

from __future__ import annotations

from dcops.dcim.decoding import expanded, raw_for, value_to_words
from dcops.dcim.profiles import Profile, SnmpObject
from dcops.dcim.simulation.scenarios import State


def _raw(obj: SnmpObject, value: float) -> int:
    if obj.map is not None:
        inverse = {v: k for k, v in obj.map.items()}
        return inverse[float(value)]
    return round(value / obj.scale)


def snmp_values(profile: Profile, state: State, alarms: list[str]) -> dict[str, tuple[str, str]]:
    """OID → (pass_persist type, value) for every reading of state the profile knows."""
    out: dict[str, tuple[str, str]] = {}
    for obj in profile.scalars:
        matches = [
            v
            for (m, labels), v in state.items()
            if m == obj.metric and (not obj.spread_over or labels)
        ]
        if obj.spread_over is None:
            key = (obj.metric, tuple(sorted(obj.labels.items())))
            matches = [state[key]] if key in state else []
        if matches:
            out[obj.oid] = ("integer", str(_raw(obj, matches[0])))
    for table in profile.tables:
        for column in table.columns:
            if column.names is not None:
                by_name = {name: oid for oid, name in column.names.items()}
                for row, alarm in enumerate(alarms, start=1):
                    out[f"{column.oid}.{row}"] = ("objectid", "." + by_name[alarm])
                continue
            for (metric, labels), value in state.items():
                index = dict(labels).get(table.index_label)
                if metric == column.metric and index is not None:
                    out[f"{column.oid}.{index}"] = ("integer", str(_raw(column, value)))
    return out


def modbus_words(profile: Profile, state: State) -> dict[int, int]:
    """Register address → 16-bit word for every reading of state the profile knows."""
    out: dict[int, int] = {}
    for reg, address, labels in expanded(profile):
        if reg.bits is not None:
            assert reg.bit_label is not None
            word = 0
            for bit, name in reg.bits.items():
                key = (reg.metric, tuple(sorted({**labels, reg.bit_label: name}.items())))
                if state.get(key):
                    word |= 1 << bit
            out[address] = word
            continue
        key = (reg.metric, tuple(sorted(labels.items())))
        if key not in state:
            continue
        words = value_to_words(raw_for(reg, state[key]), reg.type, reg.word_order, reg.byte_order)
        for offset, word in enumerate(words):
            out[address + offset] = word
    return out
