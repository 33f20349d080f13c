"""A trap's alert against the polled state: kept while no poll followed, refreshed when one
confirms it, ended when one contradicts it, forgotten after its hold; with a fake Prometheus."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from dcops.core.errors import OperationFailed
from dcops.dcim.trap_reconciliation import TrapReconciler

LABELS = {"alertname": "UpsOnBattery", "device": "ups-1", "severity": "critical"}


class Room:
    """What Prometheus answers: the last poll's time and whether ups-1 is on battery."""

    def __init__(self) -> None:
        self.polled_at: float | None = None
        self.on_battery = False
        self.down = False
        self.asked: list[str] = []

    def query(self, expr: str) -> list[float]:
        self.asked.append(expr)
        if self.down:
            raise OperationFailed("Prometheus at http://127.0.0.1:9090 did not answer")
        if expr.startswith("max(dcops_dcim_device_last_success"):
            return [] if self.polled_at is None else [self.polled_at]
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


def test_a_poll_that_confirms_it_keeps_it_for_another_hold() -> None:
    room, posted, now, reconciler = _setup()
    now[0], room.polled_at, room.on_battery = 1003.0, 1002.0, True
    reconciler.reconcile()
    [[alert]] = posted
    assert alert["endsAt"].startswith("1970-01-01T00:21:43")  # now + 300 s
    assert reconciler.counts["confirmed"] == 1 and len(reconciler.held) == 1


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
