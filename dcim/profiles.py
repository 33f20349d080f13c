"""Device profiles: which OIDs or registers a device kind has and how to decode them (YAML data)."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError, field_validator, model_validator

from dcops.core.documents import Document, read_yaml
from dcops.core.errors import InvalidInput, Problem
from dcops.core.strict import Strict
from dcops.dcim.catalogue import METRICS, READING_METRICS

_OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
_LABEL = re.compile(r"^[a-z][a-z0-9_]*$")
DeviceKind = Literal[
    "ups", "crac", "pdu", "ats", "env-sensor", "leak-sensor", "door-controller", "fire-panel"
]


def _metric(value: str) -> str:
    if value not in READING_METRICS:
        raise ValueError(
            f"unknown metric {value!r}; allowed: the reading metrics of docs/metrics.md "
            f"(for example {READING_METRICS[0]})"
        )
    return value


def _oid(value: str) -> str:
    value = value.lstrip(".")
    if not _OID.match(value):
        raise ValueError(
            f"{value!r} is not an OID; allowed: dotted numbers such as 1.3.6.1.2.1.33.1.2.1.0"
        )
    return value


def _range(value: tuple[float, float]) -> tuple[float, float]:
    low, high = value
    if not low <= high:
        raise ValueError(f"valid [{low}, {high}] is empty; allowed: [min, max] with min <= max")
    return value


ValidRange = Annotated[tuple[float, float], AfterValidator(_range)]


class SnmpObject(Strict):
    """One OID (a scalar instance, or a table column) and how it becomes a reading."""

    metric: str
    oid: str
    scale: float = 1.0
    labels: dict[str, str] = Field(default_factory=dict)
    map: dict[int, float] | None = None
    names: dict[str, str] | None = Field(
        default=None, description="OID value → name put in label `name_label` (alarm tables)"
    )
    name_label: str | None = None
    spread_over: str | None = Field(
        default=None, description="a scalar repeated for every index of this table"
    )
    valid: ValidRange | None = Field(
        default=None, description="[min, max] of the reading in base units; default the metric's"
    )
    missing: list[float] = Field(
        default_factory=list, description="raw values the device sends for 'no sensor'"
    )

    _check_metric = field_validator("metric")(_metric)
    _check_oid = field_validator("oid")(_oid)

    @field_validator("scale")
    @classmethod
    def _nonzero(cls, value: float) -> float:
        if value == 0:
            raise ValueError("scale must not be 0; allowed: any other number, such as 0.1")
        return value

    @field_validator("names")
    @classmethod
    def _oid_keys(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        return {_oid(k): v for k, v in value.items()} if value else value

    @model_validator(mode="after")
    def _names_need_label(self) -> SnmpObject:
        if (self.names is None) != (self.name_label is None):
            raise ValueError("names and name_label go together; give both or neither")
        return self


class SnmpTable(Strict):
    """A conceptual table walked with GETBULK; its index becomes the label `index_label`."""

    name: str
    index_label: str
    columns: list[SnmpObject] = Field(min_length=1)

    @field_validator("index_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not _LABEL.match(value):
            raise ValueError(f"{value!r} is not a label name; allowed: lowercase a-z, 0-9, _")
        return value


class Repeat(Strict):
    """The same register layout repeated for several doors, zones or phases."""

    label: str
    count: int = Field(ge=1, le=64)
    stride: int = Field(ge=1)
    first: int = 1


RegisterType = Literal["int16", "uint16", "int32", "uint32", "float32"]


class ModbusRegister(Strict):
    """One value at a register address and how it becomes one or more readings."""

    metric: str
    address: int = Field(ge=0, le=65535)
    table: Literal["holding", "input"] = "holding"
    type: RegisterType = "uint16"
    word_order: Literal["big", "little"] = "big"
    byte_order: Literal["big", "little"] = "big"
    scale: float = 1.0
    labels: dict[str, str] = Field(default_factory=dict)
    bits: dict[int, str] | None = Field(default=None, description="bit number → label value")
    bit_label: str | None = None
    repeat: Repeat | None = None
    valid: ValidRange | None = Field(
        default=None, description="[min, max] of the reading in base units; default the metric's"
    )
    missing: list[float] = Field(
        default_factory=list, description="raw register values the device sends for 'no sensor'"
    )

    _check_metric = field_validator("metric")(_metric)

    @field_validator("bits")
    @classmethod
    def _bit_numbers(cls, value: dict[int, str] | None) -> dict[int, str] | None:
        for bit in value or {}:
            if not 0 <= bit <= 15:
                raise ValueError(f"bit {bit} is outside a register; allowed: 0..15")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> ModbusRegister:
        if (self.bits is None) != (self.bit_label is None):
            raise ValueError("bits and bit_label go together; give both or neither")
        if self.bits is not None and self.type != "uint16":
            raise ValueError(f"bits need type uint16 (got {self.type})")
        if self.scale == 0:
            raise ValueError("scale must not be 0; allowed: any other number, such as 0.1")
        return self

    @property
    def width(self) -> int:
        """How many registers the value spans."""
        return 1 if self.type.endswith("16") else 2


class Profile(Strict):
    """A device profile: protocol, device kind and the values to read."""

    name: str
    title: str
    kind: DeviceKind
    protocol: Literal["snmp", "modbus"]
    description: str = ""
    scalars: list[SnmpObject] = Field(default_factory=list)
    tables: list[SnmpTable] = Field(default_factory=list)
    registers: list[ModbusRegister] = Field(default_factory=list)

    @model_validator(mode="after")
    def _matches_protocol(self) -> Profile:
        if self.protocol == "snmp" and self.registers:
            raise ValueError("an snmp profile has scalars and tables, not registers")
        if self.protocol == "modbus" and (self.scalars or self.tables):
            raise ValueError("a modbus profile has registers, not scalars or tables")
        if not (self.scalars or self.tables or self.registers):
            raise ValueError("the profile reads nothing; give scalars, tables or registers")
        tables = {t.name for t in self.tables}
        for scalar in self.scalars:
            if scalar.spread_over and scalar.spread_over not in tables:
                raise ValueError(
                    f"spread_over {scalar.spread_over!r} names no table; allowed: {', '.join(sorted(tables))}"
                )
        return self


def _bundled() -> dict[str, Path]:
    folder = resources.files("dcops.dcim") / "profiles"
    return {
        Path(str(entry)).stem: Path(str(entry))
        for entry in folder.iterdir()
        if str(entry).endswith(".yml")
    }


def profile_names() -> list[str]:
    """Names of the profiles shipped with dcops."""
    return sorted(_bundled())


def load_profile_file(path: Path, source: str | None = None) -> Profile:
    """Load and validate one profile file; InvalidInput with file:line problems if it is bad."""
    from dcops.core.loader import problems_from_validation

    shown = source or str(path)
    doc = read_yaml(path, shown)
    problems = list(doc.problems)
    if not problems and not isinstance(doc.data, dict):
        problems.append(Problem(shown, "", "expected a mapping at the top of the file", 1))
    if problems:
        raise InvalidInput(f"profile {shown} is not valid", problems)
    try:
        profile = Profile.model_validate(doc.data)
    except ValidationError as exc:
        raise InvalidInput(
            f"profile {shown} is not valid", problems_from_validation(exc, doc, Profile)
        ) from None
    problems = _overlaps(profile, doc)
    if profile.name != path.stem:
        problems.append(
            doc.problem(
                ("name",),
                f"name {profile.name!r} differs from the file name; allowed: {path.stem!r}",
            )
        )
    if problems:
        raise InvalidInput(f"profile {shown} is not valid", problems)
    return profile


def _overlaps(profile: Profile, doc: Document) -> list[Problem]:
    taken: dict[tuple[str, int], int] = {}
    problems = []
    for i, reg in enumerate(profile.registers):
        for address in register_addresses(reg):
            key = (reg.table, address)
            if key in taken and taken[key] != i:
                problems.append(
                    doc.problem(
                        ("registers", i, "address"),
                        f"{reg.table} register {address} is also read by registers[{taken[key]}]; each register once",
                    )
                )
                break
            taken[key] = i
    return problems


def register_addresses(reg: ModbusRegister) -> list[int]:
    """Every register address this entry reads, over its repeats."""
    copies = reg.repeat.count if reg.repeat else 1
    stride = reg.repeat.stride if reg.repeat else 0
    return [reg.address + k * stride + w for k in range(copies) for w in range(reg.width)]


@cache
def bundled_profile(name: str) -> Profile:
    """A profile shipped with dcops, by name; InvalidInput naming the choices if unknown."""
    files = _bundled()
    if name not in files:
        raise InvalidInput(
            f"unknown profile {name!r}",
            [Problem("--profile", "", f"allowed: {', '.join(sorted(files))}")],
        )
    return load_profile_file(files[name], f"profiles/{name}.yml")


def metric_unit(metric: str) -> str:
    """The unit of a metric as the catalogue gives it."""
    return METRICS[metric].unit
