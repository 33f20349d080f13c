"""The floor plan in inventory/rooms.yml: the example room's places load, and each kind of bad
place is refused with its file, line and field and what is allowed."""

from __future__ import annotations

from pathlib import Path

from dcops.core.loader import load_site
from dcops.core.site import PLAN_ITEMS
from tests.unit.core.site_edits import refusals, replace_once


def _line_of(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").splitlines()
    return next(n for n, line in enumerate(lines, start=1) if needle in line)


def _rooms(site_dir: Path) -> Path:
    return site_dir / "inventory" / "rooms.yml"


def test_the_example_room_places_every_kind(site_dir: Path) -> None:
    room = load_site(site_dir).rooms[0]
    assert room.size() == (11, 11) and room.row_origin(0) == (1, 1)
    assert {e.device for e in room.equipment} == {"crac-1", "crac-2", "ups-1", "ups-2"}
    assert [(d.device, d.door) for d in room.doors] == [("door-1", "1"), ("door-1", "2")]
    assert len(room.fire_zones) == 4 and len(room.leak_ropes) == 2


def test_a_row_past_the_wall_names_its_line_and_the_room_size(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, "      - name: A\n        x: 1\n", "      - name: A\n        x: 5\n")
    found = {p.field: p for p in refusals(site_dir)}
    problem = found["rooms[0].rows[0].x"]
    assert problem.source == "inventory/rooms.yml"
    assert "device crac-1" in found["rooms[0].equipment[0].x"].message  # it stands there too
    assert problem.line == _line_of(rooms, "x: 5")
    assert "row A takes x 5..12, y 1..1, outside room r301" in problem.message
    assert "allowed: x 0..10, y 0..10" in problem.message


def test_equipment_on_a_row_and_overlapping_fire_zones_are_refused(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, "{device: crac-1, x: 9, y: 1,", "{device: crac-1, x: 4, y: 4,")
    replace_once(rooms, 'zone: "2", x: 6, y: 0,', 'zone: "2", x: 5, y: 0,')
    found = {p.field: p for p in refusals(site_dir)}
    crac = found["rooms[0].equipment[0].x"]
    assert "device crac-1 (x 4..5, y 4..5) and row B (x 1..8, y 4..4" in crac.message
    assert crac.line == _line_of(rooms, "device: crac-1")
    zone = found["rooms[0].fire_zones[1].x"].message
    assert "fire zone fire-1/2" in zone and "a tile belongs to one fire zone" in zone


def test_doors_must_be_in_a_wall_and_not_blocked(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, 'door: "1", x: 0, y: 5}', 'door: "1", x: 3, y: 5}')
    replace_once(rooms, 'door: "2", x: 7, y: 10}', 'door: "2", x: 2, y: 10}')
    found = {p.field: p.message for p in refusals(site_dir)}
    assert (
        (found["rooms[0].doors[0].x"])
        == "door door-1/1 at x 3, y 5 is not in a wall; allowed: x 0 or 10, or y 0 or 10"
    )
    assert "is blocked by device ups-1" in found["rooms[0].doors[1].x"]


def test_a_leak_rope_runs_straight_and_inside(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, "path: [{x: 8, y: 0}, {x: 10, y: 0}", "path: [{x: 8, y: 0}, {x: 9, y: 2}")
    replace_once(rooms, "{x: 10, y: 8}]", "{x: 11, y: 8}]")
    found = {p.field: p.message for p in refusals(site_dir)}
    assert (
        "at a slant; allowed: each stretch along x or along y"
        in found["rooms[0].leak_ropes[0].path[1]"]
    )
    assert "runs to x 11, y 8, outside room r301" in found["rooms[0].leak_ropes[1].path[2]"]


def test_placed_devices_must_exist_in_the_room_and_be_of_the_right_kind(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, "{device: ups-2,", "{device: ups-9,")
    replace_once(rooms, '{device: door-1, door: "1"', '{device: fire-1, door: "1"')
    replace_once(rooms, "{device: crac-2,", "{device: pdu-a01,")
    found = {p.field: p.message for p in refusals(site_dir)}
    assert found["rooms[0].equipment[3].device"] == (
        "device 'ups-9' is not in inventory/devices.yml; allowed: crac-1, crac-2, ups-1, ups-2"
    )
    assert found["rooms[0].doors[0].device"] == (
        "device 'fire-1' is a fire-panel, not a door-controller; allowed: door-1"
    )
    assert "is in rack A01, drawn there" in found["rooms[0].equipment[1].device"]


def test_places_need_a_room_size_and_the_lists_are_bounded(site_dir: Path) -> None:
    rooms = _rooms(site_dir)
    replace_once(rooms, "    width: 11\n    depth: 11\n", "")
    [problem] = refusals(site_dir)
    assert problem.field == "rooms[0].rows[0].x" and "has no size" in problem.message
    replace_once(rooms, "    floor: 3\n", "    floor: 3\n    width: 11\n    depth: 11\n")
    door = '      - {device: door-1, door: "1", x: 0, y: 5}\n'
    replace_once(rooms, door, door * (PLAN_ITEMS + 1))
    [problem] = refusals(site_dir)
    assert problem.field == "rooms[0].doors" and f"at most {PLAN_ITEMS} items" in problem.message


def test_site_check_exits_2_on_a_bad_plan(site_dir: Path) -> None:
    import subprocess

    from tests.conftest import DCOPS

    replace_once(_rooms(site_dir), "{device: crac-1, x: 9, y: 1,", "{device: crac-1, x: 12, y: 1,")
    done = subprocess.run([str(DCOPS), "site", "check"], cwd=site_dir, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)  # fmt: skip
    assert done.returncode == 2
    assert "inventory/rooms.yml:" in done.stderr and "rooms[0].equipment[0].x" in done.stderr
    assert "device crac-1 takes x 12..13, y 1..2, outside room r301" in done.stderr
