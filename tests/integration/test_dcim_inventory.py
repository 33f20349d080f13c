"""`dcops site check` validates how devices are reached: exit 2 with file:line and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import RunDcops

pytestmark = pytest.mark.integration


def test_example_devices_all_have_a_way_to_be_polled(dcops: RunDcops) -> None:
    assert dcops("site", "check").returncode == 0
    done = dcops("dcim", "profiles", "--output", "json")
    assert {p["name"] for p in __import__("json").loads(done.stdout)} >= {"ups-mib", "fire-panel"}


def test_bad_connections_are_listed_with_lines(dcops: RunDcops, site_dir: Path) -> None:
    devices = site_dir / "inventory" / "devices.yml"
    text = devices.read_text(encoding="utf-8")
    text = text.replace(
        "profile: ups-mib, community: {env: DCOPS_SNMP_COMMUNITY}}",
        "profile: ups-mb, community: public}",
        1,
    )
    text = text.replace("gateway: gw-r301, unit: 2,", "gateway: gw-r999, unit: 2,")
    text = text.replace("gateway: gw-r301, unit: 3,", "gateway: gw-r301, unit: 1,")
    text = text.replace(
        "address: 10.30.3.8, unit: 1, profile: env-sensor",
        "address: 10.30.3.8, unit: 1, profile: fire-panel",
    )
    devices.write_text(text, encoding="utf-8")
    done = dcops("site", "check")
    assert done.returncode == 2
    err = done.stderr
    assert (
        "inventory/devices.yml:8: devices[0].community: secrets are never written in inventory or dcops.toml; "
        "allowed: {env: VARIABLE} or {file: path in the state dir}"
    ) in err
    devices.write_text(text.replace("community: public}", "community: {env: X}}"), encoding="utf-8")
    done = dcops("site", "check")
    assert done.returncode == 2
    err = done.stderr
    assert (
        "inventory/devices.yml:8: devices[0].profile: unknown profile 'ups-mb'; allowed: access-controller, apc-rack-pdu, env-sensor"
        in err
    )
    assert "devices[3].gateway: unknown gateway 'gw-r999'; allowed: gw-r301" in err
    assert (
        "devices[12].unit: unit 1 on gateway gw-r301 is already crac-1; units on one bus must differ"
        in err
    )
    assert (
        "devices[9].profile: profile fire-panel is for kind fire-panel, device is env-sensor" in err
    )


def test_literal_secret_and_missing_v3_fields(dcops: RunDcops, site_dir: Path) -> None:
    devices = site_dir / "inventory" / "devices.yml"
    text = (
        devices.read_text(encoding="utf-8")
        .replace("    user: dcops\n", "")
        .replace("{file: secrets/ups-2.priv}", "{file: /etc/shadow}")
    )
    devices.write_text(text, encoding="utf-8")
    done = dcops("site", "check")
    assert done.returncode == 2
    assert (
        "devices[1].priv_secret: file '/etc/shadow' must be a relative path inside the state dir"
        in done.stderr
    )
