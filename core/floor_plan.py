"""The checks of a room's floor plan: everything inside the walls, nothing standing on anything
else, doors in a wall, fire zones apart, leak ropes in straight stretches, and each placed
device of the right kind in the same room."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from dcops.core.documents import Document
from dcops.core.errors import Problem
from dcops.core.site import PLACED_KINDS, Room

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Area:
    """A rectangle of tiles on the plan and what stands there."""

    what: str
    loc: Loc
    x: int
    y: int
    width: int
    depth: int

    def overlaps(self, other: Area) -> bool:
        """Whether the two share a tile."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.depth
            and other.y < self.y + self.depth
        )

    def holds(self, x: int, y: int) -> bool:
        """Whether the tile x, y is part of this area."""
        return self.x <= x < self.x + self.width and self.y <= y < self.y + self.depth

    def span(self) -> str:
        """The tiles as people read them."""
        return f"x {self.x}..{self.x + self.width - 1}, y {self.y}..{self.y + self.depth - 1}"


def check_floor_plans(rooms: list[Room], doc: Document | None) -> list[Problem]:
    """Every room's plan: sizes, places inside the walls, overlaps, doors on a wall."""
    if doc is None:
        return []
    problems: list[Problem] = []
    for i, room in enumerate(rooms):
        problems += _room_plan(room, ("rooms", i), doc)
    return problems


def _room_plan(room: Room, at: Loc, doc: Document) -> list[Problem]:
    placed = room.equipment or room.doors or room.fire_zones or room.leak_ropes
    rows_placed = [j for j, row in enumerate(room.rows) if row.x is not None or row.y is not None]
    if room.width is None or room.depth is None:
        if room.width is not None or room.depth is not None:
            field = "depth" if room.depth is None else "width"
            return [doc.problem((*at, field), "give both width and depth (tiles) or neither")]
        if placed or rows_placed:
            loc = (*at, "rows", rows_placed[0], "x") if rows_placed else (*at, "width")
            message = (
                f"room {room.name} has no size, so nothing can be placed in it; allowed: give "
                "the room width and depth in floor tiles, or leave out every x, y and placement"
            )
            return [doc.problem(loc, message)]
        return []
    standing = _rows(room, at, doc)
    problems = [p for p in standing if isinstance(p, Problem)]
    areas = [a for a in standing if isinstance(a, Area)]
    for k, item in enumerate(room.equipment):
        areas.append(Area(f"device {item.device}", (*at, "equipment", k, "x"),
                          item.x, item.y, item.width, item.depth))  # fmt: skip
    problems += _inside(room, areas, doc)
    problems += _apart(areas, doc, "stand on the same tiles")
    problems += _doors(room, at, areas, doc)
    zones = [
        Area(f"fire zone {z.device}/{z.zone}", (*at, "fire_zones", k, "x"),
             z.x, z.y, z.width, z.depth)
        for k, z in enumerate(room.fire_zones)
    ]  # fmt: skip
    problems += _inside(room, zones, doc)
    problems += _apart(zones, doc, "cover the same tiles; a tile belongs to one fire zone")
    problems += _ropes(room, at, doc)
    problems += _unique(doc, [((*at, "equipment", k, "device"), e.device)
                              for k, e in enumerate(room.equipment)], "placed device")  # fmt: skip
    problems += _unique(doc, [((*at, "doors", k, "door"), f"{d.device}/{d.door}")
                              for k, d in enumerate(room.doors)], "door")  # fmt: skip
    problems += _unique(doc, [((*at, "fire_zones", k, "zone"), f"{z.device}/{z.zone}")
                              for k, z in enumerate(room.fire_zones)], "fire zone")  # fmt: skip
    problems += _unique(doc, [((*at, "leak_ropes", k, "zone"), f"{r.device}/{r.zone}")
                              for k, r in enumerate(room.leak_ropes)], "leak rope")  # fmt: skip
    return problems


def _rows(room: Room, at: Loc, doc: Document) -> list[Problem | Area]:
    found: list[Problem | Area] = []
    for j, row in enumerate(room.rows):
        if row.x is None or row.y is None:
            message = (
                f"row {row.name} has no place on the plan of room {room.name}; allowed: x and y "
                "of its first rack (tiles from the north-west corner)"
            )
            found.append(doc.problem((*at, "rows", j, "x" if row.x is None else "y"), message))
            continue
        found.append(Area(f"row {row.name}", (*at, "rows", j, "x"), row.x, row.y,
                          max(1, len(row.racks)), 1))  # fmt: skip
    return found


def _inside(room: Room, areas: Sequence[Area], doc: Document) -> list[Problem]:
    assert room.width is not None and room.depth is not None
    problems = []
    for area in areas:
        if area.x + area.width > room.width or area.y + area.depth > room.depth:
            message = (
                f"{area.what} takes {area.span()}, outside room {room.name}; allowed: "
                f"x 0..{room.width - 1}, y 0..{room.depth - 1} (the room is {room.width} by "
                f"{room.depth} tiles)"
            )
            problems.append(doc.problem(area.loc, message))
    return problems


def _apart(areas: Sequence[Area], doc: Document, why: str) -> list[Problem]:
    problems = []
    for n, area in enumerate(areas):
        for other in areas[:n]:
            if area.overlaps(other):
                line = doc.line_of(other.loc)
                message = (
                    f"{area.what} ({area.span()}) and {other.what} ({other.span()}, line "
                    f"{line}) {why}; allowed: places that do not overlap"
                )
                problems.append(doc.problem(area.loc, message))
                break
    return problems


def _doors(room: Room, at: Loc, standing: Sequence[Area], doc: Document) -> list[Problem]:
    assert room.width is not None and room.depth is not None
    problems = []
    for k, door in enumerate(room.doors):
        loc, name = (*at, "doors", k, "x"), f"door {door.device}/{door.door}"
        x, y = door.x, door.y
        if x >= room.width or y >= room.depth:
            problems.append(doc.problem(loc, f"{name} at x {x}, y {y} is outside room "
                                        f"{room.name}; allowed: x 0..{room.width - 1}, "
                                        f"y 0..{room.depth - 1}"))  # fmt: skip
        elif x not in (0, room.width - 1) and y not in (0, room.depth - 1):
            problems.append(doc.problem(loc, f"{name} at x {x}, y {y} is not in a wall; "
                                        f"allowed: x 0 or {room.width - 1}, or y 0 or "
                                        f"{room.depth - 1}"))  # fmt: skip
        else:
            blocking = next((a for a in standing if a.holds(x, y)), None)
            if blocking is not None:
                problems.append(doc.problem(loc, f"{name} at x {x}, y {y} is blocked by "
                                            f"{blocking.what} ({blocking.span()}); allowed: a "
                                            "wall tile nothing stands on"))  # fmt: skip
    return problems


def _ropes(room: Room, at: Loc, doc: Document) -> list[Problem]:
    assert room.width is not None and room.depth is not None
    problems = []
    for k, rope in enumerate(room.leak_ropes):
        name = f"leak rope {rope.device}/{rope.zone}"
        for n, point in enumerate(rope.path):
            loc = (*at, "leak_ropes", k, "path", n)
            if point.x >= room.width or point.y >= room.depth:
                problems.append(doc.problem(loc, f"{name} runs to x {point.x}, y {point.y}, "
                                            f"outside room {room.name}; allowed: x 0.."
                                            f"{room.width - 1}, y 0..{room.depth - 1}"))  # fmt: skip
                break
            before = rope.path[n - 1] if n else None
            if before is not None and before.x != point.x and before.y != point.y:
                problems.append(doc.problem(loc, f"{name} runs from x {before.x}, y {before.y} "
                                            f"to x {point.x}, y {point.y} at a slant; allowed: "
                                            "each stretch along x or along y (add a corner)"))  # fmt: skip
                break
    return problems


def _unique(doc: Document, items: list[tuple[Loc, str]], what: str) -> list[Problem]:
    seen: dict[str, Loc] = {}
    problems = []
    for loc, key in items:
        if key in seen:
            message = (
                f"{what} {key!r} is placed twice (first on line {doc.line_of(seen[key])}); "
                "allowed: one place each"
            )
            problems.append(doc.problem(loc, message))
        else:
            seen[key] = loc
    return problems


KINDS = {
    "equipment": PLACED_KINDS,
    "doors": ("door-controller",),
    "fire_zones": ("fire-panel",),
    "leak_ropes": ("leak-sensor",),
}


def check_placed_devices(
    rooms: list[Room], devices: Sequence[Any], doc: Document | None
) -> list[Problem]:
    """Each device a plan places is in devices.yml, in the same room and of the right kind."""
    if doc is None:
        return []
    by_name = {d.name: d for d in devices}
    problems = []
    for i, room in enumerate(rooms):
        for part, kinds in KINDS.items():
            for k, item in enumerate(getattr(room, part)):
                device = by_name.get(item.device)
                loc = ("rooms", i, part, k, "device")
                wanted = [d.name for d in devices if d.room == room.name and d.kind in kinds
                          and not (part == "equipment" and d.rack)]  # fmt: skip
                kind_names = " or ".join(kinds)
                allowed = ", ".join(sorted(wanted)[:20]) or f"(no {kind_names} in {room.name})"
                if device is None or device.room != room.name or device.kind not in kinds:
                    if device is None:
                        why = "is not in inventory/devices.yml"
                    elif device.room != room.name:
                        why = f"is in room {device.room}, not {room.name}"
                    else:
                        why = f"is a {device.kind}, not a {kind_names}"
                    message = f"device {item.device!r} {why}; allowed: {allowed}"
                    problems.append(doc.problem(loc, message))
                elif part == "equipment" and device.rack:
                    problems.append(doc.problem(loc, f"device {item.device!r} is in rack "
                                                f"{device.rack}, drawn there; allowed: devices "
                                                "that stand on the floor"))  # fmt: skip
    return problems
