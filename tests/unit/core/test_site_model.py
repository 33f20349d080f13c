"""The site model: each bad value of dcops.toml is refused saying what is allowed, and look-ups."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site
from dcops.core.site import NAME_RULE, ROLES, ROOM_LIMITS, Thresholds, device_limits


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
