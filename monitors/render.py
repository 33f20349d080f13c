"""Render the monitors of a site into its state dir, checked before they replace what was there."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import yaml

from dcops.core.site import Site
from dcops.monitors.alert_rules import write_rendered_rules
from dcops.monitors.alertmanager_config import alertmanager_config
from dcops.monitors.checks import (
    CheckStep,
    check_alertmanager_config,
    check_prometheus_config,
    check_rule_files,
    run_rule_tests,
)
from dcops.monitors.layout import MonitorLayout, layout_of
from dcops.monitors.prometheus_config import prometheus_config


def write_configs(site: Site, layout: MonitorLayout, paired: bool = False) -> None:
    """Write rules, prometheus.yml and alertmanager.yml into layout.state."""
    layout.state.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_rendered_rules(layout.rule_sources(), layout.rules, site.config.monitors)
    _dump(layout.prometheus_config, prometheus_config(site, "rules", paired))
    _dump(layout.alertmanager_config, alertmanager_config(site.config.monitors))


def _dump(path: Path, data: object) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def check_rendered(layout: MonitorLayout, shown: str) -> list[CheckStep]:
    """Check rendered rules and both configs; InvalidInput on the first that fails."""
    return [
        check_rule_files(sorted(layout.rules.glob("*.yml")), f"{shown}/rules"),
        check_prometheus_config(layout.prometheus_config, f"{shown}/prometheus.yml"),
        check_alertmanager_config(layout.alertmanager_config, f"{shown}/alertmanager.yml"),
    ]


def check_monitors(site: Site) -> list[CheckStep]:
    """Everything `dcops monitors check` runs; the state dir is not touched."""
    layout = layout_of(site)
    steps = [
        check_rule_files(layout.rule_sources(), "monitors/rules"),
        run_rule_tests(layout.test_sources(), "monitors/tests"),
    ]
    with tempfile.TemporaryDirectory(prefix="dcops-monitors-") as scratch:
        trial = MonitorLayout(source=layout.source, state=Path(scratch))
        write_configs(site, trial)
        steps += check_rendered(trial, "rendered")[1:]
    return steps


def render_monitors(site: Site) -> tuple[MonitorLayout, list[CheckStep]]:
    """Render and check the configs, then put them in place in the state dir."""
    layout = layout_of(site)
    layout.state.mkdir(mode=0o700, parents=True, exist_ok=True)
    shown = site.paths.relative(layout.state)
    with tempfile.TemporaryDirectory(prefix=".render-", dir=layout.state) as scratch:
        trial = MonitorLayout(source=layout.source, state=Path(scratch))
        write_configs(site, trial, layout.paired)
        steps = check_rendered(trial, shown)
        _replace_rules(trial.rules, layout.rules)
        trial.prometheus_config.replace(layout.prometheus_config)
        trial.alertmanager_config.replace(layout.alertmanager_config)
    return layout, steps


def _replace_rules(new: Path, old: Path) -> None:
    """Put the new rule files in place, each by rename(2) over the old one, then remove those no
    longer rendered: Prometheus, starting or reloading meanwhile, always finds the folder and
    whole files (removing the folder first left it with none for a moment)."""
    if not old.exists():
        new.replace(old)
        return
    rendered = {path.name for path in new.iterdir()}
    for name in sorted(rendered):
        (new / name).replace(old / name)
    for stale in old.iterdir():
        if stale.name in rendered:
            continue
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale)
        else:
            stale.unlink()
