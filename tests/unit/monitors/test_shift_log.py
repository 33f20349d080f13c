"""The shift log: notifications become JSON lines; anything else is refused and not written."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from dcops.monitors.alertmanager_api import parse_alert
from dcops.monitors.shift_log import alert_sink_server, read_alert_log


@pytest.fixture
def sink(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    log = tmp_path / "state" / "alerts.jsonl"
    server = alert_sink_server("127.0.0.1", 0, log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", log
    finally:
        server.shutdown()
        server.server_close()


def _post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, data=body, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_each_notification_is_one_json_line_with_its_receipt_time(sink: tuple[str, Path]) -> None:
    url, log = sink
    note = {
        "status": "firing",
        "groupLabels": {"device": "ups-1"},
        "alerts": [{"labels": {"alertname": "UpsOnBattery"}}],
    }
    assert _post(f"{url}/alerts", json.dumps(note).encode()) == 200
    assert _post(f"{url}/alerts", json.dumps({**note, "status": "resolved"}).encode()) == 200
    records = read_alert_log(log)
    assert [r["status"] for r in records] == ["firing", "resolved"]
    assert records[0]["alerts"][0]["labels"]["alertname"] == "UpsOnBattery"
    assert records[0]["received_at"].endswith("+00:00")


def test_bodies_that_are_not_notifications_are_refused_and_not_logged(
    sink: tuple[str, Path],
) -> None:
    url, log = sink
    assert _post(f"{url}/alerts", b"not json") == 400
    assert _post(f"{url}/alerts", b'{"alerts": "nope"}') == 400
    assert _post(f"{url}/elsewhere", b"{}") == 404
    assert read_alert_log(log) == []


def test_an_alertmanager_alert_is_read_with_its_place_and_text() -> None:
    alert = parse_alert(
        {
            "labels": {
                "alertname": "DoorForced",
                "severity": "critical",
                "site": "gdc",
                "room": "r301",
                "device": "door-1",
                "door": "1",
            },
            "annotations": {
                "summary": "机房 r301 门 1 被强行打开 / Door 1 of room r301 was forced open",
                "runbook_url": "docs/runbooks/DoorForced.md",
            },
            "status": {"state": "active"},
            "startsAt": "2026-11-25T21:00:00Z",
        }
    )
    assert (alert.name, alert.severity, alert.room, alert.rack, alert.device) == (
        "DoorForced",
        "critical",
        "r301",
        "",
        "door-1",
    )
    assert alert.state == "active" and alert.labels["door"] == "1"
