"""Alertmanager → dcops' notifier → a webhook, all started by `dcops monitors up`; `dcops alerts
ack` silences one alert (audited with who and why) and its escalation stops, the other's goes on."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunDcops
from tests.integration.monitors_stack import (
    free_port,
    post_alerts,
    set_monitors,
    wait_for,
    webhook_duty,
)
from tests.integration.receivers import robot_server, serving

pytestmark = pytest.mark.integration

HOOK_SECRET = "hook-secret-ack"
SECOND_STEP_S = 60


def _ups(device: str) -> dict[str, Any]:
    labels = {
        "alertname": "UpsOnBattery",
        "severity": "critical",
        "category": "power",
        "site": "gdc",
        "room": "r301",
        "device": device,
    }
    return {
        "labels": labels,
        "annotations": {"summary": f"UPS {device} 转电池 / UPS {device} on battery"},
    }


def _incidents(db: Path) -> dict[str, dict[str, Any]]:
    with sqlite3.connect(db) as conn:
        conn.row_factory = sqlite3.Row
        rows = conn.execute("SELECT * FROM incidents").fetchall()
        steps = conn.execute(
            "SELECT incident_id, step FROM deliveries WHERE kind = 'firing'"
        ).fetchall()
    found = {}
    for row in rows:
        device = json.loads(row["labels"])["device"]
        found[device] = {
            **dict(row),
            "steps": sorted(s["step"] for s in steps if s["incident_id"] == row["id"]),
        }
    return found


def test_ack_stops_escalation_of_that_alert_only_and_is_audited(
    dcops: RunDcops, site_dir: Path
) -> None:
    hook_port = free_port()
    ports = set_monitors(
        site_dir,
        group_wait="1s",
        critical_group_wait="1s",
        group_interval="1s",
        exporters=["127.0.0.1:9"],
        notifier_port=free_port(),
    )
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(webhook_duty(hook_port, SECOND_STEP_S))
    env = {"DCOPS_TEST_HOOK_SECRET": HOOK_SECRET}
    server, hook = robot_server("webhook", hook_port, {"secret": HOOK_SECRET})
    db = site_dir / ".dcops" / "monitors" / "notifier.db"
    journal = site_dir / ".dcops" / "audit" / "journal.jsonl"
    with serving(server):
        started = dcops("monitors", "up", env=env)
        try:
            assert started.returncode == 0, started.stderr
            assert "notifier" in started.stdout
            post_alerts(ports["alertmanager_port"], [_ups("ups-1"), _ups("ups-2")])
            wait_for("both first notices", lambda: len(hook.accepted) >= 2)
            events_before = journal.read_text(encoding="utf-8").count("\n")

            unknown = dcops("alerts", "ack", "UpsOnBattery@ups-9", "--for", "30m", "--reason", "x")
            assert (
                unknown.returncode == 2
                and "no active alert matches 'UpsOnBattery@ups-9'" in unknown.stderr
            )
            ambiguous = dcops("alerts", "ack", "UpsOnBattery", "--for", "30m", "--reason", "x")
            assert ambiguous.returncode == 2 and "matches 2 alerts" in ambiguous.stderr
            too_long = dcops("alerts", "ack", "UpsOnBattery@ups-1", "--for", "8d", "--reason", "x")
            assert too_long.returncode == 2 and "allowed: 1m to 7d" in too_long.stderr
            assert journal.read_text(encoding="utf-8").count("\n") == events_before
            assert json.loads(dcops("alerts", "silences", "--output", "json").stdout) == []

            acked = dcops(
                "alerts", "ack", "UpsOnBattery@ups-1", "--for", "30m",
                "--reason", "已到现场，市电检修中 on site, mains under repair",
                "--output", "json",
            )  # fmt: skip
            assert acked.returncode == 0, acked.stderr
            done = json.loads(acked.stdout)
            assert done["by"] == "zhangwei" and done["device"] == "ups-1"
            [silence] = json.loads(dcops("alerts", "silences", "--output", "json").stdout)
            assert silence["id"] == done["silence"] and silence["created_by"] == "zhangwei"
            assert silence["comment"] == "ack: 已到现场，市电检修中 on site, mains under repair"
            assert 'device="ups-1"' in silence["matchers"]
            table = dcops("alerts", "silences")
            assert table.returncode == 0 and "zhangwei" in table.stdout

            wait_for("the notifier to see the ack", lambda: _incidents(db)["ups-1"]["acked_by"])
            incidents = _incidents(db)
            assert incidents["ups-1"]["acked_at"] - incidents["ups-1"]["opened_at"] < SECOND_STEP_S
            wait_for(
                "the second step for ups-2",
                lambda: _incidents(db)["ups-2"]["steps"] == [0, 1],
                timeout=SECOND_STEP_S + 60,
            )
            assert _incidents(db)["ups-1"]["steps"] == [0]
            # Nothing answers at the exporter's address, so ExporterDown (dcim-exporter) fires a
            # minute in and is delivered too: only the UPS alerts this test posted are counted.
            listed = json.loads(dcops("alerts", "deliveries", "--output", "json").stdout)
            notices = [n for n in listed["notices"] if n["device"].startswith("ups-")]
            assert sorted((n["device"], n["step"]) for n in notices) == [
                ("ups-1", 1),
                ("ups-2", 1),
                ("ups-2", 2),
            ]
            assert all(n["delivered_at"] and n["attempts"] == 1 for n in notices)
            pending = json.loads(dcops("alerts", "deliveries", "--pending", "-o", "json").stdout)
            assert [n for n in pending["notices"] if n["device"].startswith("ups-")] == []
            devices = [a["body"]["labels"]["device"] for a in hook.accepted]
            assert sorted(d for d in devices if d.startswith("ups-")) == ["ups-1", "ups-2", "ups-2"]
            assert hook.refused == []
        finally:
            stopped = dcops("monitors", "down")
    assert "notifier" in stopped.stdout
    events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    ack = [e for e in events if e.get("action") == "alerts.ack"]
    assert [e["phase"] for e in ack] == ["intent", "result"]
    assert ack[1]["result"]["status"] == "success"
    assert (
        "UpsOnBattery@ups-1" in json.dumps(ack[0]["object"])
        and ack[0]["actor"]["user"] == "zhangwei"
    )
    assert "on site, mains under repair" in json.dumps(ack[0], ensure_ascii=False)


def _silence_ids(port: int) -> set[str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/silences", timeout=2) as reply:
            return {s["id"] for s in json.loads(reply.read()) if s["status"]["state"] == "active"}
    except OSError:
        return set()


def test_with_the_first_alertmanager_of_a_pair_down_ack_goes_through_the_second(
    dcops: RunDcops, site_dir: Path
) -> None:
    hook_port = free_port()
    pair = {"pair_alertmanager_port": free_port(), "pair_prometheus_port": free_port()}
    ports = set_monitors(
        site_dir,
        group_wait="1s",
        critical_group_wait="1s",
        group_interval="1s",
        exporters=["127.0.0.1:9"],
        notifier_port=free_port(),
        cluster_port=free_port(),
        pair_cluster_port=free_port(),
        cluster_peer_timeout="2s",
        **pair,
    )
    first, second = ports["alertmanager_port"], pair["pair_alertmanager_port"]
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(webhook_duty(hook_port, SECOND_STEP_S))
    env = {"DCOPS_TEST_HOOK_SECRET": HOOK_SECRET}
    server, hook = robot_server("webhook", hook_port, {"secret": HOOK_SECRET})
    db = site_dir / ".dcops" / "monitors" / "notifier.db"
    with serving(server):
        started = dcops("monitors", "up", "--pair", env=env)
        try:
            assert started.returncode == 0, started.stderr
            services = {
                s["name"]: s
                for s in json.loads(dcops("monitors", "status", "-o", "json").stdout)["services"]
            }
            # As Prometheus does: every member gets every alert, with the same start.
            since = datetime.now(UTC).isoformat()
            alerts = [{**_ups(device), "startsAt": since} for device in ("ups-1", "ups-2")]
            for port in (first, second):
                post_alerts(port, alerts)
            wait_for("both first notices", lambda: len(_incidents(db)) == 2 and all(
                i["steps"] == [0] for i in _incidents(db).values()
            ))  # fmt: skip
            os.kill(services["alertmanager"]["pid"], signal.SIGKILL)
            wait_for("the first Alertmanager to be gone", lambda: not _answers(first))

            listed = dcops("alerts")
            assert listed.returncode == 0, listed.stderr
            assert f"2 active alerts (http://127.0.0.1:{second})" in listed.stdout
            acked = dcops(
                "alerts", "ack", "UpsOnBattery@ups-1", "--for", "30m",
                "--reason", "已到现场 on site",
            )  # fmt: skip
            assert acked.returncode == 0, acked.stderr
            assert f"(through http://127.0.0.1:{second})" in acked.stdout
            silence = acked.stdout.split("silence ")[1].split()[0]
            shown = dcops("alerts", "silences")
            assert (
                shown.returncode == 0 and f"1 silences (http://127.0.0.1:{second})" in shown.stdout
            )

            wait_for("the notifier to see the ack", lambda: _incidents(db)["ups-1"]["acked_by"])
            assert _incidents(db)["ups-1"]["acked_by"] == "zhangwei"
            wait_for(
                "the second step for ups-2",
                lambda: _incidents(db)["ups-2"]["steps"] == [0, 1],
                timeout=SECOND_STEP_S + 90,
            )
            assert _incidents(db)["ups-1"]["steps"] == [0], "an acknowledged alert escalated"

            again = dcops("monitors", "up", "--pair", env=env)
            assert again.returncode == 0, again.stderr
            wait_for(
                "the silence gossiped to the first Alertmanager",
                lambda: silence in _silence_ids(first),
                timeout=90,
            )
            both = dcops("alerts", "silences", "-o", "json")
            assert [s["id"] for s in json.loads(both.stdout)] == [silence]
        finally:
            dcops("monitors", "down")
    with sqlite3.connect(db) as conn:
        labels = [json.loads(row[0]) for row in conn.execute("SELECT labels FROM incidents")]
    ups = sorted(x["device"] for x in labels if x["alertname"] == "UpsOnBattery")
    assert ups == ["ups-1", "ups-2"], "one incident per alert, whichever member notified"
    devices = [a["body"]["labels"].get("device") for a in hook.accepted]
    assert devices.count("ups-1") == 1, "ups-1 was notified again after its acknowledgement"
    assert devices.count("ups-2") == 2


def _answers(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=2):
            return True
    except OSError:
        return False
