"""Load a site from dcops.toml and inventory/, reporting every problem at once."""

from __future__ import annotations

import ipaddress
import types
import typing
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from dcops.core.documents import Document, read_toml, read_yaml
from dcops.core.duties import check_duties
from dcops.core.errors import InputError, InvalidInput, Problem
from dcops.core.floor_plan import check_floor_plans, check_placed_devices
from dcops.core.hosts import HostInventory, load_hosts
from dcops.core.monitoring import check_monitors
from dcops.core.paths import SITE_FILE, SitePaths, find_site_file, system_folder
from dcops.core.site import (
    DevicesFile,
    Room,
    RoomsFile,
    Site,
    SiteConfig,
)

M = TypeVar("M", bound=BaseModel)

ROOMS_FILE = "inventory/rooms.yml"
DEVICES_FILE = "inventory/devices.yml"


def load_site(explicit: str | Path | None = None, start: Path | None = None) -> Site:
    """Find and load the site; raise InvalidInput listing every problem found."""
    site_file = find_site_file(explicit, start)
    if site_file is None:
        raise InputError(
            f"no {SITE_FILE} found in {Path.cwd()} or any parent; "
            "give one with --site PATH or DCOPS_SITE"
        )
    if not site_file.is_file():
        raise InputError(f"site file {site_file} does not exist; give an existing dcops.toml")
    root = site_file.parent
    problems: list[Problem] = []
    config = _parse(read_toml(site_file, SITE_FILE), SiteConfig, problems, root)
    rooms_ok = not (root / ROOMS_FILE).exists()
    rooms = _parse_optional(root / ROOMS_FILE, ROOMS_FILE, RoomsFile, problems, root)
    devices = _parse_optional(root / DEVICES_FILE, DEVICES_FILE, DevicesFile, problems, root)
    room_list = rooms.model.rooms if rooms else []
    device_list = devices.model.devices if devices else []
    # Cross-checks run wherever their inputs parsed, so one bad file hides nothing else.
    if config:
        problems.extend(check_config(config.model, config.doc))
    if rooms:
        problems.extend(check_rooms(room_list, rooms.doc))
        problems.extend(check_floor_plans(room_list, rooms.doc))
    if rooms and devices:
        problems.extend(check_placed_devices(room_list, device_list, rooms.doc))
    if devices and (rooms or rooms_ok):
        problems.extend(check_devices(device_list, room_list, devices.doc))
    if devices:
        problems.extend(_check_dcim(device_list, devices.model.gateways, devices.doc))
    if config and (rooms or rooms_ok):
        problems.extend(
            check_monitors(
                config.model.monitors,
                [r.name for r in room_list],
                config.doc,
                config.model.people,
            )
        )
    hosts = HostInventory()
    if config:
        racks = {rack.name for room in room_list for _, rack in room.racks()} if rooms else None
        hosts, host_problems = load_hosts(root / "inventory", config.model.pools, racks)
        problems.extend(host_problems)
    if config:
        problems.extend(_check_state_dir(root, config.model.site.state_dir, config.doc))
    if problems or config is None:
        raise InvalidInput(f"site {_shown(site_file)} is not valid", _ordered(problems))
    state = (root / config.model.site.state_dir).resolve()
    return Site(
        config=config.model,
        rooms=room_list,
        devices=device_list,
        gateways=devices.model.gateways if devices else [],
        hosts=hosts,
        paths=SitePaths(root=root, state=state),
    )


class _Parsed(typing.Generic[M]):
    def __init__(self, model: M, doc: Document) -> None:
        self.model = model
        self.doc = doc


def _parse(doc: Document, model: type[M], problems: list[Problem], root: Path) -> _Parsed[M] | None:
    problems.extend(doc.problems)
    if doc.problems:
        return None
    if not isinstance(doc.data, dict):
        problems.append(Problem(doc.source, "", "expected a mapping at the top of the file", 1))
        return None
    try:
        return _Parsed(model.model_validate(doc.data), doc)
    except ValidationError as exc:
        problems.extend(problems_from_validation(exc, doc, model))
        return None


def _parse_optional(
    path: Path, source: str, model: type[M], problems: list[Problem], root: Path
) -> _Parsed[M] | None:
    if not path.exists():
        return None
    return _parse(read_yaml(path, source), model, problems, root)


def problems_from_validation(
    exc: ValidationError, doc: Document, model: type[BaseModel]
) -> list[Problem]:
    """Turn pydantic errors into problems that name the file, line, field and what is allowed."""
    problems = []
    for error in exc.errors():
        loc = tuple(error["loc"])
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = ", ".join(sorted(fields_at(model, loc[:-1])))
            message = f"unknown field {loc[-1]!r}; allowed: {allowed}"
        elif kind == "missing":
            message = "required field is missing"
        else:
            message = error["msg"].removeprefix("Value error, ")
            if kind not in {"value_error"} and not isinstance(error.get("input"), dict | list):
                message += f" (got {error.get('input')!r})"
        problems.append(doc.problem(loc, message))
    return problems


def fields_at(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The field names of the model found by following loc through lists, dicts and models."""
    current: Any = model
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            info = current.model_fields.get(str(part))
            if info is None:
                return []
            current = info.annotation
        else:
            args = typing.get_args(current)
            current = args[-1] if args else Any
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(models[0]) if len(models) == 1 else annotation
    return annotation


def _duplicates(
    doc: Document, items: Iterable[tuple[Sequence[str | int], str]], what: str
) -> list[Problem]:
    seen: dict[str, Sequence[str | int]] = {}
    problems = []
    for loc, key in items:
        if key in seen:
            first = doc.line_of(seen[key])
            problems.append(
                doc.problem(
                    loc, f"duplicate {what} {key!r} (first on line {first}); {what}s must be unique"
                )
            )
        else:
            seen[key] = loc
    return problems


def _check_state_dir(root: Path, state_dir: str, doc: Document) -> list[Problem]:
    """The state dir may not be a system folder (/etc, /usr, ...) or a shared parent (/var)."""
    state = (root / state_dir).resolve()
    folder = system_folder(state)
    if folder is None:
        return []
    message = (
        f"{state_dir!r} is {state}, inside the system folder {folder}; allowed: a folder of its "
        "own, such as .dcops beside dcops.toml or /var/lib/dcops"
    )
    return [doc.problem(("site", "state_dir"), message)]


def check_config(config: SiteConfig, doc: Document) -> list[Problem]:
    """Cross-field checks of dcops.toml: unique names, known references, disjoint pools."""
    problems: list[Problem] = []
    problems += _duplicates(
        doc, ((("pools", i, "name"), p.name) for i, p in enumerate(config.pools)), "pool name"
    )
    problems += _duplicates(
        doc,
        ((("departments", i, "code"), d.code) for i, d in enumerate(config.departments)),
        "department code",
    )
    problems += _duplicates(
        doc, ((("people", i, "user"), p.user) for i, p in enumerate(config.people)), "user"
    )
    problems += _duplicates(
        doc,
        (
            (("catalogue", "flavors", i, "name"), f.name)
            for i, f in enumerate(config.catalogue.flavors)
        ),
        "flavor",
    )
    problems += _duplicates(
        doc,
        (
            (("catalogue", "images", i, "name"), m.name)
            for i, m in enumerate(config.catalogue.images)
        ),
        "image",
    )
    tiers = ", ".join(sorted(config.tiers))
    for i, dept in enumerate(config.departments):
        if dept.tier not in config.tiers:
            problems.append(
                doc.problem(
                    ("departments", i, "tier"), f"unknown tier {dept.tier!r}; allowed: {tiers}"
                )
            )
    codes = {d.code for d in config.departments}
    for i, person in enumerate(config.people):
        for j, role in enumerate(person.roles):
            code = role.partition(":")[2]
            if role.startswith("department:") and code not in codes:
                problems.append(
                    doc.problem(
                        ("people", i, "roles", j),
                        f"role {role!r} names unknown department {code!r}; allowed: {', '.join(sorted(codes))}",
                    )
                )
    problems += _overlapping_pools(config, doc)
    problems += check_duties(config, doc)
    problems += _check_server(config, doc)
    problems += _check_department_caps(config, doc)
    problems += _check_notification_channels(config, doc)
    return problems


def _check_notification_channels(config: SiteConfig, doc: Document) -> list[Problem]:
    """Tenancy events go only to channels [[monitors.channels]] defines, each once."""
    known = [c.name for c in config.monitors.channels]
    problems = []
    for i, name in enumerate(config.notifications.channels):
        if name not in known:
            allowed = ", ".join(known) or "(no [[monitors.channels]] defined)"
            message = f"unknown channel {name!r}; allowed: {allowed}"
            problems.append(doc.problem(("notifications", "channels", i), message))
        elif name in config.notifications.channels[:i]:
            problems.append(
                doc.problem(("notifications", "channels", i), f"{name!r} is listed twice")
            )
        elif len(name) > 16:
            message = f"channel name {name!r} is longer than 16 characters, which the outbox keeps; rename the channel"
            problems.append(doc.problem(("notifications", "channels", i), message))
        elif name in ("smtp", "webhook"):
            message = (
                f"channel name {name!r} is taken by [notifications.{name}]; rename the channel"
            )
            problems.append(doc.problem(("notifications", "channels", i), message))
    return problems


def _check_department_caps(config: SiteConfig, doc: Document) -> list[Problem]:
    """A department-wide cap below the same tier's per-request cap would silently replace it."""
    problems = []
    for name, tier in config.tiers.items():
        for field, cap in tier.department_caps.model_dump(exclude_none=True).items():
            per_request = getattr(tier, field)
            if cap < per_request:
                message = (
                    f"部门总量上限低于单个申请上限 / department-wide cap {cap} is below the "
                    f"per-request cap {per_request} of tier {name!r}; allowed: at least {per_request}"
                )
                problems.append(doc.problem(("tiers", name, "department_caps", field), message))
    return problems


def _check_server(config: SiteConfig, doc: Document) -> list[Problem]:
    server = config.server
    if server.http and not ipaddress.ip_address(server.listen_host).is_loopback:
        message = (
            f"明文 HTTP 只允许监听本机回环地址 / plain HTTP on {server.listen_host} would send "
            "passwords and tokens in the clear; allowed: http = true only with a loopback "
            "listen_host such as 127.0.0.1"
        )
        return [doc.problem(("server", "http"), message)]
    if (server.cert is None) != (server.key is None):
        message = (
            "证书与私钥须同时给出 / cert and key go together; allowed: both paths, or neither "
            "for a generated loopback certificate"
        )
        return [doc.problem(("server", "cert"), message)]
    return []


def _overlapping_pools(config: SiteConfig, doc: Document) -> list[Problem]:
    problems = []
    for i, pool in enumerate(config.pools):
        for j, other in enumerate(config.pools[:i]):
            a, b = pool.network, other.network
            if a.version == b.version and a.overlaps(b):
                problems.append(
                    doc.problem(
                        ("pools", i, "cidr"),
                        f"{pool.cidr} overlaps pool {other.name!r} ({other.cidr}, pools[{j}]); pools must be disjoint",
                    )
                )
    return problems


def check_rooms(rooms: list[Room], doc: Document | None) -> list[Problem]:
    """Room names unique; rack names unique within a room."""
    if doc is None:
        return []
    problems = _duplicates(
        doc, ((("rooms", i, "name"), r.name) for i, r in enumerate(rooms)), "room"
    )
    for i, room in enumerate(rooms):
        racks = [
            (("rooms", i, "rows", j, "racks", k, "name"), rack.name)
            for j, row in enumerate(room.rows)
            for k, rack in enumerate(row.racks)
        ]
        problems += _duplicates(doc, racks, f"rack in room {room.name}")
        problems += _duplicates(
            doc,
            ((("rooms", i, "rows", j, "name"), row.name) for j, row in enumerate(room.rows)),
            f"row in room {room.name}",
        )
    return problems


def check_devices(devices: Sequence[Any], rooms: list[Room], doc: Document | None) -> list[Problem]:
    """Device names unique; each device's room and rack exist; positions fit the rack."""
    if doc is None:
        return []
    problems = _duplicates(
        doc, ((("devices", i, "name"), d.name) for i, d in enumerate(devices)), "device"
    )
    by_name = {room.name: room for room in rooms}
    for i, device in enumerate(devices):
        room = by_name.get(device.room)
        if room is None:
            allowed = ", ".join(sorted(by_name)) or "(no rooms in inventory/rooms.yml)"
            problems.append(
                doc.problem(
                    ("devices", i, "room"), f"unknown room {device.room!r}; allowed: {allowed}"
                )
            )
            continue
        if device.rack is None:
            continue
        racks = {rack.name: rack for _, rack in room.racks()}
        rack = racks.get(device.rack)
        if rack is None:
            problems.append(
                doc.problem(
                    ("devices", i, "rack"),
                    f"unknown rack {device.rack!r} in room {room.name}; allowed: {', '.join(sorted(racks))}",
                )
            )
        elif device.position is not None and device.position > rack.units:
            problems.append(
                doc.problem(
                    ("devices", i, "position"),
                    f"U{device.position} is above the top of rack {rack.name} ({rack.units}U); allowed: 1..{rack.units}",
                )
            )
    return problems


def _check_dcim(
    devices: Sequence[Any], gateways: Sequence[Any], doc: Document | None
) -> list[Problem]:
    """How devices are reached (protocol, address, profile, credentials), by the installed areas.

    Core imports no area: an area that checks devices registers its check as an entry point of
    the group `dcops.device_checks`, called with (devices, gateways, doc).
    """
    if doc is None:
        return []
    problems: list[Problem] = []
    for entry in entry_points(group="dcops.device_checks"):
        problems.extend(entry.load()(devices, gateways, doc))
    return problems


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _ordered(problems: list[Problem]) -> list[Problem]:
    return sorted(problems, key=lambda p: (p.source, p.line or 0, p.field))
