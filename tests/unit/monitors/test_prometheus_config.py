"""prometheus.yml as data: one or a pair of Alertmanagers, remote write, device alerts' labels."""

from __future__ import annotations

from pathlib import Path

from dcops.core.loader import load_site
from dcops.monitors.prometheus_config import prometheus_config


def _set(site_dir: Path, line: str) -> None:
    path = site_dir / "dcops.toml"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("[monitors]\n", f"[monitors]\n{line}\n", 1), encoding="utf-8")


def test_a_pair_sends_to_both_alertmanagers_and_scrapes_both_members(site_dir: Path) -> None:
    site = load_site(site_dir)
    single = prometheus_config(site, "rules")
    paired = prometheus_config(site, "rules", paired=True)
    [single_targets] = single["alerting"]["alertmanagers"]
    [paired_targets] = paired["alerting"]["alertmanagers"]
    assert single_targets["static_configs"][0]["targets"] == ["127.0.0.1:9093"]
    assert paired_targets["static_configs"][0]["targets"] == ["127.0.0.1:9093", "127.0.0.1:9095"]
    jobs = {j["job_name"]: j["static_configs"][0]["targets"] for j in paired["scrape_configs"]}
    assert jobs["prometheus"] == ["127.0.0.1:9090", "127.0.0.1:9091"]
    assert "remote_write" not in paired


def test_device_alerts_lose_job_and_instance_so_traps_and_shards_match(site_dir: Path) -> None:
    relabel = prometheus_config(load_site(site_dir), "rules")["alerting"]["alert_relabel_configs"]
    assert {r["target_label"] for r in relabel} == {"job", "instance"}
    assert all(r["source_labels"] == ["kind"] and r["replacement"] == "" for r in relabel)


def test_remote_write_goes_to_the_configured_store(site_dir: Path) -> None:
    _set(site_dir, 'remote_write_url = "http://127.0.0.1:8428/api/v1/write"')
    config = prometheus_config(load_site(site_dir), "rules")
    assert config["remote_write"] == [{"url": "http://127.0.0.1:8428/api/v1/write"}]


def test_the_cloud_exporter_is_a_job_of_its_own_unless_none_is_listed(site_dir: Path) -> None:
    jobs = {j["job_name"]: j for j in prometheus_config(load_site(site_dir), "r")["scrape_configs"]}
    cloud = jobs["dcops-cloud"]
    assert cloud["static_configs"] == [{"targets": ["127.0.0.1:9466"], "labels": {"site": "gdc"}}]
    assert cloud["honor_labels"] is True  # its site and department labels are the truth
    _set(site_dir, "cloud_exporters = []")
    config = prometheus_config(load_site(site_dir), "r")
    assert "dcops-cloud" not in {j["job_name"] for j in config["scrape_configs"]}
