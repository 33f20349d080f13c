"""UPS-MIB traps (RFC 1628) as Alertmanager alerts, labelled exactly as the polled alerts are.

Because the labels match those of the rule that fires on the polled reading (alertname,
severity, category, site, room, rack, device, kind and the alarm), Alertmanager takes the trap's
alert and the rule's for the same alert: the trap makes it fire at once, the next polls keep
it or resolve it. A trap's alert ends by itself after a hold time unless the poll confirms it.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from dcops.core.errors import OperationFailed
from dcops.dcim.inventory import Target
from dcops.dcim.snmp.notification import Notification

UPS_TRAPS = "1.3.6.1.2.1.33.2"
ON_BATTERY, ALARM_ADDED, ALARM_REMOVED = f"{UPS_TRAPS}.1", f"{UPS_TRAPS}.3", f"{UPS_TRAPS}.4"
ALARM_DESCR = "1.3.6.1.2.1.33.1.6.2.1.2"
# The UPS alarms the rules raise as critical UpsAlarm (monitors/rules/power.yml); warnings wait
# for the poll, as their rule does.
CRITICAL_ALARMS = frozenset(
    {
        "battery_bad",
        "depleted_battery",
        "output_bad",
        "output_overload",
        "bypass_bad",
        "ups_output_off",
    }
)
SUMMARIES = {
    "UpsOnBattery": ("已转电池供电（陷阱）", "is on battery (trap)"),
    "UpsLowBattery": ("电池电量低（陷阱）", "reports battery low (trap)"),
    "UpsAlarm": ("告警 {alarm}（陷阱）", "raises alarm {alarm} (trap)"),
}


@dataclass(frozen=True)
class TrapEvent:
    """What a trap says about one alert: its name, extra labels, and whether it starts or ends."""

    alert: str
    labels: dict[str, str]
    firing: bool


def alarm_names(target: Target) -> dict[str, str]:
    """Well-known alarm OID → alarm name, from the device's profile (its alarm table)."""
    for table in target.profile.tables:
        for column in table.columns:
            if column.names and column.name_label == "alarm":
                return dict(column.names)
    return {}


def trap_events(notification: Notification, target: Target) -> list[TrapEvent]:
    """The alerts a UPS-MIB trap starts or ends; [] for traps that map to none."""
    if notification.trap_oid == ON_BATTERY:
        return [TrapEvent("UpsOnBattery", {}, True)]
    if notification.trap_oid not in (ALARM_ADDED, ALARM_REMOVED):
        return []
    firing = notification.trap_oid == ALARM_ADDED
    names = alarm_names(target)
    events = []
    for oid, value in notification.varbinds.items():
        if not oid.startswith(ALARM_DESCR + ".") or not isinstance(value, str):
            continue
        alarm = names.get(value)
        if alarm == "on_battery":
            events.append(TrapEvent("UpsOnBattery", {}, firing))
        elif alarm == "low_battery":
            events.append(TrapEvent("UpsLowBattery", {}, firing))
        elif alarm in CRITICAL_ALARMS:
            events.append(TrapEvent("UpsAlarm", {"alarm": alarm}, firing))
    return events


def alert_for(
    event: TrapEvent,
    target: Target,
    site: str,
    hold: timedelta,
    runbook_base_url: str,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The alert to post to Alertmanager's API for one trap event."""
    moment = now or datetime.now(UTC)
    labels = {
        "alertname": event.alert,
        "severity": "critical",
        "category": "power",
        "site": site,
        "room": target.room,
        "rack": target.rack,
        "device": target.name,
        "kind": target.kind,
        **event.labels,
    }
    zh, en = SUMMARIES[event.alert]
    alarm = event.labels.get("alarm", "")
    summary = (
        f"机房 {target.room} UPS {target.name} {zh.format(alarm=alarm)} / "
        f"UPS {target.name} in room {target.room} {en.format(alarm=alarm)}"
    )
    runbook = f"docs/runbooks/{event.alert}.md"
    if runbook_base_url:
        runbook = runbook_base_url.rstrip("/") + "/" + runbook.removeprefix("docs/")
    return {
        "labels": {k: v for k, v in labels.items() if v},
        "annotations": {"summary": summary, "runbook_url": runbook, "source": "snmp trap"},
        "startsAt": moment.isoformat(),
        "endsAt": (moment + hold if event.firing else moment).isoformat(),
    }


def post_alerts(base_url: str, alerts: list[dict[str, Any]], timeout: float = 5) -> None:
    """POST alerts to Alertmanager's API v2; OperationFailed if it does not take them."""
    body = json.dumps(alerts, ensure_ascii=False).encode()
    request = urllib.request.Request(
        f"{base_url}/api/v2/alerts", body, {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):
            return
    except (urllib.error.URLError, OSError) as exc:
        raise OperationFailed(
            f"Alertmanager at {base_url} did not take the alerts: {exc}"
        ) from None


def post_to_members(members: list[str], alerts: list[dict[str, Any]], timeout: float = 5) -> None:
    """POST alerts to every Alertmanager of the site, as Prometheus does (the cluster notifies
    once); OperationFailed only if no member took them."""
    failures = []
    for member in members:
        try:
            post_alerts(member, alerts, timeout)
        except OperationFailed as exc:
            failures.append(str(exc))
    if len(failures) == len(members):
        raise OperationFailed("; ".join(failures) or "no Alertmanager to post to")
