"""Traps reconciled with the polls: an alert a trap raised ends as soon as a poll made after the
trap says otherwise, and is left to the rule's alert once the polls confirm it.

A trap is fast but can be wrong or be the only one of a pair that arrived: a "back on line" trap
lost on the way would leave "on battery" standing for its whole hold time. Prometheus holds the
truth of the polls; the receiver asks it, for each alert it raised, whether a poll finished after
the trap and what that poll read. A confirmed alert is never posted again: the rule raises the
same alert from the polls and ends it when they no longer read it, so the receiver lets go of it
as soon as the rule's alert fires, and otherwise at the trap's own end.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dcops.core.errors import DcopsError, OperationFailed

log = logging.getLogger(__name__)
Query = Callable[[str], list[float]]
Poster = Callable[[list[dict[str, Any]]], None]

# What the rules of monitors/rules/power.yml read for each alert a trap raises.
CONDITIONS = {
    "UpsOnBattery": 'dcops_dcim_ups_output_source_code{{device="{device}"}} == 5',
    "UpsLowBattery": 'dcops_dcim_ups_battery_status_code{{device="{device}"}} >= 3',
    "UpsAlarm": 'dcops_dcim_ups_alarm{{device="{device}",alarm="{alarm}"}} == 1',
}
POLLED = 'max(dcops_dcim_device_last_success_timestamp_seconds{{device="{device}"}})'
# The rule's own alert for the same condition, as Prometheus holds it while it fires.
RULE_FIRING = 'ALERTS{{alertstate="firing",alertname="{alertname}",device="{device}"{alarm}}}'


def _quoted(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"')


@dataclass
class HeldTrap:
    """An alert a trap raised: when the trap came, when the alert ends by itself, and whether a
    poll has confirmed it."""

    alert: dict[str, Any]
    trapped_at: float
    until: float
    confirmed: bool = False


class TrapReconciler:
    """Keeps the alerts traps raised in step with the polled state in Prometheus."""

    def __init__(
        self,
        query: Query,
        post: Poster,
        hold: timedelta,
        settle_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.query = query
        self.post = post
        self.hold = hold
        self.settle_s = settle_s
        self.clock = clock
        self.held: dict[tuple[tuple[str, str], ...], HeldTrap] = {}
        self.lock = threading.Lock()
        self.counts = {"confirmed": 0, "cleared": 0, "handed_over": 0}

    def took(self, alerts: Sequence[dict[str, Any]]) -> None:
        """Remember alerts a trap raised; forget those a trap ended."""
        now = self.clock()
        with self.lock:
            for alert in alerts:
                key = tuple(sorted(alert["labels"].items()))
                if alert["labels"].get("alertname") not in CONDITIONS:
                    continue
                if alert["startsAt"] == alert["endsAt"]:
                    self.held.pop(key, None)
                else:
                    self.held[key] = HeldTrap(alert, now, now + self.hold.total_seconds())

    def reconcile(self) -> None:
        """One round: ask the polls about each held alert; end it, confirm it or let it go."""
        with self.lock:
            held = list(self.held.items())
        for key, trap in held:
            now = self.clock()
            if now >= trap.until:
                self._forget(key, trap)  # its own endsAt ends it in Alertmanager
                continue
            try:
                firing = self._polled(trap)
                handed_over = firing is True and self._rule_fires(trap)
            except DcopsError as exc:
                log.warning("cannot reconcile a trap with the polls: %s", exc)
                continue
            if firing is None:
                continue  # no poll since the trap yet: the trap stands
            if not firing:
                self._end(key, trap, now)
                continue
            self._confirm(key, trap)
            if handed_over:
                self._forget(key, trap, "handed_over")

    def _polled(self, trap: HeldTrap) -> bool | None:
        """Whether the polls read the trap's condition; None without a poll since the trap."""
        labels = trap.alert["labels"]
        device = _quoted(labels.get("device", ""))
        polled = self.query(POLLED.format(device=device))
        if not polled or polled[0] < trap.trapped_at + self.settle_s:
            return None
        condition = CONDITIONS[labels["alertname"]]
        alarm = _quoted(labels.get("alarm", ""))
        return bool(self.query(condition.format(device=device, alarm=alarm)))

    def _rule_fires(self, trap: HeldTrap) -> bool:
        """Whether the rule's alert with the trap's labels fires in Prometheus."""
        labels = trap.alert["labels"]
        alarm = f',alarm="{_quoted(labels["alarm"])}"' if "alarm" in labels else ""
        expr = RULE_FIRING.format(
            alertname=_quoted(labels["alertname"]),
            device=_quoted(labels.get("device", "")),
            alarm=alarm,
        )
        return bool(self.query(expr))

    def _confirm(self, key: tuple[tuple[str, str], ...], trap: HeldTrap) -> None:
        # Nothing is posted: the alert stands until its own endsAt, and the rule's alert, raised
        # from the same polls, carries it on from there.
        with self.lock:
            if self.held.get(key) is trap and not trap.confirmed:
                trap.confirmed = True
                self.counts["confirmed"] += 1

    def _end(self, key: tuple[tuple[str, str], ...], trap: HeldTrap, now: float) -> None:
        alert = {**trap.alert, "endsAt": datetime.fromtimestamp(now, UTC).isoformat()}
        with self.lock:
            if self.held.get(key) is not trap:
                return  # a newer trap replaced it while the polls were asked
        try:
            self.post([alert])
        except DcopsError as exc:
            log.warning("%s", exc)
            return
        with self.lock:
            newer = self.held.get(key)
            if newer is not trap:
                # A newer trap raised it while this post was on its way: raise it again.
                if newer is not None:
                    self._post_quietly(newer.alert)
                return
            self.counts["cleared"] += 1
            del self.held[key]

    def _post_quietly(self, alert: dict[str, Any]) -> None:
        try:
            self.post([alert])
        except DcopsError as exc:
            log.warning("%s", exc)

    def _forget(
        self, key: tuple[tuple[str, str], ...], trap: HeldTrap, count: str | None = None
    ) -> None:
        with self.lock:
            if self.held.get(key) is trap:
                del self.held[key]
                if count is not None:
                    self.counts[count] += 1

    def run(self, stop: threading.Event, every: float = 1.0) -> None:
        """Reconcile every `every` seconds until stopped."""
        while not stop.wait(every):
            try:
                self.reconcile()
            except Exception:  # an odd reply must not end reconciling for good
                log.exception("reconciling traps with the polls failed; trying again")


def prometheus_query(members: Callable[[], list[str]], timeout: float = 3) -> Query:
    """An instant query against the first Prometheus that answers; the sample values."""

    def ask(expr: str) -> list[float]:
        failures = []
        for base in members():
            url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
            try:
                with urllib.request.urlopen(url, timeout=timeout) as reply:
                    data = json.loads(reply.read(1024 * 1024))
            except (OSError, ValueError) as exc:
                failures.append(f"Prometheus at {base}: {exc}")
                continue
            try:
                return [float(r["value"][1]) for r in data["data"]["result"]]
            except (KeyError, TypeError, IndexError, ValueError) as exc:
                failures.append(f"Prometheus at {base}: an answer of no known shape ({exc!r})")
                continue
        raise OperationFailed("; ".join(failures) or "no Prometheus to ask")

    return ask
