"""A trap's alert against the polled state: kept while no poll followed, never posted again once
one confirms it and let go when the rule's alert fires, ended when one contradicts it, forgotten
after its hold; with a fake Prometheus."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dcops.core.errors import OperationFailed
from dcops.dcim.trap_reconciliation import TrapReconciler

LABELS = {"alertname": "UpsOnBattery", "device": "ups-1", "severity": "critical"}


class Room:
    """What Prometheus answers: the last poll's time, whether ups-1 is on battery and whether the
    rule's UpsOnBattery fires."""

    def __init__(self) -> None:
        self.polled_at: float | None = None
        self.on_battery = False
        self.rule_fires = False
        self.down = False
        self.asked: list[str] = []

    def query(self, expr: str) -> list[float]:
        self.asked.append(expr)
        if self.down:
            raise OperationFailed("Prometheus at http://127.0.0.1:9090 did not answer")
        if expr.startswith("max(dcops_dcim_device_last_success"):
            return [] if self.polled_at is None else [self.polled_at]
        if expr.startswith("ALERTS{"):
            return [1.0] if self.rule_fires else []
        return [5.0] if self.on_battery else []


def _setup() -> tuple[Room, list[list[dict[str, Any]]], list[float], TrapReconciler]:
    room, posted, now = Room(), [], [1000.0]
    reconciler = TrapReconciler(
        room.query, posted.append, timedelta(seconds=300), 1.0, lambda: now[0]
    )
    alert = {"labels": dict(LABELS), "startsAt": "2026-12-02T00:00:00+00:00", "endsAt": "x"}
    reconciler.took([alert])
    return room, posted, now, reconciler


def test_without_a_poll_after_the_trap_the_trap_stands() -> None:
    room, posted, _, reconciler = _setup()
    room.polled_at = 999.5  # before the trap
    reconciler.reconcile()
    assert posted == [] and len(reconciler.held) == 1


def test_a_poll_that_says_on_line_ends_the_alert_now() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at = 1003.0, 1002.0
    reconciler.reconcile()
    [[alert]] = posted
    assert alert["endsAt"].startswith("1970-01-01T00:16:43")  # now: resolved
    assert reconciler.held == {} and reconciler.counts["cleared"] == 1
    assert 'device="ups-1"' in room.asked[-1] and "== 5" in room.asked[-1]


def test_a_poll_that_confirms_it_keeps_it_without_posting_it_again() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at, room.on_battery = 1003.0, 1002.0, True
    reconciler.reconcile()
    assert posted == []  # the trap's alert already stands until its own endsAt
    assert reconciler.counts["confirmed"] == 1 and len(reconciler.held) == 1


def test_polls_that_keep_confirming_it_never_refresh_it_and_its_own_end_lets_it_go() -> None:
    room, posted, now, reconciler = _setup()
    room.on_battery = True
    for moment in (1003.0, 1010.0, 1100.0, 1200.0, 1299.0):
        now[0], room.polled_at = moment, moment - 1
        reconciler.reconcile()
    assert posted == [] and reconciler.counts["confirmed"] == 1
    now[0], room.polled_at = 1301.0, 1300.0  # the trap's hold (300 s) is over
    reconciler.reconcile()
    assert posted == [] and reconciler.held == {}


def test_once_the_rules_alert_fires_the_rule_owns_it_and_nothing_more_is_asked() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at, room.on_battery, room.rule_fires = 1003.0, 1002.0, True, True
    reconciler.reconcile()
    assert posted == [] and reconciler.held == {}
    assert reconciler.counts == {"confirmed": 1, "cleared": 0, "handed_over": 1}
    assert 'alertstate="firing"' in room.asked[-1] and 'device="ups-1"' in room.asked[-1]
    asked = len(room.asked)
    now[0], room.polled_at = 1010.0, 1009.0
    reconciler.reconcile()
    assert posted == [] and len(room.asked) == asked


def test_a_later_poll_that_contradicts_a_confirmed_trap_ends_it_at_once() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at, room.on_battery = 1003.0, 1002.0, True
    reconciler.reconcile()
    now[0], room.polled_at, room.on_battery = 1010.0, 1009.0, False  # mains back, no trap
    reconciler.reconcile()
    [[alert]] = posted
    assert alert["endsAt"].startswith("1970-01-01T00:16:50")  # now: resolved
    assert reconciler.held == {} and reconciler.counts["cleared"] == 1


def test_the_rules_alert_of_an_alarm_is_asked_for_with_its_alarm() -> None:
    room, posted, now, reconciler = _setup()
    alarm = {**LABELS, "alertname": "UpsAlarm", "alarm": "output_overload"}
    reconciler.took([{"labels": alarm, "startsAt": "2026-12-02T00:00:00+00:00", "endsAt": "x"}])
    now[0], room.polled_at, room.on_battery, room.rule_fires = 1003.0, 1002.0, True, True
    reconciler.reconcile()
    asked = [e for e in room.asked if e.startswith("ALERTS{")]
    assert any('alertname="UpsAlarm"' in e and 'alarm="output_overload"' in e for e in asked)
    assert posted == [] and reconciler.held == {}


def test_prometheus_down_changes_nothing_and_the_hold_still_ends_it() -> None:
    room, posted, now, reconciler = _setup()
    room.down = True
    now[0] = 1100.0
    reconciler.reconcile()
    assert posted == [] and len(reconciler.held) == 1
    now[0] = 1301.0
    reconciler.reconcile()
    assert reconciler.held == {}


def test_a_trap_that_ends_the_alert_forgets_it() -> None:
    _, _, _, reconciler = _setup()
    same = "2026-12-02T00:00:01+00:00"
    reconciler.took([{"labels": dict(LABELS), "startsAt": same, "endsAt": same}])
    assert reconciler.held == {}


def test_a_trap_that_comes_while_the_clear_is_posted_is_raised_again() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at = 1003.0, 1002.0  # the poll says on line: the first trap is cleared
    newer = {"labels": dict(LABELS), "startsAt": "2026-12-02T00:16:43+00:00", "endsAt": "y"}

    def post(alerts: list[dict[str, Any]]) -> None:
        posted.append(alerts)
        if len(posted) == 1:  # the UPS goes on battery again while the clear is on its way
            reconciler.took([newer])

    reconciler.post = post
    reconciler.reconcile()
    assert [a["endsAt"] for [a] in posted] == ["1970-01-01T00:16:43+00:00", "y"]
    assert [t.alert for t in reconciler.held.values()] == [newer]


def test_an_answer_of_no_known_shape_is_a_failure_not_a_crash() -> None:
    import http.server
    import threading

    from dcops.dcim.trap_reconciliation import prometheus_query

    class Odd(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"status": "success", "data": {"result": [{"value": "5"}]}}'
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Odd)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        ask = prometheus_query(lambda: [f"http://127.0.0.1:{server.server_port}"])
        try:
            ask("up")
        except OperationFailed as exc:
            assert "an answer of no known shape" in str(exc)
        else:
            raise AssertionError("an odd answer was taken as samples")
    finally:
        server.shutdown()
        server.server_close()
