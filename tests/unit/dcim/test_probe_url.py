"""The SNMP v2c community of a probe can come from a file, the environment or the inventory."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.dcim.inventory import community_of
from dcops.dcim.probe_url import COMMUNITY_ENV, target_from_url


def test_a_community_file_keeps_the_community_out_of_the_url(tmp_path: Path) -> None:
    secret = tmp_path / "community"
    secret.write_text("s3cret-community\n")
    url = f"snmp://127.0.0.1:1161?community_file={secret}"
    target = target_from_url(url, "ups-mib", 1.0, 0)
    assert target.community == "s3cret-community" and "s3cret" not in url


def test_the_community_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(COMMUNITY_ENV, "from-env")
    assert target_from_url("snmp://127.0.0.1:1161", "ups-mib", 1.0, 0).community == "from-env"


def test_the_community_of_an_inventory_device(
    site_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = load_site(site_dir)
    monkeypatch.setenv("DCOPS_SNMP_COMMUNITY", "room-community")
    target = target_from_url(
        "snmp://127.0.0.1:1161?secret=ups-1",
        "ups-mib",
        1.0,
        0,
        secret=lambda name: community_of(site, site.devices, name),
    )
    assert target.community == "room-community"
    with pytest.raises(InputError, match="no SNMP v2c device of that name"):
        community_of(site, site.devices, "crac-1")


def test_a_probe_over_http_cannot_name_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot be named in a probe over HTTP"):
        target_from_url(
            f"snmp://127.0.0.1:1161?community_file={tmp_path}/x", "ups-mib", 1.0, 0, files=False
        )
    with pytest.raises(InputError, match="cannot be named in a probe over HTTP"):
        target_from_url(
            "snmpv3://u@127.0.0.1:1161?auth_file=/etc/shadow", "ups-mib", 1.0, 0, files=False
        )


def test_no_community_anywhere_says_where_to_put_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(COMMUNITY_ENV, raising=False)
    with pytest.raises(InputError, match="community_file=PATH, secret=DEVICE"):
        target_from_url("snmp://127.0.0.1:1161", "ups-mib", 1.0, 0)
