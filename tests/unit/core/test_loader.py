"""The site loader: the example site loads, and every kind of breakage is reported precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.loader import load_site
from tests.unit.core.site_edits import refusals, replace_once


def _line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not found")


def test_example_site_loads_with_its_rooms_devices_and_people(site_dir: Path) -> None:
    site = load_site(site_dir)
    assert site.name == "gdc"
    assert [room.name for room in site.rooms] == ["r301"]
    assert {d.kind for d in site.devices} >= {"ups", "crac", "pdu", "env-sensor", "fire-panel"}
    assert site.tier_of("fgw") is not None and site.tier_of("fgw").vcpus >= 8  # type: ignore[union-attr]
    assert site.paths.state == (site_dir / ".dcops").resolve()


def test_site_is_found_by_walking_up_from_a_subfolder(site_dir: Path) -> None:
    site = load_site(None, start=site_dir / "inventory")
    assert site.paths.root == site_dir.resolve()


def test_bad_toml_syntax_names_the_line(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, 'timezone = "Asia/Shanghai"', 'timezone = "Asia/Shanghai')
    [problem] = refusals(site_dir)
    assert problem.source == "dcops.toml"
    assert problem.line == _line_of(site_file, "timezone =")
    assert "invalid TOML" in problem.message


def test_bad_yaml_syntax_names_the_file_and_line(site_dir: Path) -> None:
    devices = site_dir / "inventory" / "devices.yml"
    replace_once(devices, "{name: ups-2, kind: ups,", "{name: ups-2, kind: [ups,")
    [problem] = refusals(site_dir)
    assert problem.source == "inventory/devices.yml"
    assert problem.line == _line_of(devices, "ups-2")
    assert "invalid YAML" in problem.message


def test_unknown_field_lists_the_allowed_ones(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, 'tier = "basic"', 'tier = "basic"\ntierr = "gold"')
    [problem] = refusals(site_dir)
    assert problem.field == "departments[4].tierr"
    assert problem.line == _line_of(site_file, "tierr")
    assert "unknown field 'tierr'" in problem.message
    assert "allowed: code, name, tier" in problem.message


def test_wrong_type_names_field_line_and_value(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, "vcpus = 64\n", 'vcpus = "many"\n')
    [problem] = refusals(site_dir)
    assert problem.field == "tiers.standard.vcpus"
    assert problem.line == _line_of(site_file, 'vcpus = "many"')
    assert "'many'" in problem.message and "integer" in problem.message


def test_duplicate_names_point_at_the_second_one(site_dir: Path) -> None:
    devices = site_dir / "inventory" / "devices.yml"
    replace_once(devices, "{name: ups-2,", "{name: ups-1,")
    # (the floor plan's ups-2 is then unknown too: inventory/rooms.yml says so on its own)
    [problem] = [p for p in refusals(site_dir) if p.source == "inventory/devices.yml"]
    assert problem.field == "devices[1].name"
    assert problem.line == _line_of(devices, "ups-1", occurrence=2)
    assert "duplicate device 'ups-1'" in problem.message


def test_duplicate_yaml_keys_are_not_silently_merged(site_dir: Path) -> None:
    rooms = site_dir / "inventory" / "rooms.yml"
    replace_once(rooms, "    floor: 3\n", "    floor: 3\n    floor: 4\n")
    [problem] = refusals(site_dir)
    assert problem.source == "inventory/rooms.yml"
    assert problem.line == _line_of(rooms, "floor: 4")
    assert "duplicate key 'floor'" in problem.message


def test_dangling_references_name_what_exists(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    devices = site_dir / "inventory" / "devices.yml"
    replace_once(site_file, 'tier = "critical"', 'tier = "platinum"')
    replace_once(site_file, 'roles = ["department:wjw"]', 'roles = ["department:xyz"]')
    replace_once(devices, "rack: B01,", "rack: Z99,")
    problems = refusals(site_dir)
    messages = {p.field: p.message for p in problems}
    assert (
        "unknown tier 'platinum'; allowed: basic, critical, standard"
        in messages["departments[1].tier"]
    )
    assert "unknown department 'xyz'" in messages["people[6].roles[0]"]
    assert "unknown rack 'Z99' in room r301" in messages["devices[6].rack"]
    assert {p.line for p in problems if p.field == "devices[6].rack"} == {_line_of(devices, "Z99")}


def test_bad_cidr_and_overlapping_pools(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, 'cidr = "10.21.0.0/16"', 'cidr = "10.21.0.1/16"')
    replace_once(site_file, 'cidr = "10.30.0.0/20"', 'cidr = "10.20.128.0/20"')
    problems = refusals(site_dir)
    by_field = {p.field: p for p in problems}
    assert "is not a network address" in by_field["pools[1].cidr"].message
    assert by_field["pools[1].cidr"].line == _line_of(site_file, "10.21.0.1/16")
    # The bad CIDR stops cross-checks, so fix it and look for the overlap next.
    replace_once(site_file, 'cidr = "10.21.0.1/16"', 'cidr = "10.21.0.0/16"')
    [overlap] = refusals(site_dir)
    assert overlap.field == "pools[4].cidr"
    assert "overlaps pool 'tenant-production'" in overlap.message


def test_every_problem_is_reported_at_once(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, 'timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"')
    replace_once(site_file, 'email = "chenjing@dsj.example.gov.cn"', 'email = "chenjing"')
    replace_once(site_dir / "inventory" / "devices.yml", "kind: crac,", "kind: chiller,")
    problems = refusals(site_dir)
    fields = {(p.source, p.field) for p in problems}
    assert ("dcops.toml", "site.timezone") in fields
    assert ("dcops.toml", "people[2].email") in fields
    assert ("inventory/devices.yml", "devices[2].kind") in fields
    kind = next(p for p in problems if p.field == "devices[2].kind")
    assert "'ups'" in kind.message and "'fire-panel'" in kind.message


def test_a_broken_file_does_not_hide_cross_check_problems_elsewhere(site_dir: Path) -> None:
    replace_once(site_dir / "dcops.toml", "vcpus = 64\n", 'vcpus = "many"\n')
    replace_once(site_dir / "inventory" / "devices.yml", "rack: B01,", "rack: Z99,")
    fields = {p.field for p in refusals(site_dir)}
    assert fields == {"tiers.standard.vcpus", "devices[6].rack"}


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ('name = "tenant-staging"', 'name = "tenant-production"', "pools[1].name", "pool name"),
        ('code = "gaj"', 'code = "fgw"', "departments[1].code", "department code"),
        ('user = "liuyang"', 'user = "zhangwei"', "people[1].user", "user"),
    ],
)
def test_duplicates_in_the_site_file_point_at_the_first(
    site_dir: Path, old: str, new: str, field: str, words: str
) -> None:
    site_file = site_dir / "dcops.toml"
    first = _line_of(site_file, new)
    replace_once(site_file, old, new)
    problems = [p for p in refusals(site_dir) if p.field == field]
    assert problems, field
    key = new.split(" = ")[1].strip('"')
    assert f"duplicate {words} '{key}' (first on line {first}); {words}s must be unique" in (
        problems[0].message
    )
    assert problems[0].line == _line_of(site_file, new, occurrence=2)


def test_duplicate_flavors_and_images_are_refused(site_dir: Path) -> None:
    site_file = site_dir / "dcops.toml"
    replace_once(site_file, 'name = "uos-server-20"', 'name = "kylin-v10-sp3"')
    text = site_file.read_text(encoding="utf-8")
    second_flavor = text.split("[[catalogue.flavors]]")[2].split("\n")[1]
    replace_once(site_file, second_flavor, 'name = "c2.m4"')
    messages = {p.field: p.message for p in refusals(site_dir)}
    assert "duplicate image 'kylin-v10-sp3'" in messages["catalogue.images[1].name"]
    assert "duplicate flavor 'c2.m4'" in messages["catalogue.flavors[1].name"]


def test_duplicate_rooms_rows_and_racks_are_refused(site_dir: Path) -> None:
    rooms = site_dir / "inventory" / "rooms.yml"
    replace_once(rooms, "{name: A02,", "{name: A01,")
    replace_once(rooms, "      - name: B\n", "      - name: A\n")
    messages = {p.field: p.message for p in refusals(site_dir)}
    assert "duplicate rack in room r301 'A01'" in messages["rooms[0].rows[0].racks[1].name"]
    assert "duplicate row in room r301 'A'" in messages["rooms[0].rows[1].name"]


def test_a_second_room_of_the_same_name_is_refused(site_dir: Path) -> None:
    rooms = site_dir / "inventory" / "rooms.yml"
    text = rooms.read_text(encoding="utf-8")
    room = text[text.index("  - name: r301") :]
    rooms.write_text(text + room, encoding="utf-8")
    messages = {p.field: p.message for p in refusals(site_dir)}
    assert "duplicate room 'r301'" in messages["rooms[1].name"]


def test_devices_in_unknown_rooms_or_above_the_rack_top_are_refused(site_dir: Path) -> None:
    devices = site_dir / "inventory" / "devices.yml"
    replace_once(
        devices, "room: r301, rack: A02, position: 1,", "room: r999, rack: A02, position: 1,"
    )
    replace_once(devices, "rack: A08, position: 42,", "rack: A08, position: 43,")
    messages = {p.field: p.message for p in refusals(site_dir)}
    assert messages["devices[5].room"] == "unknown room 'r999'; allowed: r301"
    assert messages["devices[9].position"].startswith(
        "U43 is above the top of rack A08 (42U); allowed: 1..42"
    )
    assert set(messages) == {"devices[5].room", "devices[9].position"}
