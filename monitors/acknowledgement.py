"""Acknowledging an alert: a silence in Alertmanager for exactly its labels, with who and why."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dcops.core.durations import DURATION_RULE, duration_seconds
from dcops.core.errors import InputError, OperationFailed
from dcops.monitors.alertmanager_api import ActiveAlert, active_alerts
from dcops.monitors.alertmanager_members import (
    AlertmanagerUnreachable,
    Answer,
    ask_in_turn,
    none_answered,
)
from dcops.monitors.silences import Matcher, Silence, create_silence, list_silences

ACK_PREFIX = "ack: "
MAX_ACK = timedelta(days=7)
MAX_REASON = 500


class AlertNotFound(InputError):
    """No active alert matches a reference at the Alertmanager(s) that answered."""


@dataclass(frozen=True)
class Acknowledgement:
    """An acknowledged alert: the silence that holds it, by whom, why, until when."""

    silence_id: str
    alert: ActiveAlert
    by: str
    reason: str
    until: datetime
    alertmanager: str = ""


def ack_window(text: str) -> timedelta:
    """How long an acknowledgement lasts; InputError unless a duration from 1m to 7d."""
    if not re.fullmatch(r"(\d+[wdhms])+", text):
        raise InputError(f"--for {text!r} is not a duration; allowed: {DURATION_RULE}")
    window = timedelta(seconds=duration_seconds(text))
    if not timedelta(minutes=1) <= window <= MAX_ACK:
        raise InputError(f"--for {text!r} is out of range; allowed: 1m to 7d")
    return window


def ack_reason(text: str) -> str:
    """The reason, stripped; InputError if empty or longer than 500 characters."""
    reason = " ".join(text.split())
    if not reason:
        raise InputError("--reason is empty; say why the alert is acknowledged")
    if len(reason) > MAX_REASON:
        raise InputError(f"--reason is {len(reason)} characters; allowed: at most {MAX_REASON}")
    return reason


def find_alert(alerts: list[ActiveAlert], ref: str) -> ActiveAlert:
    """The one alert a reference names: a fingerprint (or its start), NAME, or NAME@DEVICE."""
    found = [
        a
        for a in alerts
        if (len(ref) >= 4 and a.fingerprint.startswith(ref))
        or ref == a.name
        or ref == f"{a.name}@{a.device}"
    ]
    if not found:
        raise AlertNotFound(f"no active alert matches {ref!r}; {_choices(alerts)}")
    if len(found) > 1:
        several = ", ".join(f"{a.name}@{a.device} ({a.fingerprint})" for a in found)
        raise InputError(f"{ref!r} matches {len(found)} alerts: {several}; give one fingerprint")
    return found[0]


def _choices(alerts: list[ActiveAlert]) -> str:
    listed = ", ".join(f"{a.name}@{a.device} ({a.fingerprint})" for a in alerts[:10])
    return f"give a fingerprint, NAME or NAME@DEVICE of: {listed or '(no active alerts)'}"


def alert_in_turn(members: Sequence[str], ref: str) -> Answer[ActiveAlert]:
    """The alert a reference names, from the first Alertmanager that holds it, and which one.

    A member that answers without the alert is not the last word: it may have been down when
    the alert fired and gossip has not caught up, so the next member is asked. A reference
    that matches several alerts, or a refusal (4xx), is raised at once.
    """
    if not members:
        raise OperationFailed("no Alertmanager to ask; [monitors] names none")
    unreachable: list[AlertmanagerUnreachable] = []
    without: list[str] = []
    held: dict[str, ActiveAlert] = {}
    for member in members:
        try:
            alerts = active_alerts(member, include_suppressed=True)
        except AlertmanagerUnreachable as exc:
            unreachable.append(exc)
            continue
        try:
            return Answer(find_alert(alerts, ref), member)
        except AlertNotFound:
            without.append(member)
            held.update((a.fingerprint, a) for a in alerts)
    if not without:
        raise none_answered(unreachable)
    others = "".join(f"; {exc}" for exc in unreachable)
    raise AlertNotFound(
        f"no active alert matches {ref!r} at Alertmanager {' nor '.join(without)}{others}; "
        + _choices(sorted(held.values(), key=ActiveAlert.sort_key))
    )


def acknowledge_in_turn(
    members: Sequence[str], alert: ActiveAlert, window: str, reason: str, actor: str
) -> Acknowledgement:
    """Acknowledge through the first member that answers; the cluster gossips the silence on.

    A member whose answer was lost may have made the silence all the same: each member is
    asked first for the same silence (this alert, person, reason and end), which is reused.
    """
    start = datetime.now(UTC)
    return ask_in_turn(
        members, lambda url: acknowledge(url, alert, window, reason, actor, start, reuse=True)
    ).value


def acknowledge(
    base_url: str,
    alert: ActiveAlert,
    window: str,
    reason: str,
    actor: str,
    now: datetime | None = None,
    reuse: bool = False,
) -> Acknowledgement:
    """Silence exactly this alert for a while, saying who and why; its escalation stops.
    reuse=True: an active silence the same as the one to make is taken instead of a second."""
    span = ack_window(window)
    why = ack_reason(reason)
    start = now or datetime.now(UTC)
    matchers = [Matcher(name, value) for name, value in sorted(alert.labels.items())]
    comment = ACK_PREFIX + why
    same = [
        s.id
        for s in (list_silences(base_url) if reuse else [])
        if _same(s, matchers, actor, comment, start + span)
    ]
    silence_id = (
        same[0] if same else create_silence(base_url, matchers, start, start + span, actor, comment)
    )
    return Acknowledgement(silence_id, alert, actor, why, start + span, base_url)


def _same(
    silence: Silence, matchers: list[Matcher], actor: str, comment: str, ends: datetime
) -> bool:
    try:
        ends_at = datetime.fromisoformat(silence.ends_at.replace("Z", "+00:00"))
    except ValueError:
        return False
    return (
        silence.state in ("active", "pending")
        and sorted(silence.matchers, key=lambda m: m.name) == matchers
        and (silence.created_by, silence.comment) == (actor, comment)
        and abs(ends_at - ends) < timedelta(seconds=1)
    )
