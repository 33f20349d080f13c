"""`dcops tenancy` and `dcops ipam` through the installed console script on the SQLite store."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import RunDcops

SAMPLE = "inventory/requests/fgw-production.yml"


def _edit(site_dir: Path, old: str, new: str) -> None:
    path = site_dir / SAMPLE
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _stored(dcops: RunDcops) -> list[object]:
    done = dcops("tenancy", "list", "-o", "json")
    assert done.returncode == 0, done.stderr
    rows: list[object] = json.loads(done.stdout)
    return rows


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        ("{name: web, flavor", "{name: WEB, flavor", "compute[0].name"),
        ("department: {code: fgw", "department: {code: nope", "department.code"),
        ("flavor: c2.m4", "flavor: m1.huge", "compute[0].flavor"),
        ("image: kylin-v10-sp3, count: 2", "image: win2019, count: 2", "compute[0].image"),
        ("pods: 100", "pods: 1000", "kubernetes.quota.pods"),
        ("expires: 2027-12-31", "expires: 2020-01-01", "expires"),
        ("expires: 2027-12-31", "expires: 2031-01-01", "expires"),
        ("[192.168.10.0/24]", "[10.30.1.0/24]", "vpn[0].peer_cidrs[0]"),
        ("from: web,", "from: frontend,", "ingress[1].from"),
        ("{to: web, port: 443", "{to: api, port: 443", "ingress[0].to"),
        ("size: 24", "size: 33", "networks[0].size"),
    ],
)
def test_bad_request_exits_2_names_the_field_and_stores_nothing(
    dcops: RunDcops, site_dir: Path, old: str, new: str, where: str
) -> None:
    _edit(site_dir, old, new)
    done = dcops("tenancy", "request", SAMPLE, user="wanglei")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"{SAMPLE}:" in done.stderr and f" {where}: " in done.stderr
    assert "allowed" in done.stderr or "Input should be" in done.stderr
    assert _stored(dcops) == []


def test_dry_run_validates_and_stores_nothing(dcops: RunDcops) -> None:
    done = dcops("tenancy", "request", SAMPLE, "--dry-run", user="wanglei")
    assert done.returncode == 0, done.stderr
    assert "request fgw-production is valid" in done.stdout and "nothing stored" in done.stdout
    assert _stored(dcops) == []


def test_submit_approve_show_status_and_ipam(dcops: RunDcops) -> None:
    assert dcops("tenancy", "request", SAMPLE, user="wanglei").returncode == 0
    own = dcops("tenancy", "approve", "1", user="wanglei")
    assert own.returncode == 2 and "needs the approver role" in own.stderr
    done = dcops("tenancy", "approve", "fgw-production", user="chenjing")
    assert done.returncode == 0, done.stderr
    assert "allocated 10.20.0.0/24 for network app" in done.stdout
    status = dcops("tenancy", "status", user="wanglei")
    assert "#1 fgw-production [fgw]: approved — approved; waiting for ops" in status.stdout
    other = dcops("tenancy", "show", "1", user="lina")
    assert other.returncode == 2 and "another department" in other.stderr
    shown = json.loads(dcops("tenancy", "show", "1", "-o", "json").stdout)
    assert [h["to"] for h in shown["history"]] == ["submitted", "approved"]
    assert shown["history"][1]["actor"] == "chenjing"
    assert "servers web: 2 × c2.m4 (kylin-v10-sp3), 100 GB volume each" in shown["plan"]
    ipam = json.loads(dcops("ipam", "show", "-o", "json").stdout)
    assert ipam["allocations"] == [
        {
            "department": "fgw",
            "tenancy": "fgw-production",
            "network": "app",
            "cidr": "10.20.0.0/24",
            "pool": "tenant-production",
        }
    ]
    production = next(p for p in ipam["pools"] if p["pool"] == "tenant-production")
    assert (production["allocated"], production["free"]) == (256, 65536 - 256)


def test_reject_offboard_and_expire_from_the_command_line(dcops: RunDcops) -> None:
    dcops("tenancy", "request", SAMPLE, user="wanglei")
    missing = dcops("tenancy", "reject", "1", user="chenjing")
    assert missing.returncode == 2
    rejected = dcops("tenancy", "reject", "1", "--reason", "规格过大 too large", user="chenjing")
    assert rejected.returncode == 0 and "submitted → rejected" in rejected.stdout
    dcops("tenancy", "request", SAMPLE, user="wanglei")
    dcops("tenancy", "approve", "2", user="chenjing")
    asks = dcops("tenancy", "offboard", "2")
    assert asks.returncode == 2 and "--yes" in asks.stderr
    gone = dcops("tenancy", "offboard", "2", "--yes")
    assert gone.returncode == 0 and "released 10.20.0.0/24" in gone.stdout
    assert dcops("tenancy", "expire", "--today", "2027-12-20").stdout.strip() == "nothing to do"
    assert json.loads(dcops("ipam", "show", "-o", "json").stdout)["allocations"] == []
    states = [r["state"] for r in _stored(dcops)]  # type: ignore[index]
    assert states == ["offboarded", "rejected"]


def test_interactive_request_prompts_with_site_choices(dcops: RunDcops, site_dir: Path) -> None:
    answers = [
        "",  # department: default is the user's own (fgw)
        "staging",
        "绩效考核系统 (performance appraisal)",
        "",  # classification default level-2
        "2027-02-30",  # no such day: asked again
        "2027-06-30",
        "",  # contact name: default from dcops.toml
        "",  # contact e-mail: default from dcops.toml
        "",  # phone: none
        "WEB",  # not a valid name: asked again
        "app",
        "c9.m99",  # not offered: asked again
        "c4.m8",
        "uos-server-20",
        "2",
        "50",
        "",  # no more compute
        "",  # network name default app
        "26",
        "",  # no more networks
        "app",
        "8443",
        "10.10.0.0/16",
        "ops access",
        "",  # tcp
        "",  # no more ingress
        "",  # no load balancer
        "hq",
        "203.0.113.30",
        "192.168.30.0/24, 192.168.31.0/24",
        "fgw-staging-psk",
        "",  # no more VPN peers
        "",  # no namespace
    ]
    done = dcops(
        "tenancy", "request", "--interactive", user="wanglei", input="\n".join(answers) + "\n"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Department code (部门代码) (fgw, gaj, wjw, rsj, zwfw) [fgw]" in done.stdout
    assert "flavor (c2.m4, c4.m8, c4.m16, c8.m32, c16.m64) [c2.m4]" in done.stdout
    assert "is not one of" in done.stdout + done.stderr
    assert (
        "'2027-02-30' is not a date" in done.stderr and "'WEB' is not a valid name" in done.stderr
    )
    assert "request #1 fgw-staging: submitted" in done.stdout
    assert not (site_dir / "inventory" / "requests" / "fgw-staging.yml").exists()
    written = site_dir / "fgw-staging.yml"  # the current folder, not the checkout's inventory
    text = written.read_text(encoding="utf-8")
    assert "flavor: c4.m8" in text
    assert "peer_cidrs: [192.168.30.0/24, 192.168.31.0/24]" in text
    check = dcops("tenancy", "request", str(written), "--dry-run", user="wanglei")
    assert check.returncode == 0, check.stderr


def test_schema_is_json_schema_of_the_request(dcops: RunDcops) -> None:
    schema = json.loads(dcops("tenancy", "schema").stdout)
    assert schema["title"] == "dcops tenancy request"
    assert "from" in schema["$defs"]["Ingress"]["properties"]


def test_interrupted_interactive_request_keeps_a_draft(dcops: RunDcops, site_dir: Path) -> None:
    answers = ["", "staging", "绩效考核系统", "", "2027-06-30", "", "", "", "app"]
    done = dcops(
        "tenancy", "request", "--interactive", user="wanglei", input="\n".join(answers) + "\n"
    )  # stdin ends in the middle: as if the person pressed Ctrl-D
    assert done.returncode == 130, done.stdout + done.stderr
    draft = site_dir / "fgw-staging.draft.yml"
    assert f"answers kept as a draft: {draft}" in done.stderr
    text = draft.read_text(encoding="utf-8")
    assert "purpose: 绩效考核系统" in text and "expires: '2027-06-30'" in text
    assert _stored(dcops) == []


def test_department_wide_cap_refuses_at_submit_with_exit_2_and_stores_nothing(
    dcops: RunDcops, site_dir: Path
) -> None:
    text = (site_dir / SAMPLE).read_text(encoding="utf-8")
    body = text[: text.index("vpn:")].replace("expires: 2027-12-31", "expires: 2027-06-30")
    body = body.replace(
        "{code: fgw, name: 市发展和改革委员会}", "{code: zwfw, name: 市政务服务管理局}"
    )
    body = body.replace("volume_gb: 500}", "volume_gb: 800}")  # 1000 GB each; basic allows 2000
    for name, web in (("zwfw-a", 2), ("zwfw-b", 2), ("zwfw-c", 1)):
        path = site_dir / f"inventory/requests/{name}.yml"
        path.write_text(f"name: {name}\n" + body.replace("count: 2", f"count: {web}"), "utf-8")
        done = dcops("tenancy", "request", str(path), user="zhangwei")
        assert done.returncode == (2 if name == "zwfw-c" else 0), done.stdout + done.stderr
    assert "部门 zwfw 的云硬盘总量将超过 basic 级别的部门上限" in done.stderr
    assert "in use 2000 GB" in done.stderr and "this request 900 GB" in done.stderr
    assert "limit 2000 GB" in done.stderr
    assert sorted(row["name"] for row in _stored(dcops)) == ["zwfw-a", "zwfw-b"]  # type: ignore[index]
