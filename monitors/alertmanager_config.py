"""Render alertmanager.yml: receivers and routes from dcops.toml, grouping and inhibitions."""

from __future__ import annotations

from typing import Any

from dcops.core.monitoring import MonitorsConfig, Receiver, Route

# One notification per failing device: everything one UPS raises arrives together.
DEVICE_GROUPING = ["site", "room", "device"]
# Many sensors of one room crossing the same band arrive as one notification.
ENVIRONMENT_GROUPING = ["site", "room", "alertname"]
READING_CATEGORIES = "environment|leak|power|cooling|access|fire"

INHIBIT_RULES: list[dict[str, Any]] = [
    {
        # A device that does not answer cannot be trusted for its readings.
        "source_matchers": ['alertname=~"DeviceDown|CracUnreachable"'],
        "target_matchers": [
            f'category=~"{READING_CATEGORIES}"',
            'alertname!~"DeviceDown|CracUnreachable"',
        ],
        "equal": ["site", "room", "device"],
    },
    {
        # In a fire the suppression linkage stops the precision AC on purpose.
        "source_matchers": ['alertname="FireAlarm"'],
        "target_matchers": ['category=~"cooling|environment"', 'severity="warning"'],
        "equal": ["site", "room"],
    },
    {
        # On battery means the input is bad; say it once.
        "source_matchers": ['alertname="UpsOnBattery"'],
        "target_matchers": ['alertname="UpsAlarm"', 'alarm="input_bad"'],
        "equal": ["site", "room", "device"],
    },
    {
        # A critical temperature band makes the warning band of the same sensor redundant.
        "source_matchers": [
            'alertname=~"InletTemperatureHigh|InletTemperatureLow"',
            'severity="critical"',
        ],
        "target_matchers": ['severity="warning"'],
        "equal": ["alertname", "site", "room", "device"],
    },
]

EMAIL_SUBJECT = (
    '{{ if eq .Status "firing" }}[告警 FIRING]{{ else }}[恢复 RESOLVED]{{ end }} '
    "{{ .CommonLabels.room }} {{ .CommonLabels.device }} "
    "{{ range .Alerts }}{{ .Labels.alertname }} {{ end }}"
)


def alertmanager_config(monitors: MonitorsConfig) -> dict[str, Any]:
    """The Alertmanager configuration for these monitors, as data."""
    return {
        "route": {
            "receiver": monitors.default_receiver,
            "group_by": DEVICE_GROUPING,
            "group_wait": monitors.group_wait,
            "group_interval": monitors.group_interval,
            "repeat_interval": monitors.repeat_interval,
            "routes": _routes(monitors),
        },
        "inhibit_rules": INHIBIT_RULES,
        "receivers": [_receiver(r, monitors) for r in monitors.receivers],
    }


def _routes(monitors: MonitorsConfig) -> list[dict[str, Any]]:
    everything = Route(receiver=monitors.default_receiver)
    return [_route(r, monitors) for r in (everything, *monitors.routes)]


def _route(route: Route, monitors: MonitorsConfig) -> dict[str, Any]:
    matchers = []
    if route.severities:
        matchers.append(f'severity=~"{"|".join(route.severities)}"')
    if route.rooms:
        matchers.append(f'room=~"{"|".join(route.rooms)}"')
    return {
        "receiver": route.receiver,
        "matchers": matchers,
        "continue": True,
        "routes": _timing(monitors),
    }


def _timing(monitors: MonitorsConfig) -> list[dict[str, Any]]:
    return [
        {"matchers": ['alertname="FireAlarm"'], "group_wait": "0s"},
        {"matchers": ['severity="critical"'], "group_wait": monitors.critical_group_wait},
        {"matchers": ['category="environment"'], "group_by": ENVIRONMENT_GROUPING},
    ]


def _receiver(receiver: Receiver, monitors: MonitorsConfig) -> dict[str, Any]:
    if receiver.kind == "log":
        return {
            "name": receiver.name,
            "webhook_configs": [{"url": monitors.sink_url, "send_resolved": True}],
        }
    if receiver.kind == "notifier":
        return {
            "name": receiver.name,
            "webhook_configs": [{"url": monitors.notifier_url, "send_resolved": True}],
        }
    if receiver.kind == "webhook":
        return {
            "name": receiver.name,
            "webhook_configs": [{"url": receiver.url, "send_resolved": True}],
        }
    return {
        "name": receiver.name,
        "email_configs": [
            {
                "to": receiver.to,
                "from": receiver.sender,
                "smarthost": receiver.smarthost,
                "require_tls": receiver.require_tls,
                "send_resolved": True,
                "headers": {"Subject": EMAIL_SUBJECT},
            }
        ],
    }
