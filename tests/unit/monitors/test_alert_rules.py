"""The shipped rules: every alert is complete and bilingual, has a runbook; rendering applies the site."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcops.core.monitoring import MonitorsConfig, Thresholds
from dcops.monitors.alert_rules import alert_names, load_rule_file, render_rules
from tests.conftest import REPO

RULES = sorted((REPO / "monitors" / "rules").glob("*.yml"))
# The metric contract between the DCIM exporter and these rules (names fixed on both sides).
CONTRACT_METRICS = frozenset(
    {
        "dcops_dcim_crac_alarm",
        "dcops_dcim_crac_humidity_setpoint_ratio",
        "dcops_dcim_crac_return_air_humidity_ratio",
        "dcops_dcim_crac_return_air_temperature_celsius",
        "dcops_dcim_crac_running",
        "dcops_dcim_crac_supply_air_humidity_ratio",
        "dcops_dcim_crac_supply_air_temperature_celsius",
        "dcops_dcim_crac_temperature_setpoint_celsius",
        "dcops_dcim_device_last_success_timestamp_seconds",
        "dcops_dcim_device_poll_duration_seconds",
        "dcops_dcim_device_poll_errors_total",
        "dcops_dcim_device_stale_readings",
        "dcops_dcim_device_up",
        "dcops_dcim_door_access_outside_hours",
        "dcops_dcim_door_last_card_event_timestamp_seconds",
        "dcops_dcim_door_open_seconds",
        "dcops_dcim_door_state_code",
        "dcops_dcim_env_humidity_ratio",
        "dcops_dcim_env_temperature_celsius",
        "dcops_dcim_exporter_build_info",
        "dcops_dcim_fire_zone_isolated_seconds",
        "dcops_dcim_fire_zone_state_code",
        "dcops_dcim_leak_detected",
        "dcops_dcim_pdu_outlet_on",
        "dcops_dcim_pdu_phase_current_amperes",
        "dcops_dcim_pdu_phase_rated_current_amperes",
        "dcops_dcim_pdu_power_watts",
        "dcops_dcim_ups_alarm",
        "dcops_dcim_ups_alarms_present",
        "dcops_dcim_ups_battery_charge_ratio",
        "dcops_dcim_ups_battery_current_amperes",
        "dcops_dcim_ups_battery_runtime_seconds",
        "dcops_dcim_ups_battery_status_code",
        "dcops_dcim_ups_battery_temperature_celsius",
        "dcops_dcim_ups_battery_voltage_volts",
        "dcops_dcim_ups_bypass_voltage_volts",
        "dcops_dcim_ups_input_frequency_hertz",
        "dcops_dcim_ups_input_voltage_volts",
        "dcops_dcim_ups_on_battery_seconds",
        "dcops_dcim_ups_output_current_amperes",
        "dcops_dcim_ups_output_load_ratio",
        "dcops_dcim_ups_output_power_watts",
        "dcops_dcim_ups_output_source_code",
        "dcops_dcim_ups_output_voltage_volts",
    }
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _alert_rules() -> list[dict[str, Any]]:
    return [
        rule
        for path in RULES
        for group in yaml.safe_load(path.read_text(encoding="utf-8"))["groups"]
        for rule in group["rules"]
        if "alert" in rule
    ]


@pytest.mark.parametrize(
    "rule", _alert_rules(), ids=lambda r: f"{r['alert']}-{r['labels']['severity']}"
)
def test_every_alert_has_severity_category_bilingual_summary_and_runbook(
    rule: dict[str, Any],
) -> None:
    assert rule["labels"]["severity"] in ("critical", "warning")
    assert rule["labels"]["category"]
    summary = rule["annotations"]["summary"]
    chinese, _, english = summary.partition(" / ")
    assert _CJK.search(chinese) and english and not _CJK.search(english), summary
    assert rule["annotations"]["runbook_url"] == f"docs/runbooks/{rule['alert']}.md"


def test_every_alert_has_a_bilingual_runbook_page_with_the_four_sections() -> None:
    names = alert_names(RULES)
    assert len(names) >= 25
    for name in names:
        page = REPO / "docs" / "runbooks" / f"{name}.md"
        assert page.is_file(), f"no runbook for {name}"
        text = page.read_text(encoding="utf-8")
        for heading in (
            "含义 What it means",
            "先查看 Check first",
            "处置 What to do",
            "联系 Whom to call",
        ):
            assert f"## {heading}" in text, f"{page.name} lacks section {heading!r}"


def test_every_alert_is_covered_by_a_promtool_unit_test() -> None:
    tested = set()
    for path in (REPO / "monitors" / "tests").glob("*.yml"):
        for test in yaml.safe_load(path.read_text(encoding="utf-8"))["tests"]:
            for case in test.get("alert_rule_test", []):
                if case["exp_alerts"]:
                    tested.add(case["alertname"])
    assert tested == set(alert_names(RULES))


def test_alert_expressions_only_use_contract_metrics() -> None:
    for rule in _alert_rules():
        for metric in re.findall(r"\bdcops_dcim_[a-z_]+", rule["expr"]):
            assert metric in CONTRACT_METRICS, f"{rule['alert']} uses {metric}, not in the contract"


def test_render_writes_site_thresholds_into_the_threshold_rules() -> None:
    data = load_rule_file(REPO / "monitors" / "rules" / "thresholds.yml", "thresholds.yml")
    config = MonitorsConfig(
        thresholds=Thresholds(ups_min_runtime_seconds=900, door_held_open_max_seconds=120)
    )
    rendered = render_rules(data, config)
    exprs = {r["labels"]["threshold"]: r["expr"] for r in rendered["groups"][0]["rules"]}
    assert exprs["ups_min_runtime_seconds"] == "vector(900.0)"
    assert exprs["door_held_open_max_seconds"] == "vector(120.0)"
    assert exprs["pdu_phase_load_max_ratio"] == "vector(0.8)"


def test_render_caps_for_durations_and_prefixes_runbook_urls() -> None:
    data = load_rule_file(REPO / "monitors" / "rules" / "environment.yml", "environment.yml")
    config = MonitorsConfig(max_for="10s", runbook_base_url="https://docs.example/dcops/")
    rules = render_rules(data, config)["groups"][0]["rules"]
    warning = next(r for r in rules if r["alert"] == "InletTemperatureHigh")
    leak = next(r for r in rules if r["alert"] == "LeakDetected")
    assert warning["for"] == "10s"
    assert "for" not in leak
    assert (
        warning["annotations"]["runbook_url"]
        == "https://docs.example/dcops/runbooks/InletTemperatureHigh.md"
    )


def test_a_rule_file_that_is_not_yaml_is_reported_with_its_line(tmp_path: Path) -> None:
    from dcops.core.errors import InvalidInput

    broken = tmp_path / "broken.yml"
    broken.write_text("groups:\n  - name: x\n    rules: [\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as caught:
        load_rule_file(broken, "monitors/rules/broken.yml")
    problem = caught.value.problems[0]
    assert problem.source == "monitors/rules/broken.yml" and problem.line is not None


def test_rendering_adds_the_value_and_the_site_threshold_to_every_alert() -> None:
    monitors = MonitorsConfig(thresholds=Thresholds(ups_min_runtime_seconds=900))
    data = render_rules(load_rule_file(REPO / "monitors/rules/power.yml", "power.yml"), monitors)
    rules = {r["alert"]: r for g in data["groups"] for r in g["rules"] if "alert" in r}
    assert rules["UpsRuntimeLow"]["annotations"]["threshold"] == "900"
    assert rules["UpsRuntimeLow"]["annotations"]["value"] == '{{ printf "%.4g" $value }}'
    assert "threshold" not in rules["UpsOnBattery"]["annotations"]
    assert all("value" in r["annotations"] for r in rules.values())


def test_the_cloud_exporter_alert_is_rendered_only_where_a_cloud_exporter_is_scraped() -> None:
    def alerts(config: MonitorsConfig) -> set[str]:
        data = load_rule_file(REPO / "monitors" / "rules" / "cloud.yml", "cloud.yml")
        return {r["alert"] for g in render_rules(data, config)["groups"] for r in g["rules"]}

    assert "CloudExporterDown" in alerts(MonitorsConfig())
    # Without a dcops-cloud job its `up` is always absent: the alert would fire forever.
    quiet = alerts(MonitorsConfig(cloud_exporters=[]))
    assert "CloudExporterDown" not in quiet
    assert {"CloudQuotaHigh", "CloudUsageNotRead"} <= quiet
