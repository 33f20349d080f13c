"""`dcops monitors up --pair`: two Prometheus servers and a two-member Alertmanager cluster
gossiping on loopback. One of each is killed mid-incident; the alert still reaches the shift
log and the person on call exactly once."""

from __future__ import annotations

import json
import os
import signal
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import RunDcops
from tests.integration.monitors_stack import free_port, set_monitors, wait_for, webhook_duty
from tests.integration.receivers import robot_server, serving

pytestmark = pytest.mark.integration

HOOK_SECRET = "pair-hook"


def _active(port: int) -> list[dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/alerts", timeout=2) as reply:
            return [
                a for a in json.loads(reply.read()) if a["labels"]["alertname"] == "ExporterDown"
            ]
    except OSError:
        return []


def _shift_log_firings(log: Path) -> int:
    if not log.exists():
        return 0
    count = 0
    for line in log.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        count += sum(
            1
            for a in record["alerts"]
            if a["labels"]["alertname"] == "ExporterDown" and a["status"] == "firing"
        )
    return count


def test_a_lost_prometheus_and_alertmanager_lose_nothing_and_duplicate_nothing(
    dcops: RunDcops, site_dir: Path
) -> None:
    hook_port = free_port()
    pair = {
        "notifier_port": free_port(),
        "pair_prometheus_port": free_port(),
        "pair_alertmanager_port": free_port(),
        "cluster_port": free_port(),
        "pair_cluster_port": free_port(),
    }
    ports = set_monitors(
        site_dir,
        scrape_interval="1s",
        evaluation_interval="1s",
        group_wait="6s",
        critical_group_wait="6s",
        group_interval="1s",
        repeat_interval="1h",
        max_for="1s",
        cluster_peer_timeout="2s",
        exporters=[f"127.0.0.1:{free_port()}"],  # nothing there: ExporterDown fires
        **pair,
    )
    with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
        out.write(webhook_duty(hook_port))
    env = {"DCOPS_TEST_HOOK_SECRET": HOOK_SECRET}
    server, hook = robot_server("webhook", hook_port, {"secret": HOOK_SECRET})
    log = site_dir / ".dcops" / "monitors" / "alerts.jsonl"
    with serving(server):
        started = dcops("monitors", "up", "--pair", env=env)
        try:
            assert started.returncode == 0, started.stderr
            status = json.loads(dcops("monitors", "status", "--output", "json").stdout)
            services = {s["name"]: s for s in status["services"]}
            assert set(services) == {
                "sink", "notifier", "alertmanager", "alertmanager-2", "prometheus", "prometheus-2"
            }  # fmt: skip
            assert all(s["running"] and s["ready"] for s in services.values())
            # Mid-incident: both Alertmanagers hold the alert, neither has notified yet.
            wait_for(
                "the alert in both Alertmanagers",
                lambda: (
                    _active(ports["alertmanager_port"]) and _active(pair["pair_alertmanager_port"])
                ),
                every=0.05,
            )
            for name in ("prometheus", "alertmanager"):
                os.kill(services[name]["pid"], signal.SIGKILL)
            wait_for("the notice", lambda: hook.accepted, timeout=90)
            wait_for("the shift log", lambda: _shift_log_firings(log) >= 1, timeout=60)
            threading.Event().wait(12)  # peer timeouts and group intervals for a duplicate
            after = json.loads(dcops("monitors", "status", "--output", "json").stdout)
            alive = {s["name"] for s in after["services"] if s["running"]}
            assert {"prometheus", "alertmanager"}.isdisjoint(alive)
            assert {"prometheus-2", "alertmanager-2", "notifier"} <= alive
        finally:
            stopped = dcops("monitors", "down")
    assert stopped.returncode == 0 and "alertmanager-2" in stopped.stdout
    firing = [a for a in hook.accepted if a["body"]["status"] == "firing"]
    assert len(firing) == 1, [a["body"]["labels"] for a in firing]
    assert firing[0]["body"]["labels"]["alertname"] == "ExporterDown"
    assert _shift_log_firings(log) == 1, "the surviving Alertmanager notified once"


def test_both_members_write_to_victoria_metrics_which_keeps_one_series(
    dcops: RunDcops, site_dir: Path, tmp_path: Path
) -> None:
    import subprocess

    vm_port = free_port()
    set_monitors(
        site_dir,
        scrape_interval="1s",
        evaluation_interval="1s",
        exporters=[f"127.0.0.1:{free_port()}"],
        remote_write_url=f"http://127.0.0.1:{vm_port}/api/v1/write",
        pair_prometheus_port=free_port(),
        pair_alertmanager_port=free_port(),
        cluster_port=free_port(),
        pair_cluster_port=free_port(),
    )
    storage = tmp_path / "vm"
    with (tmp_path / "vm.log").open("wb") as vm_log:
        vm = subprocess.Popen(
            [
                "victoria-metrics",
                f"-httpListenAddr=127.0.0.1:{vm_port}",
                f"-storageDataPath={storage}",
                "-retentionPeriod=1d",
                "-dedup.minScrapeInterval=1s",
            ],
            stdout=vm_log,
            stderr=subprocess.STDOUT,
        )
    try:
        started = dcops("monitors", "up", "--pair")
        try:
            assert started.returncode == 0, started.stderr

            def series() -> list[dict[str, Any]]:
                query = (
                    f"http://127.0.0.1:{vm_port}/api/v1/query?query=up%7Bjob%3D%22dcops-dcim%22%7D"
                )
                try:
                    with urllib.request.urlopen(query, timeout=2) as reply:
                        return list(json.loads(reply.read())["data"]["result"])
                except OSError:
                    return []

            [one] = wait_for("the exporter's up series in VictoriaMetrics", series, timeout=90)
            assert one["value"][1] == "0"
        finally:
            dcops("monitors", "down")
    finally:
        vm.terminate()
        vm.wait(timeout=30)
