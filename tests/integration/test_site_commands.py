"""`dcops site`, `doctor`, `whoami` and `--version` through the installed console script."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from dcops.core.identity import os_login
from tests.conftest import REPO, RunDcops


def test_installed_package_is_the_one_under_test() -> None:
    import dcops.core

    installed = Path(dcops.core.__file__).resolve()
    assert installed.parent != REPO / "core", (
        "tests import the source tree, not the installed package"
    )
    assert "site-packages" in installed.parts
    assert Path(sys.executable).parent.joinpath("dcops").exists()


def test_site_check_summarises_the_example_site(dcops: RunDcops) -> None:
    done = dcops("site", "check")
    assert done.returncode == 0, done.stderr
    assert "Site gdc" in done.stdout
    assert "site check: ok" in done.stdout
    counts = json.loads(dcops("site", "check", "--output", "json").stdout)["counts"]
    assert counts["rooms"] == 1 and counts["racks"] == 23 and counts["departments"] == 5


def test_broken_site_exits_2_lists_every_problem_and_writes_nothing(
    dcops: RunDcops, site_dir: Path
) -> None:
    site_file = site_dir / "dcops.toml"
    site_file.write_text(
        site_file.read_text()
        .replace("ram_gb = 64\n", "ram_gb = -1\n", 1)
        .replace('cidr = "10.10.0.0/16"', 'cidr = "10.10.0.0/33"')
    )
    before = sorted(p.relative_to(site_dir) for p in site_dir.rglob("*"))
    done = dcops("site", "check")
    assert done.returncode == 2
    header, *lines = done.stderr.splitlines()
    assert header.endswith("is not valid: 2 problems")
    assert lines[0].strip().startswith("dcops.toml:")
    assert "pools[2].cidr: '10.10.0.0/33' is not a network address" in lines[0]
    assert "tiers.basic.ram_gb: Input should be greater than 0 (got -1)" in lines[1]
    assert sorted(p.relative_to(site_dir) for p in site_dir.rglob("*")) == before
    payload = json.loads(dcops("site", "check", "-o", "json").stderr)
    assert payload["exit_code"] == 2
    assert {p["field"] for p in payload["problems"]} == {"pools[2].cidr", "tiers.basic.ram_gb"}


def test_site_show_draws_rooms_racks_devices_and_people(dcops: RunDcops) -> None:
    out = dcops("site", "show").stdout
    assert "rack A01 (42U, 8 kW)" in out
    assert "U1 pdu-a01 [pdu] APC rack PDU" in out
    assert "fgw — 市发展和改革委员会 (tier standard)" in out
    assert "tenant-production 10.20.0.0/16 (tenant, production)" in out
    data = json.loads(dcops("site", "show", "-o", "json").stdout)
    assert data["config"]["site"]["name"] == "gdc"


def test_no_site_found_is_bad_input(dcops: RunDcops, tmp_path: Path) -> None:
    done = dcops("site", "check", cwd=tmp_path)
    assert done.returncode == 2
    assert "no dcops.toml found" in done.stderr


def test_doctor_lists_found_and_missing_with_the_fix(dcops: RunDcops) -> None:
    rows = json.loads(dcops("doctor", "-o", "json").stdout)
    assert {
        "capability": "site",
        "name": "pydantic",
        "kind": "python",
        "found": True,
        "fix": None,
        "note": "",
    } in rows
    missing = [row for row in rows if not row["found"]]
    assert all(row["fix"] for row in missing)


def test_whoami_and_version(dcops: RunDcops) -> None:
    shown = dcops("whoami", user="chenjing").stdout.splitlines()
    assert shown[0] == "chenjing (陈静) — roles: approver"
    assert dcops("--version").stdout.startswith("dcops 0.")


def test_an_allowed_dcops_user_is_audited_with_the_os_login(dcops: RunDcops) -> None:
    done = dcops(
        "audit", "record", "--action", "manual.power-cycle", "--object", "device/ups-a",
        "--message", "vendor visit", user="zhaomin",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    log = dcops("audit", "log", "--output", "json", user="sunli")
    assert log.returncode == 0, log.stderr
    (event, *_) = [e for e in json.loads(log.stdout) if e["action"] == "manual.power-cycle"]
    assert event["user"] == "zhaomin"
    assert event["login"] == os_login() and event["method"] == "override"


def test_dcops_user_is_refused_where_the_site_does_not_allow_it(
    dcops: RunDcops, site_dir: Path
) -> None:
    toml = site_dir / "dcops.toml"
    toml.write_text(
        toml.read_text(encoding="utf-8").replace(
            "allow_user_override = true", "allow_user_override = false"
        ),
        encoding="utf-8",
    )
    denied = dcops("tenancy", "approve", "1", user="chenjing")
    assert denied.returncode == 2
    assert "DCOPS_USER='chenjing' is not honoured" in denied.stderr
    assert "set DCOPS_USER" not in denied.stderr
    alone = dcops("whoami", "--output", "json", env={"DCOPS_USER": ""})
    assert alone.returncode == 0, alone.stderr
    assert json.loads(alone.stdout)["user"] == os_login()
