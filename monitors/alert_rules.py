"""The site's Prometheus rules: read from monitors/rules/, rendered with the site's thresholds."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from dcops.core.documents import read_yaml
from dcops.core.errors import InvalidInput, Problem
from dcops.core.monitoring import MonitorsConfig, duration_seconds
from dcops.monitors.prometheus_config import CLOUD_JOB

THRESHOLD_METRIC = "dcops:monitors_threshold"
VALUE_TEMPLATE = '{{ printf "%.4g" $value }}'
_THRESHOLD_REF = re.compile(r'monitors_threshold\{threshold="([a-z_]+)"\}')


def load_rule_file(path: Path, shown: str) -> dict[str, Any]:
    """One rule file as data; InvalidInput naming the file and line if it is not valid YAML."""
    doc = read_yaml(path, shown)  # size, aliases and nesting within the limits of every file
    if doc.problems:
        raise InvalidInput(f"rule file {shown} is not valid", doc.problems)
    data = doc.data
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        problem = Problem(shown, "groups", "expected a mapping with a list of rule groups", 1)
        raise InvalidInput(f"rule file {shown} is not valid", [problem])
    return data


def alert_names(rule_files: list[Path]) -> list[str]:
    """Every alert name defined in the rule files, sorted, each once."""
    names: set[str] = set()
    for path in rule_files:
        for group in load_rule_file(path, path.name)["groups"]:
            names.update(r["alert"] for r in group.get("rules", []) if "alert" in r)
    return sorted(names)


def render_rules(data: dict[str, Any], monitors: MonitorsConfig) -> dict[str, Any]:
    """A rule file with the site's thresholds, `for` cap and runbook base URL applied."""
    limits = monitors.thresholds.model_dump()
    cap = duration_seconds(monitors.max_for) if monitors.max_for else None
    for group in data["groups"]:
        if not monitors.cloud_exporters:
            group["rules"] = [r for r in group.get("rules", []) if not _reads_cloud_job(r)]
        for rule in group.get("rules", []):
            if rule.get("record") == THRESHOLD_METRIC:
                name = rule.get("labels", {}).get("threshold")
                if name in limits:
                    rule["expr"] = f"vector({limits[name]!r})"
            if "alert" in rule:
                _apply_value_and_threshold(rule, limits)
                _apply_cap(rule, cap, monitors.max_for)
                _apply_runbook_base(rule, monitors.runbook_base_url)
    return data


def _reads_cloud_job(rule: dict[str, Any]) -> bool:
    """A rule about the cloud exporter's scrape job, which a site without one does not have."""
    return f'job="{CLOUD_JOB}"' in str(rule.get("expr", ""))


def _apply_value_and_threshold(rule: dict[str, Any], limits: dict[str, Any]) -> None:
    """Every notification carries the value, and the site's limit when the rule compares to one."""
    annotations = rule.setdefault("annotations", {})
    annotations.setdefault("value", VALUE_TEMPLATE)
    found = _THRESHOLD_REF.search(str(rule.get("expr", "")))
    if found and found.group(1) in limits:
        annotations.setdefault("threshold", f"{limits[found.group(1)]:g}")


def _apply_cap(rule: dict[str, Any], cap: float | None, text: str | None) -> None:
    if cap is not None and duration_seconds(str(rule.get("for", "0s"))) > cap:
        rule["for"] = text


def _apply_runbook_base(rule: dict[str, Any], base: str) -> None:
    annotations = rule.get("annotations", {})
    url = annotations.get("runbook_url")
    if base and isinstance(url, str) and not url.startswith(("http://", "https://")):
        annotations["runbook_url"] = base.rstrip("/") + "/" + url.removeprefix("docs/")


def write_rendered_rules(sources: list[Path], target: Path, monitors: MonitorsConfig) -> list[Path]:
    """Render every rule file into target (replacing what was there); return the written files."""
    target.mkdir(mode=0o700, parents=True, exist_ok=True)
    for old in target.glob("*.yml"):
        old.unlink()
    written = []
    for source in sources:
        data = render_rules(load_rule_file(source, f"monitors/rules/{source.name}"), monitors)
        out = target / source.name
        out.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
        written.append(out)
    return written
