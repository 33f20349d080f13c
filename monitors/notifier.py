"""dcops' notifier: Alertmanager's webhook in, escalation by the roster, deliveries with back-off out."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dcops.core.durations import duration_seconds
from dcops.core.duty import EscalationPolicy, Roster
from dcops.core.errors import DcopsError
from dcops.monitors.alert_message import AlertFacts, alert_notice
from dcops.monitors.channel import Channel, Notice, Recipient
from dcops.monitors.incidents import Delivery, Incident, IncidentStore
from dcops.monitors.roster import step_targets
from dcops.monitors.silences import Silence

SilenceSource = Callable[[], Sequence[Silence]]


@dataclass(frozen=True)
class DutyPlan:
    """What the notifier follows: roster, escalation policies, people, time zone, retry pauses."""

    roster: Roster
    policies: tuple[EscalationPolicy, ...]
    people: Mapping[str, Recipient]
    timezone: str
    retry_initial_s: float = 1.0
    retry_max_s: float = 300.0
    site_title: str = ""

    def policy_for(self, labels: dict[str, str]) -> EscalationPolicy | None:
        """The first policy an alert matches."""
        return next((p for p in self.policies if p.matches(labels)), None)

    def policy(self, name: str | None) -> EscalationPolicy | None:
        """A policy by name."""
        return next((p for p in self.policies if p.name == name), None)


class Notifier:
    """Turns Alertmanager notifications into incidents, escalates them, and delivers notices."""

    def __init__(
        self,
        store: IncidentStore,
        plan: DutyPlan,
        channels: Mapping[str, Channel],
        silences: SilenceSource | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.plan = plan
        self.channels = channels
        self.silences = silences
        self.clock = clock
        self.wake = threading.Event()

    def receive(self, notification: dict[str, Any]) -> None:
        """Take one webhook notification: open new firings, resolve ended ones. Idempotent."""
        now = self.clock()
        for raw in notification.get("alerts", []):
            facts = AlertFacts.from_webhook(raw)
            if raw.get("status") == "resolved":
                self._resolve(facts, now)
            else:
                policy = self.plan.policy_for(facts.labels)
                self.store.open_incident(
                    facts.fingerprint,
                    facts.starts_at,
                    facts.labels,
                    facts.annotations,
                    policy.name if policy else None,
                    now,
                )
        self.escalate(now)
        self.wake.set()

    def _resolve(self, facts: AlertFacts, now: float) -> None:
        incident = self.store.incident(facts.fingerprint, facts.starts_at)
        if incident is None or not self.store.resolve(incident.id, now):
            return
        told: dict[str, set[str]] = {}
        for delivery in self.store.deliveries(incident.id):
            if delivery.kind == "firing":
                told.setdefault(delivery.channel, set()).update(delivery.recipients)
        sends = [(channel, sorted(users)) for channel, users in told.items()]
        if sends:
            self.store.queue_resolved(incident.id, sends, now)

    def refresh_acknowledgements(self) -> int:
        """Mark open incidents that an active silence covers as acknowledged; how many were new."""
        if self.silences is None:
            return 0
        try:
            active = [s for s in self.silences() if s.state == "active"]
        except DcopsError:
            return 0  # Alertmanager unreachable: keep escalating, that is the safe side
        now, count = self.clock(), 0
        for incident in self.store.open_incidents():
            if incident.acked_at is not None:
                continue
            cover = next((s for s in active if s.covers(incident.labels)), None)
            if cover and self.store.acknowledge(incident.id, cover.created_by, cover.comment, now):
                count += 1
        return count

    def escalate(self, now: float | None = None) -> int:
        """Queue every escalation step that is due; how many steps were taken."""
        now = self.clock() if now is None else now
        local = datetime.fromtimestamp(now, ZoneInfo(self.plan.timezone))
        taken = 0
        for incident in self.store.open_incidents():
            policy = self.plan.policy(incident.policy)
            if policy is None or incident.acked_at is not None:
                continue
            elapsed = now - incident.opened_at
            for index, step in enumerate(policy.steps):
                if index <= incident.level or duration_seconds(step.after) > elapsed:
                    continue
                users = step_targets(step, self.plan.roster, policy.role, local)
                sends = [(channel, users) for channel in step.channels]
                if self.store.escalate(incident.id, index, sends, now):
                    taken += 1
        return taken

    def deliver_due(self) -> int:
        """Try every delivery that is due once; how many succeeded."""
        done = 0
        for delivery in self.store.due(self.clock()):
            if self._held(delivery):
                continue
            incident = self.store.get(delivery.incident_id)
            channel = self.channels.get(delivery.channel)
            try:
                if channel is None:
                    raise DcopsError(f"channel {delivery.channel!r} is not configured")
                channel.send(self._notice(incident, delivery))
            except Exception as exc:  # every transport failure is recorded and retried
                pause = min(self.plan.retry_initial_s * 2**delivery.attempts, self.plan.retry_max_s)
                self.store.failed(delivery.id, f"{type(exc).__name__}: {exc}", self.clock() + pause)
                continue
            self.store.delivered(delivery.id, self.clock())
            done += 1
        return done

    def _held(self, delivery: Delivery) -> bool:
        """A resolved notice waits until the firing notices of its channel went out."""
        if delivery.kind != "resolved":
            return False
        return any(
            d.kind == "firing" and d.channel == delivery.channel and d.delivered_at is None
            for d in self.store.deliveries(delivery.incident_id)
        )

    def _notice(self, incident: Incident, delivery: Delivery) -> Notice:
        people = tuple(
            self.plan.people.get(user) or Recipient(user, user) for user in delivery.recipients
        )
        facts = AlertFacts(
            incident.fingerprint, incident.labels, incident.annotations, incident.starts_at
        )
        return alert_notice(
            facts,
            resolved=delivery.kind == "resolved",
            key=f"dcops-{incident.fingerprint}-{incident.id}-{delivery.kind}-{delivery.step}-{delivery.channel}",
            recipients=people,
            timezone=self.plan.timezone,
            step=delivery.step if delivery.kind == "firing" else None,
            site_title=self.plan.site_title,
        )

    def run(self, stop: threading.Event, tick: float = 0.25, ack_every: float = 1.0) -> None:
        """Escalate and deliver until stopped; woken at once when a notification arrives."""
        last_ack = 0.0
        while not stop.is_set():
            if time.monotonic() - last_ack >= ack_every:
                self.refresh_acknowledgements()
                last_ack = time.monotonic()
            self.escalate()
            self.deliver_due()
            self.wake.wait(tick)
            self.wake.clear()
