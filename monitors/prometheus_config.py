"""Render prometheus.yml: scrape jobs for the DCIM and cloud exporters and the monitors, rules,
Alertmanager."""

from __future__ import annotations

from typing import Any

from dcops.core.monitoring import duration_seconds
from dcops.core.site import Site

DCIM_JOB = "dcops-dcim"
CLOUD_JOB = "dcops-cloud"


def prometheus_config(site: Site, rules_dir: str, paired: bool = False) -> dict[str, Any]:
    """The Prometheus configuration for this site, as data (the same for both of a pair)."""
    monitors = site.config.monitors
    alertmanagers = [monitors.address(monitors.alertmanager_port)]
    prometheis = [monitors.address(monitors.prometheus_port)]
    if paired:
        alertmanagers.append(monitors.address(monitors.pair_alertmanager_port))
        prometheis.append(monitors.address(monitors.pair_prometheus_port))
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": monitors.scrape_interval,
            "scrape_timeout": _timeout(monitors.scrape_interval),
            "evaluation_interval": monitors.evaluation_interval,
        },
        "rule_files": [f"{rules_dir}/*.yml"],
        "alerting": {
            # A device reading's alert (its series carry `kind`) is the same alert whichever
            # exporter shard polled it, and the one its SNMP trap raises: no job or instance.
            "alert_relabel_configs": [
                {
                    "source_labels": ["kind"],
                    "regex": ".+",
                    "target_label": label,
                    "replacement": "",
                }
                for label in ("job", "instance")
            ],
            "alertmanagers": [{"static_configs": [{"targets": alertmanagers}]}],
        },
        "scrape_configs": [
            {
                # The exporter's site/room/rack/device labels are the truth; keep them.
                "job_name": DCIM_JOB,
                "honor_labels": True,
                "static_configs": [
                    {"targets": list(monitors.exporters), "labels": {"site": site.name}}
                ],
            },
            {
                "job_name": "prometheus",
                "static_configs": [{"targets": prometheis}],
            },
            {
                "job_name": "alertmanager",
                "static_configs": [{"targets": alertmanagers}],
            },
        ],
    }
    if monitors.cloud_exporters:
        # Answered from the exporter's last reading of the clouds: a scrape never waits on one.
        config["scrape_configs"].insert(
            1,
            {
                "job_name": CLOUD_JOB,
                "honor_labels": True,
                # `site` on its `up`, for CloudExporterDown; its own series carry theirs.
                "static_configs": [
                    {"targets": list(monitors.cloud_exporters), "labels": {"site": site.name}}
                ],
            },
        )
    if monitors.remote_write_url:
        # Long-term storage (VictoriaMetrics): both members of a pair write; it deduplicates.
        config["remote_write"] = [{"url": monitors.remote_write_url}]
    return config


def _timeout(interval: str) -> str:
    return interval if duration_seconds(interval) <= 10 else "10s"
