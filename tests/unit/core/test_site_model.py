"""The site model: each bad value of dcops.toml is refused saying what is allowed, and look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site
from dcops.core.site import (
    NAME_RULE,
    ROLES,
    ROOM_LIMITS,
    OpenStackCloud,
    Rack,
    Room,
    Row,
    Thresholds,
    device_limits,
)


def _refusals(site_dir: Path, old: str, new: str) -> list[str]:
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8")
    assert old in text, old
    toml.write_text(text.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        load_site(site_dir)
    return [p.message for p in refused.value.problems]


@pytest.mark.parametrize(
    ("old", "new", "told"),
    [
        ('name = "gdc"', 'name = "g dc"', f"'g dc' is not a valid name; allowed: {NAME_RULE}"),
        (
            'cidr = "10.20.0.0/16"',
            'cidr = "10.20.0.1/16"',  # host bits set: an address, not a network
            "'10.20.0.1/16' is not a network address (10.20.0.1/16 has host bits set); allowed: "
            "a CIDR such as 192.168.10.0/24",
        ),
        (
            'timezone = "Asia/Shanghai"',
            'timezone = "Mars/Olympus"',
            "unknown time zone 'Mars/Olympus'; allowed: an IANA name such as Asia/Shanghai",
        ),
        (
            'email = "zhangwei@dsj.example.gov.cn"',
            'email = "zhangwei-at-dsj"',
            "'zhangwei-at-dsj' is not an e-mail address; allowed: name@domain",
        ),
        (
            'roles = ["ops"]',
            'roles = ["opz"]',
            "unknown role 'opz'; allowed: " + ", ".join(ROLES) + ", department:<code>",
        ),
    ],
)
def test_a_bad_value_is_refused_naming_it_and_what_is_allowed(
    site_dir: Path, old: str, new: str, told: str
) -> None:
    assert told in _refusals(site_dir, old, new)


def test_the_role_list_told_is_every_role_there_is(site_dir: Path) -> None:
    [message] = _refusals(site_dir, 'roles = ["ops"]', 'roles = ["root"]')
    assert message.endswith(
        "allowed: ops, approver, facility, auditor, security, backup, department:<code>"
    )


def test_departments_and_their_tiers_are_found_by_code(site_dir: Path) -> None:
    site = load_site(site_dir)
    gaj = site.department("gaj")
    assert gaj is not None and gaj.code == "gaj" and gaj.name == "市公安局"
    assert (
        site.department("fgw") is not None and site.department("fgw").name == "市发展和改革委员会"
    )  # type: ignore[union-attr]
    assert site.department("nope") is None
    assert site.tier_of("gaj") == site.config.tiers["critical"]
    assert site.tier_of("fgw") == site.config.tiers["standard"]
    assert site.tier_of("nope") is None


def test_a_device_overrides_only_the_room_limits_it_sets(site_dir: Path) -> None:
    device = load_site(site_dir).devices[0]
    assert device_limits(device.model_copy(update={"thresholds": Thresholds()})) == ROOM_LIMITS
    warmer = device.model_copy(update={"thresholds": Thresholds(temperature_high_celsius=30.0)})
    limits = device_limits(warmer)
    assert limits.temperature_high_celsius == 30.0
    assert limits.temperature_low_celsius == ROOM_LIMITS.temperature_low_celsius == 18.0
    assert limits.humidity_high_ratio == 0.6


KEYSTONE_RULE = (
    "is not a Keystone role or domain name; allowed: letters, digits, '_', '.', '-', "
    "starting with a letter or digit, at most 64 characters"
)


def test_keystone_roles_and_domains_are_names_keystone_could_hold() -> None:
    cloud = OpenStackCloud(
        clouds_yaml="clouds.yaml",
        cloud="lab",
        department_roles=["member", "load-balancer_member.v2"],
        people_domain="Default",
    )
    assert cloud.department_roles == ["member", "load-balancer_member.v2"]
    assert cloud.people_domain == "Default"
    assert OpenStackCloud(clouds_yaml="c", cloud="c", people_domain="d" * 64).people_domain
    for bad in ("-lead", "d" * 65, "two words", "部门"):
        with pytest.raises(ValidationError) as refused:
            OpenStackCloud(clouds_yaml="c", cloud="c", people_domain=bad)
        assert f"{bad!r} {KEYSTONE_RULE}" in str(refused.value)


def _racks(row: str, count: int) -> list[Rack]:
    return [Rack(name=f"{row}{n:02d}", power_kw=8) for n in range(1, count + 1)]


def _room(rows: list[Row], width: int | None = None, depth: int | None = None) -> Room:
    return Room(name="r1", title="机房 Room", width=width, depth=depth, rows=rows)


def test_a_room_without_a_size_is_drawn_just_big_enough_for_its_rows() -> None:
    rows = [Row(name="A", racks=_racks("A", 3)), Row(name="B", racks=_racks("B", 5))]
    room = _room(rows)
    assert room.size() == (5, 3)  # the widest row; the rows on every other line
    assert [room.row_origin(j) for j in range(2)] == [(0, 0), (0, 2)]
    assert _room([]).size() == (1, 1)
    assert _room([Row(name="A", racks=[])]).size() == (1, 1)
    assert _room(rows, width=30, depth=20).size() == (30, 20)
    assert _room(rows, width=30).size() == (5, 3)  # half a size is no size


def test_a_row_is_where_it_is_placed_only_when_placed_on_both_axes() -> None:
    room = _room([Row(name="A", x=4, y=6, racks=_racks("A", 2)), Row(name="B", x=4, racks=[])])
    assert room.row_origin(0) == (4, 6)
    assert room.row_origin(1) == (0, 2)
