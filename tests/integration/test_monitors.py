"""`dcops monitors` and `dcops alerts` with the real promtool, Prometheus and Alertmanager."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import DCOPS, REPO, RunDcops
from tests.integration.monitors_stack import post_alerts, set_monitors, wait_for

pytestmark = pytest.mark.integration


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_check_runs_rule_syntax_unit_tests_and_config_checks(dcops: RunDcops) -> None:
    done = dcops("monitors", "check", "--output", "json")
    assert done.returncode == 0, done.stderr
    steps = {s["name"]: s["detail"] for s in json.loads(done.stdout)["steps"]}
    shipped = len(list((REPO / "monitors" / "tests").glob("*.yml")))
    assert shipped >= 7 and steps["rule tests"] == f"{shipped} files passed"
    assert steps["prometheus config"] == "valid"
    assert steps["alertmanager config"] == "1 receivers"


def test_a_broken_rule_expression_is_named_and_up_refuses_it(
    dcops: RunDcops, site_dir: Path
) -> None:
    set_monitors(site_dir)
    _replace(
        site_dir / "monitors" / "rules" / "power.yml",
        "dcops_dcim_ups_battery_status_code >= 3",
        "dcops_dcim_ups_battery_status_code >= > 3",
    )
    checked = dcops("monitors", "check")
    assert checked.returncode == 2
    assert "monitors/rules/power.yml:" in checked.stderr
    assert "UpsLowBattery" in checked.stderr and "could not parse expression" in checked.stderr
    started = dcops("monitors", "up")
    assert started.returncode == 2, started.stdout
    assert "UpsLowBattery" in started.stderr
    assert not (site_dir / ".dcops" / "monitors" / "prometheus.yml").exists()
    status = json.loads(dcops("monitors", "status", "--output", "json").stdout)
    assert not any(s["running"] for s in status["services"])


def test_a_rule_change_that_breaks_a_unit_test_is_named(dcops: RunDcops, site_dir: Path) -> None:
    _replace(
        site_dir / "monitors" / "rules" / "environment.yml",
        'dcops_dcim_env_temperature_celsius{kind="env-sensor"} > 27',
        'dcops_dcim_env_temperature_celsius{kind="env-sensor"} > 28',
    )
    done = dcops("monitors", "check")
    assert done.returncode == 2
    assert "monitors/tests/environment.test.yml" in done.stderr
    assert "InletTemperatureHigh" in done.stderr


def test_a_route_to_an_unknown_receiver_is_refused_by_check_and_up(
    dcops: RunDcops, site_dir: Path
) -> None:
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write('\n[[monitors.routes]]\nreceiver = "night-pager"\nseverities = ["critical"]\n')
    for command in ("check", "up"):
        done = dcops("monitors", command)
        assert done.returncode == 2
        assert (
            "monitors.routes[0].receiver: unknown receiver 'night-pager'; allowed: shift-log"
            in done.stderr
        )
        assert "dcops.toml:" in done.stderr


def test_missing_prometheus_tools_say_how_to_install_them(dcops: RunDcops) -> None:
    done = dcops("monitors", "check", env={"PATH": str(DCOPS.parent)})
    if done.returncode == 0:
        pytest.skip("promtool is installed in an sbin folder that dcops also searches")
    assert done.returncode == 2
    assert (
        "promtool is not installed; install it with: apt-get install -y prometheus" in done.stderr
    )


def test_up_status_alerts_inhibitions_shift_log_and_down(dcops: RunDcops, site_dir: Path) -> None:
    ports = set_monitors(
        site_dir,
        group_wait="1s",
        critical_group_wait="1s",
        group_interval="1s",
        exporters=["127.0.0.1:9"],
    )
    started = dcops("monitors", "up")
    try:
        assert started.returncode == 0, started.stderr
        assert f"http://127.0.0.1:{ports['prometheus_port']}" in started.stdout
        assert f"http://127.0.0.1:{ports['alertmanager_port']}" in started.stdout
        status = json.loads(dcops("monitors", "status", "--output", "json").stdout)
        assert all(s["running"] and s["ready"] for s in status["services"])
        post_alerts(ports["alertmanager_port"], _alerts())
        listed = wait_for(
            "the alerts to be listed",
            lambda: _listed(dcops("alerts", "--output", "json").stdout, 4),
        )
        names = sorted((a["name"], a["device"]) for a in listed)
        # input_bad (on battery), the CRAC warning (fire alarm) and the reading of a device
        # that is down are inhibited.
        assert names == [
            ("DeviceDown", "env-a01"),
            ("FireAlarm", "fire-1"),
            ("UpsAlarm", "ups-1"),
            ("UpsOnBattery", "ups-1"),
        ]
        assert (
            next(a for a in listed if a["name"] == "UpsAlarm")["labels"]["alarm"]
            == "output_overload"
        )
        everything = _listed(dcops("alerts", "--all", "--output", "json").stdout, 7)
        suppressed = sorted(a["name"] for a in everything if a["state"] == "suppressed")
        assert suppressed == ["CracAlarm", "InletTemperatureHigh", "UpsAlarm"]
        table = dcops("alerts")
        assert (
            table.returncode == 0
            and "room r301" in table.stdout
            and "4 active alerts" in table.stdout
        )
        log = site_dir / ".dcops" / "monitors" / "alerts.jsonl"
        records = wait_for(
            "the shift log", lambda: _devices_notified(log) >= {"ups-1", "fire-1", "env-a01"}
        )
        assert records
        ups = [r for r in _records(log) if r["groupLabels"].get("device") == "ups-1"]
        assert len(ups) == 1, "one UPS with several alerts must be one notification"
        assert sorted(a["labels"]["alertname"] for a in ups[0]["alerts"]) == [
            "UpsAlarm",
            "UpsOnBattery",
        ]
    finally:
        stopped = dcops("monitors", "down")
    assert stopped.returncode == 0 and "prometheus" in stopped.stdout
    for service in status["services"]:
        assert not Path(f"/proc/{service['pid']}").exists() or _zombie(service["pid"])


def _alerts() -> list[dict[str, object]]:
    base = {"site": "gdc", "room": "r301"}

    def alert(
        name: str, severity: str, category: str, device: str, **extra: str
    ) -> dict[str, object]:
        labels = {
            **base,
            "alertname": name,
            "severity": severity,
            "category": category,
            "device": device,
            **extra,
        }
        return {"labels": labels, "annotations": {"summary": f"机房 r301 {name} / {name} in r301"}}

    return [
        alert("UpsOnBattery", "critical", "power", "ups-1", kind="ups"),
        alert("UpsAlarm", "warning", "power", "ups-1", kind="ups", alarm="input_bad"),
        alert("UpsAlarm", "critical", "power", "ups-1", kind="ups", alarm="output_overload"),
        alert("DeviceDown", "warning", "monitoring", "env-a01", kind="env-sensor", rack="A01"),
        alert(
            "InletTemperatureHigh",
            "warning",
            "environment",
            "env-a01",
            kind="env-sensor",
            rack="A01",
        ),
        alert("FireAlarm", "critical", "fire", "fire-1", kind="fire-panel", zone="2"),
        alert("CracAlarm", "warning", "cooling", "crac-1", kind="crac", alarm="filter_clogged"),
    ]


def _listed(stdout: str, count: int) -> list[dict[str, object]] | None:
    found = json.loads(stdout or "[]")
    return found if len(found) == count else None


def _records(log: Path) -> list[dict[str, object]]:
    from dcops.monitors.shift_log import read_alert_log

    return read_alert_log(log)


def _devices_notified(log: Path) -> set[str]:
    return {str(r["groupLabels"].get("device")) for r in _records(log)}  # type: ignore[union-attr]


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except OSError:
        return True
