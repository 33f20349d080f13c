"""`dcops audit` through the installed console script, as ops engineers and auditors use it."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dcops.audit.event import draft, new_correlation
from dcops.audit.journal import Journal
from dcops.core.loader import load_site
from tests.conftest import RunDcops

AUDITOR = "sunli"


def record(dcops: RunDcops, obj: str, message: str = "by hand") -> None:
    done = dcops("audit", "record", "--action", "manual.fix", "--object", obj, "--message", message)
    assert done.returncode == 0, done.stderr


def test_record_log_show_and_prove(dcops: RunDcops) -> None:
    record(dcops, "host/leaf1", "replaced an optic")
    record(dcops, "device/ups-a")
    log = json.loads(dcops("audit", "log", "--object", "host", "-o", "json").stdout)
    assert [(op["id"], op["object"], op["status"]) for op in log] == [(0, "host/leaf1", "success")]
    assert log[0]["parameters"] == {"message": "replaced an optic"}
    shown = json.loads(dcops("audit", "show", "1", "-o", "json").stdout)
    assert shown["event"]["phase"] == "result" and shown["proof"]["tree_size"] == 4
    bundle = json.loads(dcops("audit", "prove", "3", "-o", "json", user=AUDITOR).stdout)
    assert json.loads(bundle["event"])["id"] == 3 and bundle["checkpoint"]["size"] == 4
    missing = dcops("audit", "show", "99")
    assert missing.returncode == 2 and "no audit event 99" in missing.stderr, missing.stderr


def test_verify_exits_1_naming_the_first_bad_event(dcops: RunDcops, site_dir: Path) -> None:
    for n in range(3):
        record(dcops, f"host/leaf{n}")
    assert dcops("audit", "verify", user=AUDITOR).returncode == 0
    journal = site_dir / ".dcops" / "audit" / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].replace("host/leaf1", "host/leaf7").replace('"leaf1"', '"leaf7"')
    journal.write_text("".join(lines), encoding="utf-8")
    done = dcops("audit", "verify", user=AUDITOR)
    assert done.returncode == 1
    assert "first bad: event 2 (journal line 3)" in done.stderr
    report = json.loads(dcops("audit", "verify", "-o", "json").stdout)
    assert report["ok"] is False and report["first_bad_event"] == 2


def test_a_kept_checkpoint_catches_a_rewritten_history(dcops: RunDcops, site_dir: Path) -> None:
    record(dcops, "host/leaf1")
    kept = site_dir.parent / "kept-checkpoint.json"
    kept.write_text(dcops("audit", "checkpoint", user=AUDITOR).stdout, encoding="utf-8")
    record(dcops, "host/leaf2")
    assert dcops("audit", "verify", "--checkpoint", str(kept), user=AUDITOR).returncode == 0
    # Someone with the key rewrites everything: a new journal, re-signed from scratch.
    audit = site_dir / ".dcops" / "audit"
    for name in ("journal.jsonl", "checkpoints.jsonl"):
        (audit / name).unlink()
    record(dcops, "host/leaf9")
    assert dcops("audit", "verify").returncode == 0  # the state dir alone cannot tell
    done = dcops("audit", "verify", "--checkpoint", str(kept), user=AUDITOR)
    assert done.returncode == 1 and "kept-checkpoint.json" in done.stderr


def test_roles_decide_who_reads_reports_and_prunes(dcops: RunDcops) -> None:
    record(dcops, "host/leaf1")
    assert dcops("audit", "log", user="wanglei").returncode == 2
    refused = dcops("audit", "report", user="zhangwei")
    assert refused.returncode == 2 and "auditor role" in refused.stderr
    assert dcops("audit", "prune", "--yes", user="zhangwei").returncode == 2
    assert (
        dcops(
            "audit", "record", "--action", "x.y", "--object", "o", "--message", "m", user=AUDITOR
        ).returncode
        == 2
    )


def test_report_formats_hold_every_change_and_the_mapping(dcops: RunDcops, site_dir: Path) -> None:
    record(dcops, "host/leaf1")
    markdown = dcops("audit", "report", user=AUDITOR).stdout
    assert "完整性校验通过 Integrity verified" in markdown and "8.1.4.3 c)" in markdown
    assert "| 0 |" in markdown and "manual.fix" in markdown
    page = site_dir / "report.html"
    done = dcops("audit", "report", "--format", "html", "--out", str(page), user=AUDITOR)
    assert done.returncode == 0 and "<h2>全部变更 Every change</h2>" in page.read_text()
    rows = list(
        csv.DictReader(
            io.StringIO(dcops("audit", "report", "--format", "csv", user=AUDITOR).stdout)
        )
    )
    assert [(r["id"], r["object"], r["status"]) for r in rows] == [("0", "host/leaf1", "success")]
    bad = dcops("audit", "report", "--format", "pdf", user=AUDITOR)
    assert bad.returncode == 2 and "allowed: markdown, html, csv" in bad.stderr


def old_events(site_dir: Path, days: int, count: int) -> None:
    site = load_site(site_dir)
    journal = Journal.of(site)
    moment = datetime.now(UTC) - timedelta(days=days)
    for n in range(count):
        journal.append(
            draft(
                phase="record",
                action="manual.fix",
                target=f"host/old{n}",
                actor={"user": "zhangwei"},
                parameters={},
                correlation=new_correlation(),
                timezone="Asia/Shanghai",
                status="success",
                now=moment,
            )
        )


def test_prune_keeps_the_retention_period_and_a_verifiable_log(
    dcops: RunDcops, site_dir: Path
) -> None:
    old_events(site_dir, 400, 5)
    record(dcops, "host/leaf1")
    inside = dcops(
        "audit", "prune", "--before", datetime.now(UTC).date().isoformat(), "--yes", user=AUDITOR
    )
    assert inside.returncode == 2 and "inside the retention period" in inside.stderr
    done = dcops("audit", "prune", "--yes", "-o", "json", user=AUDITOR)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["events"] == 5
    archive = site_dir / ".dcops" / "audit" / "archive"
    assert (archive / "segment-000000000000-000000000004.jsonl").read_text().count("\n") == 5
    assert (archive / "segment-000000000000-000000000004.checkpoint.json").exists()
    verified = json.loads(dcops("audit", "verify", "-o", "json", user=AUDITOR).stdout)
    assert verified["ok"] and verified["pruned"] == 5, verified
    log = json.loads(dcops("audit", "log", "-o", "json").stdout)
    assert [op["action"] for op in log] == ["manual.fix", "audit.prune"]
    assert log[1]["details"]["events"] == 5 and log[1]["user"] == AUDITOR
    bundle = json.loads(dcops("audit", "prove", "6", "-o", "json", user=AUDITOR).stdout)
    assert bundle["index"] == 6
    again = dcops("audit", "prune", "--yes", user=AUDITOR)
    assert again.returncode == 0 and "nothing to prune" in again.stdout
