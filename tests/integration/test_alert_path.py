"""End to end: simulated devices → dcops dcim serve → Prometheus → Alertmanager → a webhook here.

For each incident scenario the right alert arrives with the right labels, and it resolves when
the simulation returns to normal. The scenarios are played once, in order, for the module.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.integration.alert_path import AlertPath, WebhookReceiver

pytestmark = pytest.mark.integration

ROOM = {"site": "gdc", "room": "r301"}
SCENARIOS: list[tuple[str, str, dict[str, str]]] = [
    (
        "ups-on-battery",
        "UpsOnBattery",
        {**ROOM, "device": "ups-1", "kind": "ups", "severity": "critical", "category": "power"},
    ),
    (
        "overheat",
        "InletTemperatureHigh",
        {**ROOM, "rack": "A01", "device": "env-a01", "kind": "env-sensor", "severity": "warning"},
    ),
    (
        "door-forced",
        "DoorForced",
        {
            **ROOM,
            "device": "door-1",
            "door": "1",
            "kind": "door-controller",
            "severity": "critical",
        },
    ),
    (
        "fire-alarm",
        "FireAlarm",
        {**ROOM, "device": "fire-1", "zone": "1", "kind": "fire-panel", "severity": "critical"},
    ),
]


@dataclass
class Played:
    """What the webhook got for one scenario: the firing alert and the resolved one."""

    fired: dict[str, Any] | None = None
    resolved: dict[str, Any] | None = None
    error: str = ""


@pytest.fixture(scope="module")
def played(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[AlertPath, dict[str, Played]]]:
    from tests.conftest import copy_site

    site = copy_site(tmp_path_factory.mktemp("alert-path") / "site")
    receiver = WebhookReceiver()
    path = AlertPath(site, receiver)
    results: dict[str, Played] = {}
    try:
        path.start()
        for scenario, alert, labels in SCENARIOS:
            results[scenario] = _play(path, scenario, alert, labels)
        yield path, results
    finally:
        path.stop()
        receiver.close()


def _play(path: AlertPath, scenario: str, alert: str, labels: dict[str, str]) -> Played:
    result = Played()
    changed = path.scenario(scenario)
    try:
        result.fired = path.receiver.wait_for(alert, "firing", labels, after=changed)[1]
    except AssertionError as exc:
        result.error = str(exc)
    ended = path.scenario("normal")
    try:
        result.resolved = path.receiver.wait_for(alert, "resolved", labels, after=ended)[1]
    except AssertionError as exc:
        result.error = result.error or str(exc)
    return result


@pytest.mark.parametrize(("scenario", "alert", "labels"), SCENARIOS, ids=[s[0] for s in SCENARIOS])
def test_scenario_alert_arrives_with_its_labels_and_resolves(
    played: tuple[AlertPath, dict[str, Played]], scenario: str, alert: str, labels: dict[str, str]
) -> None:
    result = played[1][scenario]
    assert result.fired is not None and result.resolved is not None, result.error
    assert result.fired["annotations"]["runbook_url"] == f"docs/runbooks/{alert}.md"
    chinese, _, english = result.fired["annotations"]["summary"].partition(" / ")
    assert "r301" in chinese and "r301" in english
    assert result.resolved["labels"] == result.fired["labels"]


def test_the_shift_log_recorded_the_incidents(played: tuple[AlertPath, dict[str, Played]]) -> None:
    from dcops.monitors.shift_log import read_alert_log

    records = read_alert_log(played[0].site_dir / ".dcops" / "monitors" / "alerts.jsonl")
    names = {a["labels"]["alertname"] for r in records for a in r["alerts"]}
    assert {"UpsOnBattery", "InletTemperatureHigh", "DoorForced", "FireAlarm"} <= names


def test_the_input_bad_alarm_of_the_ups_on_battery_was_inhibited(
    played: tuple[AlertPath, dict[str, Played]],
) -> None:
    alarms = {
        a["labels"].get("alarm")
        for n in played[0].receiver.notifications
        for a in n.payload["alerts"]
        if a["labels"].get("alertname") == "UpsAlarm"
    }
    assert "input_bad" not in alarms
