"""Turn raw SNMP values and Modbus registers into readings in base units, and back (simulators)."""

from __future__ import annotations

import math
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

from dcops.dcim.catalogue import METRICS, valid_range
from dcops.dcim.profiles import ModbusRegister, Profile, RegisterType, SnmpObject
from dcops.dcim.snmp import ber

Labels = tuple[tuple[str, str], ...]
_FORMATS = {"int16": "h", "uint16": "H", "int32": "i", "uint32": "I", "float32": "f"}
READ_FUNCTION = {"holding": 3, "input": 4}
MAX_GAP = 8  # unread registers worth reading to save a round trip
MAX_BLOCK = 120


@dataclass(frozen=True)
class Reading:
    """One decoded value: metric, its own labels (phase, door...), value in base units."""

    metric: str
    labels: Labels
    value: float

    @property
    def unit(self) -> str:
        """The metric's base unit."""
        return METRICS[self.metric].unit

    def as_dict(self) -> dict[str, object]:
        """The reading as plain data for JSON output."""
        return {
            "metric": self.metric,
            "labels": dict(self.labels),
            "value": self.value,
            "unit": self.unit,
        }


@dataclass
class Decoded:
    """The readings of one poll and what could not be decoded."""

    readings: list[Reading] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    implied: int = 0  # readings inferred from absence (alarms not in the alarm table)
    out_of_range: list[Dropped] = field(default_factory=list)  # cannot be true
    absent: list[Dropped] = field(default_factory=list)  # the device says "no sensor"

    def merge(self, other: Decoded) -> None:
        """Take in another part of the same poll (the tables after the scalars)."""
        self.readings += other.readings
        self.problems += other.problems
        self.implied += other.implied
        self.out_of_range += other.out_of_range
        self.absent += other.absent

    def add(
        self,
        source: SnmpObject | ModbusRegister,
        labels: Labels,
        raw: float,
        value: float,
        where: str,
    ) -> None:
        """Keep a reading if it can be true; set it aside as out of range (or absent) if not."""
        metric = source.metric
        if raw in source.missing:
            self.absent.append(Dropped(metric, labels, f"{raw:g} means no sensor", where))
            return
        why = _impossible(metric, source.valid, value)
        if why:
            self.out_of_range.append(Dropped(metric, labels, why, where))
            return
        self.readings.append(Reading(metric, labels, value))


@dataclass(frozen=True)
class Dropped:
    """A value that is not exported: which reading, why, and where in the answer it was."""

    metric: str
    labels: Labels
    why: str
    where: str

    def __str__(self) -> str:
        return f"{self.metric} ({self.where}): {self.why}"


def _impossible(metric: str, valid: tuple[float, float] | None, value: float) -> str:
    """Why value cannot be a reading of metric ("" if it can)."""
    if not math.isfinite(value):
        return f"{value} is not a number"
    codes = METRICS[metric].codes
    if valid is None and codes:
        return "" if value in codes else f"{value:g} is not one of the codes {sorted(codes)}"
    low, high = valid or valid_range(metric) or (-math.inf, math.inf)
    return "" if low <= value <= high else f"{value:g} is outside [{low:g}, {high:g}]"


def _labels(base: dict[str, str], **extra: str) -> Labels:
    return tuple(sorted({**base, **extra}.items()))


def words_to_value(words: list[int], kind: RegisterType, word_order: str, byte_order: str) -> float:
    """The number that one or two registers hold, given type, word order and byte order."""
    ordered = words if word_order == "big" else list(reversed(words))
    raw = b"".join(
        w.to_bytes(2, "big") if byte_order == "big" else w.to_bytes(2, "little") for w in ordered
    )
    return float(struct.unpack(">" + _FORMATS[kind], raw)[0])


def value_to_words(value: float, kind: RegisterType, word_order: str, byte_order: str) -> list[int]:
    """The registers that hold value; the inverse of words_to_value."""
    number: float | int = value if kind == "float32" else int(value)
    raw = struct.pack(">" + _FORMATS[kind], number)
    words = [raw[i : i + 2] for i in range(0, len(raw), 2)]
    out = [int.from_bytes(w, "big" if byte_order == "big" else "little") for w in words]
    return out if word_order == "big" else list(reversed(out))


def raw_for(reg: ModbusRegister, value: float) -> int | float:
    """The raw register number that decodes to value (used by the simulators)."""
    raw = value / reg.scale
    return raw if reg.type == "float32" else round(raw)


# --- SNMP -----------------------------------------------------------------------------------


def _raw(value: ber.Value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | bytes):
        raise ValueError(f"expected a number, got {_shown(value)}")
    if isinstance(value, bytes):
        try:
            number = float(value.decode("ascii").strip())
        except (UnicodeDecodeError, ValueError):
            raise ValueError(f"expected a number, got string {value[:20]!r}") from None
    else:
        number = float(value)
    return number


def _scaled(obj: SnmpObject, number: float) -> float:
    if obj.map is not None and number not in obj.missing:
        if not math.isfinite(number) or int(number) not in obj.map:
            raise ValueError(f"value {number:g} not in {sorted(obj.map)}")
        return obj.map[int(number)]
    return number * obj.scale


def _shown(value: ber.Value) -> str:
    if isinstance(value, ber.Exception_):
        return str(value)
    return f"{type(value).__name__} {value!r}"


def decode_scalars(profile: Profile, varbinds: Iterable[tuple[str, ber.Value]]) -> Decoded:
    """Readings of a profile's scalars from a GET answer."""
    out = Decoded()
    by_oid = dict(varbinds)
    for obj in profile.scalars:
        if obj.spread_over:
            continue
        value = by_oid.get(obj.oid)
        try:
            if value is None and obj.oid not in by_oid:
                raise ValueError("missing from the answer")
            raw = _raw(value)
            out.add(obj, _labels(obj.labels), raw, _scaled(obj, raw), obj.oid)
        except ValueError as exc:
            out.problems.append(f"{obj.metric} ({obj.oid}): {exc}")
    return out


def decode_tables(
    profile: Profile, scalars: dict[str, ber.Value], rows: Iterable[tuple[str, ber.Value]]
) -> Decoded:
    """Readings of a profile's tables from walked varbinds, plus scalars spread over them."""
    out = Decoded()
    found = list(rows)
    indexes: dict[str, list[str]] = {}
    for table in profile.tables:
        seen: list[str] = []
        for column in table.columns:
            prefix = column.oid + "."
            cells = [
                (table_index(name[len(prefix) :]), value)
                for name, value in found
                if name.startswith(prefix)
            ]
            if column.names is not None:
                named = _named(column, cells)
                out.readings.extend(named)
                out.implied += sum(1 for r in named if not r.value)
                continue
            for index, value in cells:
                if index not in seen:
                    seen.append(index)
                try:
                    labels = _labels(column.labels, **{table.index_label: index})
                    raw = _raw(value)
                    out.add(column, labels, raw, _scaled(column, raw), f"{column.oid}.{index}")
                except ValueError as exc:
                    out.problems.append(f"{column.metric} ({column.oid}.{index}): {exc}")
        indexes[table.name] = seen
    for obj in profile.scalars:
        if not obj.spread_over or obj.oid not in scalars:
            continue
        table = next(t for t in profile.tables if t.name == obj.spread_over)
        try:
            raw = _raw(scalars[obj.oid])
            spread = _scaled(obj, raw)
        except ValueError as exc:
            out.problems.append(f"{obj.metric} ({obj.oid}): {exc}")
            continue
        for index in indexes.get(table.name, []):
            labels = _labels(obj.labels, **{table.index_label: index})
            out.add(obj, labels, raw, spread, obj.oid)
    return out


def table_index(index: str) -> str:
    """A row index as the device means it: agents that pad it with a trailing .0 are read as not."""
    return index[:-2] if len(index) > 2 and index.endswith(".0") else index


def _named(column: SnmpObject, cells: list[tuple[str, ber.Value]]) -> list[Reading]:
    assert column.names is not None and column.name_label is not None
    present = set()
    for _, value in cells:
        name = column.names.get(value, "unknown") if isinstance(value, str) else "unknown"
        present.add(name)
    names = sorted(set(column.names.values()) | present)
    return [
        Reading(
            column.metric,
            _labels(column.labels, **{column.name_label: name}),
            float(name in present),
        )
        for name in names
    ]


# --- Modbus ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Block:
    """One read request: a run of registers of one table."""

    table: str
    start: int
    count: int

    @property
    def function(self) -> int:
        """The Modbus function code that reads this table."""
        return READ_FUNCTION[self.table]


def expanded(profile: Profile) -> list[tuple[ModbusRegister, int, dict[str, str]]]:
    """Every register entry with its address and labels, repeats unrolled."""
    out = []
    for reg in profile.registers:
        if reg.repeat is None:
            out.append((reg, reg.address, dict(reg.labels)))
            continue
        for k in range(reg.repeat.count):
            labels = {**reg.labels, reg.repeat.label: str(reg.repeat.first + k)}
            out.append((reg, reg.address + k * reg.repeat.stride, labels))
    return out


def plan_blocks(profile: Profile) -> list[Block]:
    """The fewest read requests that cover every register of the profile."""
    blocks: list[Block] = []
    for table in ("holding", "input"):
        spans = sorted(
            (address, address + reg.width)
            for reg, address, _ in expanded(profile)
            if reg.table == table
        )
        start = end = -1
        for lo, hi in spans:
            if start >= 0 and lo - end <= MAX_GAP and hi - start <= MAX_BLOCK:
                end = max(end, hi)
                continue
            if start >= 0:
                blocks.append(Block(table, start, end - start))
            start, end = lo, hi
        if start >= 0:
            blocks.append(Block(table, start, end - start))
    return blocks


def decode_registers(profile: Profile, blocks: dict[Block, list[int]]) -> Decoded:
    """Readings of a Modbus profile from the registers read block by block."""
    out = Decoded()
    for reg, address, labels in expanded(profile):
        words = _words(blocks, reg.table, address, reg.width)
        if words is None:
            out.problems.append(f"{reg.metric}: {reg.table} register {address} was not read")
            continue
        number = words_to_value(words, reg.type, reg.word_order, reg.byte_order)
        if reg.bits is not None:
            assert reg.bit_label is not None
            for bit, name in sorted(reg.bits.items()):
                on = float((int(number) >> bit) & 1)
                out.readings.append(
                    Reading(reg.metric, _labels(labels, **{reg.bit_label: name}), on)
                )
            continue
        out.add(reg, _labels(labels), number, number * reg.scale, f"register {address}")
    return out


def _words(
    blocks: dict[Block, list[int]], table: str, address: int, width: int
) -> list[int] | None:
    for block, values in blocks.items():
        if (
            block.table == table
            and block.start <= address
            and address + width <= block.start + len(values)
        ):
            offset = address - block.start
            return values[offset : offset + width]
    return None
