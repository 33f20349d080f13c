"""The machine-room Grafana dashboard: a sound Grafana model, PromQL that promtool accepts,
metrics that the exporter really exports, and panels a real Prometheus fills for the room."""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcops.monitors.checks import program
from tests.conftest import REPO, RunDcops
from tests.integration.monitors_stack import set_monitors
from tests.integration.room_scrape import all_devices_up, scrape_until

pytestmark = pytest.mark.integration

DASHBOARD = REPO / "monitors" / "dashboards" / "machine-room.json"
RECORDING_RULES = REPO / "monitors" / "rules" / "recording.yml"
METRICS_DOC = REPO / "docs" / "metrics.md"
# What Grafana would put in place of its variables: the example site's site and room, and
# fixed windows for the interval macros.
VARIABLES = {
    "site": "gdc",
    "room": "r301",
    "__rate_interval": "1m",
    "__interval": "15s",
    "__range": "1h",
}
# Series Prometheus makes itself rather than the exporter.
PROMETHEUS_OWN = {"ALERTS"}
# Panels whose query is empty in the normal scenario, by title: they list what is wrong now,
# and the test shows them filling up under the crac-fault scenario.
EMPTY_WHEN_ALL_IS_WELL = {
    "告警列表 Firing alerts",  # ALERTS{alertstate="firing"}: nothing fires in a healthy room
    "精密空调告警明细 CRAC alarms now",  # dcops_dcim_crac_alarm == 1: no alarm bit is set
}
# A panel of readings in these units must say so (Grafana unit ids).
UNIT_OF_SUFFIX = {
    "_celsius": "celsius",
    "_ratio": "percentunit",
    "_seconds": "s",
    "_watts": "watt",
    "_amperes": "amp",
    "_volts": "volt",
}
_CJK = "\u3400-\u9fff\uff00-\uffef"
_BILINGUAL = re.compile(rf"[{_CJK}][^{_CJK}]*\b[A-Za-z]{{3,}}[^{_CJK}]*$")
_VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)|\[\[(\w+)\]\]")
_KEYWORDS = {
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
}


def _dashboard() -> dict[str, Any]:
    return dict(json.loads(DASHBOARD.read_text(encoding="utf-8")))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel, rows included, and the panels folded inside collapsed rows."""
    found = []
    for panel in dashboard["panels"]:
        found.append(panel)
        found.extend(panel.get("panels", []))
    return found


def _queries(dashboard: dict[str, Any]) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(panel, target) for every query of every panel."""
    return [
        (panel, target)
        for panel in _panels(dashboard)
        if panel["type"] != "row"
        for target in panel.get("targets", [])
    ]


def substitute(expr: str) -> str:
    """The expression with Grafana's variables replaced by literal values."""

    def value(match: re.Match[str]) -> str:
        name = next(group for group in match.groups() if group)
        assert name in VARIABLES, f"unknown dashboard variable ${name} in {expr!r}"
        return VARIABLES[name]

    return _VARIABLE.sub(value, expr)


def metric_names(expr: str) -> set[str]:
    """The metric names an expression selects (not functions, keywords or label names)."""
    bare = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    bare = re.sub(r"\{[^}]*\}", " ", bare)
    bare = re.sub(r"\[[^\]]*\]", " ", bare)
    bare = re.sub(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", bare)
    names = set()
    for match in re.finditer(r"(?<![\w.])[A-Za-z_:][\w:]*", bare):
        after = bare[match.end() :].lstrip()
        if match[0] not in _KEYWORDS and not after.startswith("("):
            names.add(match[0])
    return names


def _record_name(panel: dict[str, Any], target: dict[str, Any]) -> str:
    return f"dashboard:panel_{panel['id']}_{target['refId']}"


def _promtool_check(queries: list[tuple[dict[str, Any], dict[str, Any]]], folder: Path) -> str:
    """Run promtool check rules on the queries as recording rules; its output on failure."""
    rules = [
        {"record": _record_name(panel, target), "expr": substitute(target["expr"])}
        for panel, target in queries
    ]
    path = folder / "dashboard-queries.yml"
    path.write_text(
        yaml.safe_dump({"groups": [{"name": "dashboard", "rules": rules}]}, allow_unicode=True),
        encoding="utf-8",
    )
    done = subprocess.run(
        [program("promtool"), "check", "rules", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    output = done.stdout + done.stderr
    if done.returncode != 0:
        return output
    assert f"SUCCESS: {len(rules)} rules found" in output, output
    return ""


def _documented_codes() -> dict[str, dict[str, str]]:
    """The value codes docs/metrics.md gives for each *_code metric: {metric: {code: word}}."""
    codes = {}
    for line in METRICS_DOC.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(dcops_dcim_\w+_code)` \|", line)
        if match:
            codes[match[1]] = dict(re.findall(r"\*\*(\d+)\*\* (\w+)", line))
    return codes


def _mapped(panel: dict[str, Any]) -> dict[str, str]:
    """The value mappings of a panel: {value: text}."""
    shown = {}
    for mapping in panel["fieldConfig"]["defaults"].get("mappings", []):
        for key, option in mapping.get("options", {}).items():
            shown[key] = option["text"]
    return shown


def test_the_dashboard_is_a_grafana_model_with_site_and_room_variables() -> None:
    dashboard = _dashboard()
    assert dashboard["schemaVersion"] >= 39
    assert dashboard["uid"] == "dcops-machine-room"
    assert dashboard["id"] is None  # importable into any Grafana without clashing
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert list(variables) == ["datasource", "site", "room"]
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    for name in ("site", "room"):
        assert variables[name]["type"] == "query"
        assert variables[name]["datasource"]["uid"] == "${datasource}"
    assert variables["site"]["definition"] == "label_values(dcops_dcim_device_up, site)"
    assert variables["room"]["definition"] == (
        'label_values(dcops_dcim_device_up{site=~"$site"}, room)'
    )
    rows = [p["title"] for p in dashboard["panels"] if p["type"] == "row"]
    assert rows == [
        "总览 Overview",
        "供电 Power",
        "制冷 Cooling",
        "环境与安全 Environment and safety",
    ]


def test_every_panel_reads_the_chosen_datasource_under_a_bilingual_title() -> None:
    panels = _panels(_dashboard())
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids)), f"panel ids repeat: {sorted(ids)}"
    for panel in panels:
        assert _BILINGUAL.search(panel["title"]), f"title not 中文 then English: {panel['title']}"
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, panel["title"]
        assert panel["targets"], f"{panel['title']} has no query"
        refs = [t["refId"] for t in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
            assert 'site=~"$site' in target["expr"], f"{panel['title']} ignores $site"
            assert 'room=~"$room' in target["expr"], f"{panel['title']} ignores $room"


def test_readings_carry_their_unit_and_state_codes_their_documented_names() -> None:
    codes = _documented_codes()
    assert {"dcops_dcim_door_state_code", "dcops_dcim_fire_zone_state_code"} <= set(codes)
    mapped_codes = set()
    for panel in _panels(_dashboard()):
        if panel["type"] in ("row", "table"):
            continue
        names = {n for t in panel["targets"] for n in metric_names(t["expr"])}
        unit = panel["fieldConfig"]["defaults"].get("unit")
        for name in names & set(codes):
            mapped_codes.add(name)
            shown = _mapped(panel)
            assert set(shown) == set(codes[name]), f"{panel['title']}: codes {sorted(shown)}"
            for code, word in codes[name].items():
                assert shown[code].endswith(word), f"{panel['title']}: {code} shows {shown[code]}"
        if any("/" in t["expr"] for t in panel["targets"]):
            assert unit == "percentunit", f"{panel['title']} is a ratio but shows {unit}"
            continue
        wanted = {u for n in names for s, u in UNIT_OF_SUFFIX.items() if n.endswith(s)}
        if wanted:
            assert {unit} == wanted, f"{panel['title']} reads {sorted(names)} but shows {unit}"
        else:
            assert unit or _mapped(panel), f"{panel['title']} has neither a unit nor value names"
    assert mapped_codes == set(codes), f"state codes without a panel: {set(codes) - mapped_codes}"


def test_the_provisioning_file_is_a_grafana_file_provider() -> None:
    provisioning = yaml.safe_load((DASHBOARD.parent / "provisioning.yml").read_text("utf-8"))
    assert provisioning["apiVersion"] == 1
    [provider] = provisioning["providers"]
    assert provider["type"] == "file"
    assert provider["options"]["path"].startswith("/"), "Grafana needs an absolute path"
    assert _BILINGUAL.search(provider["folder"]), provider["folder"]


def test_every_query_is_promql_that_promtool_accepts(tmp_path: Path) -> None:
    queries = _queries(_dashboard())
    assert len(queries) >= 30
    assert _promtool_check(queries, tmp_path) == ""


def test_a_broken_query_is_named_by_promtool(tmp_path: Path) -> None:
    queries = _queries(_dashboard())
    panel, target = next(
        (p, t) for p, t in queries if p["title"] == "UPS 输出负载 Output load per line"
    )
    broken = {**target, "expr": "max by (line) (" + target["expr"]}
    output = _promtool_check([*queries, (panel, broken)], tmp_path)
    assert _record_name(panel, target) in output and "parse error" in output, output


def test_metric_names_are_found_in_every_selector() -> None:
    assert metric_names(
        'sum by (rack) (dcops_dcim_pdu_power_watt{site=~"$site"}) / on (rack) group_left '
        "max_over_time(dcops:x:max[5m]) or vector(0)"
    ) == {"dcops_dcim_pdu_power_watt", "dcops:x:max"}
    assert metric_names('count(ALERTS{alertstate="firing"}) > bool 0.5e3') == {"ALERTS"}


def test_every_metric_the_dashboard_reads_is_exported_or_recorded(exporter: int) -> None:
    text = scrape_until(exporter, all_devices_up, "15 devices up")
    exported = {
        re.split(r"[{ ]", line, maxsplit=1)[0]
        for line in text.splitlines()
        if line and not line.startswith("#")
    }
    rules = yaml.safe_load(RECORDING_RULES.read_text(encoding="utf-8"))
    recorded = {r["record"] for g in rules["groups"] for r in g["rules"]}
    dashboard = _dashboard()
    read: dict[str, str] = {}
    for panel, target in _queries(dashboard):
        names = metric_names(target["expr"])
        assert names, f"{panel['title']}: no metric in {target['expr']!r}"
        read.update({name: panel["title"] for name in names})
    for variable in dashboard["templating"]["list"][1:]:
        selector = re.fullmatch(r"label_values\((.+), *\w+\)", variable["definition"])
        assert selector, f"${variable['name']} is not label_values(SELECTOR, LABEL)"
        read.update({name: f"${variable['name']}" for name in metric_names(selector[1])})
    missing = {n: where for n, where in read.items() if n not in exported | recorded}
    assert set(missing) <= PROMETHEUS_OWN, f"no such metric: {missing}"
    assert recorded <= set(read), f"recording rules no panel shows: {recorded - set(read)}"


def _query(port: int, expr: str) -> list[dict[str, Any]] | str:
    """The result of an instant query, or Prometheus' error text."""
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    try:
        with urllib.request.urlopen(url, timeout=10) as reply:
            answer = json.loads(reply.read())
    except urllib.error.HTTPError as error:
        return f"HTTP {error.code}: {error.read().decode(errors='replace')}"
    return list(answer["data"]["result"])


def _empty_panels(port: int, queries: list[tuple[dict[str, Any], dict[str, Any]]]) -> set[str]:
    empty = set()
    for panel, target in queries:
        result = _query(port, substitute(target["expr"]))
        assert not isinstance(result, str), f"{panel['title']}: {result}"
        if not result:
            empty.add(panel["title"])
    return empty


def _settle(
    port: int, queries: list[tuple[dict[str, Any], dict[str, Any]]], empty: set[str]
) -> None:
    """Wait (at most 60 s) until exactly the panels named in empty have no data."""
    deadline = time.monotonic() + 60
    found = _empty_panels(port, queries)
    while found != empty and time.monotonic() < deadline:
        time.sleep(0.5)
        found = _empty_panels(port, queries)
    assert found == empty, f"panels without data: {sorted(found)}; expected {sorted(empty)}"


def _single(result: list[dict[str, Any]] | str) -> float:
    assert isinstance(result, list) and len(result) == 1, result
    return float(result[0]["value"][1])


def test_a_real_prometheus_fills_every_panel_for_the_simulated_room(
    dcops: RunDcops, site_dir: Path, exporter: int
) -> None:
    scrape_until(exporter, all_devices_up, "15 devices up")
    ports = set_monitors(
        site_dir,
        exporters=[f"127.0.0.1:{exporter}"],
        scrape_interval="500ms",
        evaluation_interval="1s",
    )
    started = dcops("monitors", "up", timeout=120)
    try:
        assert started.returncode == 0, started.stderr
        port = ports["prometheus_port"]
        queries = _queries(_dashboard())
        _settle(port, queries, EMPTY_WHEN_ALL_IS_WELL)
        shown = {panel["title"]: substitute(target["expr"]) for panel, target in queries}
        assert _single(_query(port, shown["在线设备 Devices up"])) == 15
        assert _single(_query(port, shown["离线设备 Devices down"])) == 0
        # A compressor fault fires an alert at once: the two lists of what is wrong fill up.
        assert dcops("dcim", "simulate", "set-scenario", "crac-fault").returncode == 0
        _settle(port, queries, set())
        alerts = _query(port, shown["告警列表 Firing alerts"])
        assert isinstance(alerts, list)
        assert "CracCompressorFailure" in {a["metric"]["alertname"] for a in alerts}
    finally:
        dcops("monitors", "down", timeout=60)
