"""Asking the Alertmanagers of a pair in turn: the next member when one is down, never after a refusal."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dcops.core.errors import InputError, OperationFailed
from dcops.core.monitoring import MonitorsConfig
from dcops.monitors.acknowledgement import alert_in_turn
from dcops.monitors.alertmanager_members import AlertmanagerUnreachable, ask_in_turn

FIRST, SECOND = "http://127.0.0.1:9093", "http://127.0.0.1:9095"


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


FIRST_DOWN = f"http://127.0.0.1:{_closed_port()}"
SECOND_DOWN = f"http://127.0.0.1:{_closed_port()}"


def test_the_second_member_answers_when_the_first_is_down() -> None:
    asked: list[str] = []

    def call(url: str) -> str:
        asked.append(url)
        if url == FIRST:
            raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer")
        return "silence-1"

    answer = ask_in_turn([FIRST, SECOND], call)
    assert (answer.value, answer.member, asked) == ("silence-1", SECOND, [FIRST, SECOND])


def test_a_refusal_is_not_retried_on_the_other_member() -> None:
    asked: list[str] = []

    def call(url: str) -> str:
        asked.append(url)
        raise OperationFailed(f"Alertmanager at {url} refused POST /api/v2/silences: HTTP 400")

    with pytest.raises(OperationFailed, match="HTTP 400"):
        ask_in_turn([FIRST, SECOND], call)
    assert asked == [FIRST]


def test_none_answering_names_every_member() -> None:
    def call(url: str) -> str:
        raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer")

    with pytest.raises(OperationFailed) as raised:
        ask_in_turn([FIRST, SECOND], call)
    assert "no Alertmanager of the 2 answered" in str(raised.value)
    assert FIRST in str(raised.value) and SECOND in str(raised.value)
    with pytest.raises(AlertmanagerUnreachable, match=r"^Alertmanager at http://127\.0\.0\.1:9093"):
        ask_in_turn([FIRST], call)


def test_the_pair_member_is_asked_only_while_the_pair_runs(tmp_path: Path) -> None:
    monitors = MonitorsConfig()
    assert monitors.alertmanager_members(tmp_path) == [FIRST]
    (tmp_path / "monitors").mkdir()
    (tmp_path / "monitors" / "paired").write_text("pair\n")
    assert monitors.alertmanager_members(tmp_path) == [FIRST, SECOND]


def test_an_ack_whose_answer_was_lost_is_not_made_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    from dcops.monitors import acknowledgement
    from dcops.monitors.alertmanager_api import ActiveAlert
    from dcops.monitors.silences import Silence

    labels = {"alertname": "UpsOnBattery", "device": "ups-1"}
    alert = ActiveAlert("UpsOnBattery", "critical", "gdc", "A", "", "ups-1", "active", "", "", "",
                        labels, "f1")  # fmt: skip
    cluster: list[Silence] = []  # what both members hold once gossip has passed it on
    made: list[str] = []

    def create(url: str, matchers: list, starts: object, ends: object, by: str, why: str) -> str:
        made.append(url)
        # Member 1 makes the silence, then its answer is lost (a timeout after the POST).
        cluster.append(Silence("s-1", "active", tuple(reversed(matchers)), "", ends.isoformat(),  # type: ignore[attr-defined]
                               by, why))  # fmt: skip
        raise AlertmanagerUnreachable(f"Alertmanager at {url} did not answer (timed out)")

    monkeypatch.setattr(acknowledgement, "create_silence", create)
    monkeypatch.setattr(acknowledgement, "list_silences", lambda url: list(cluster))
    ack = acknowledgement.acknowledge_in_turn([FIRST, SECOND], alert, "30m", "换电池", "liqiang")
    assert (ack.silence_id, ack.alertmanager, made) == ("s-1", SECOND, [FIRST])
    # Another person's, or another reason's, silence is not taken for this one.
    cluster[0] = Silence("s-1", "active", cluster[0].matchers, "", cluster[0].ends_at, "wangfang",
                         cluster[0].comment)  # fmt: skip
    monkeypatch.setattr(acknowledgement, "create_silence", lambda url, *rest: "s-2")
    ack = acknowledgement.acknowledge_in_turn([FIRST, SECOND], alert, "30m", "换电池", "liqiang")
    assert (ack.silence_id, ack.alertmanager) == ("s-2", FIRST)


class _Alertmanager(http.server.BaseHTTPRequestHandler):
    """GET /api/v2/alerts answers the alerts its server holds, with its server's status."""

    server: _Member

    def do_GET(self) -> None:
        body = json.dumps(self.server.alerts).encode()
        self.send_response(self.server.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _Member(http.server.ThreadingHTTPServer):
    alerts: list[dict[str, object]]
    status = 200

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_port}"


@contextmanager
def _members(*held: list[dict[str, object]]) -> Iterator[list[_Member]]:
    """One Alertmanager on loopback per list of alerts."""
    servers = []
    for alerts in held:
        server = _Member(("127.0.0.1", 0), _Alertmanager)
        server.alerts = alerts
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
    try:
        yield servers
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def _raw(name: str, device: str, fingerprint: str) -> dict[str, object]:
    labels = {"alertname": name, "device": device, "severity": "critical", "room": "A"}
    return {"labels": labels, "annotations": {}, "fingerprint": fingerprint,
            "startsAt": "2026-12-02T08:00:00Z", "status": {"state": "active"}}  # fmt: skip


def test_a_member_without_the_alert_is_not_the_last_word() -> None:
    # The first member was down when the alert fired; gossip has not caught up yet.
    door = _raw("DoorForced", "door-1", "d1")
    ups = _raw("UpsOnBattery", "ups-1", "f1")
    with _members([door], [door, ups]) as (first, second):
        found = alert_in_turn([first.url, second.url], "UpsOnBattery@ups-1")
    assert (found.value.fingerprint, found.member) == ("f1", second.url)


def test_an_alert_no_member_holds_is_not_found_naming_every_member_asked() -> None:
    door = _raw("DoorForced", "door-1", "d1")
    with _members([door], [door]) as (first, second), pytest.raises(InputError) as raised:
        alert_in_turn([first.url, second.url], "UpsOnBattery@ups-9")
    message = str(raised.value)
    assert "no active alert matches 'UpsOnBattery@ups-9'" in message
    assert first.url in message and second.url in message and "DoorForced@door-1 (d1)" in message
    # A member that is down is named too, and one that answers still decides "not found".
    with _members([door]) as (up,), pytest.raises(InputError) as raised:
        alert_in_turn([up.url, FIRST_DOWN], "UpsOnBattery@ups-9")
    message = str(raised.value)
    assert up.url in message and f"Alertmanager at {FIRST_DOWN} did not answer" in message


def test_an_ambiguous_reference_is_refused_at_once() -> None:
    two = [_raw("UpsOnBattery", "ups-1", "f1"), _raw("UpsOnBattery", "ups-2", "f2")]
    one = [_raw("UpsOnBattery", "ups-1", "f1")]
    with _members(two, one) as (first, second), pytest.raises(InputError, match="matches 2"):
        alert_in_turn([first.url, second.url], "UpsOnBattery")


def test_a_member_that_refuses_the_lookup_stops_it_and_a_failing_one_does_not() -> None:
    ups = [_raw("UpsOnBattery", "ups-1", "f1")]
    with _members([], ups) as (first, second):
        first.status = 403
        with pytest.raises(OperationFailed, match="HTTP 403") as raised:
            alert_in_turn([first.url, second.url], "UpsOnBattery")
        assert not isinstance(raised.value, AlertmanagerUnreachable)
        first.status = 503
        assert alert_in_turn([first.url, second.url], "UpsOnBattery").member == second.url


def test_no_member_answering_is_still_unreachable() -> None:
    with pytest.raises(AlertmanagerUnreachable, match="no Alertmanager of the 2 answered"):
        alert_in_turn([FIRST_DOWN, SECOND_DOWN], "UpsOnBattery")
