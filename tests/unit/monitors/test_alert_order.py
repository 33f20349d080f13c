"""Active alerts are listed worst first, whichever room they fire in."""

from __future__ import annotations

from dcops.monitors.alertmanager_api import ActiveAlert, parse_alert


def _alert(name: str, severity: str, room: str, device: str) -> ActiveAlert:
    return parse_alert(
        {
            "labels": {"alertname": name, "severity": severity, "room": room, "device": device},
            "status": {"state": "active"},
        }
    )


def test_a_critical_alert_in_a_later_room_comes_before_warnings_in_an_earlier_one() -> None:
    alerts = [
        _alert("HumidityHigh", "warning", "A101", "crac-1"),
        _alert("UpsOnBattery", "critical", "B201", "ups-2"),
        _alert("InletTemperatureHigh", "warning", "A101", "rack-a01"),
        _alert("FireAlarm", "critical", "A101", "fire-1"),
    ]
    ordered = [(a.severity, a.room, a.name) for a in sorted(alerts, key=ActiveAlert.sort_key)]
    assert ordered == [
        ("critical", "A101", "FireAlarm"),
        ("critical", "B201", "UpsOnBattery"),
        ("warning", "A101", "HumidityHigh"),
        ("warning", "A101", "InletTemperatureHigh"),
    ]
