"""`dcops monitors render --pair`: the configs the dcops_server role's pair of units run with."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dcops.core.requirements import find_program
from tests.conftest import RunDcops

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(
        find_program("promtool") is None or find_program("amtool") is None,
        reason="promtool/amtool missing (Debian prometheus, prometheus-alertmanager)",
    ),
]


def _alertmanagers(site: Path) -> list[str]:
    config = yaml.safe_load((site / ".dcops" / "monitors" / "prometheus.yml").read_text())
    return config["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"]


def test_render_pair_names_both_members_and_is_kept(dcops: RunDcops, site_dir: Path) -> None:
    single = dcops("monitors", "render")
    assert single.returncode == 0, single.stderr
    assert _alertmanagers(site_dir) == ["127.0.0.1:9093"]
    paired = dcops("monitors", "render", "--pair")
    assert paired.returncode == 0, paired.stderr
    assert _alertmanagers(site_dir) == ["127.0.0.1:9093", "127.0.0.1:9095"]
    config = yaml.safe_load((site_dir / ".dcops" / "monitors" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    targets = jobs["prometheus"]["static_configs"][0]["targets"]
    assert targets == ["127.0.0.1:9090", "127.0.0.1:9091"]
    again = dcops("monitors", "render")  # the pair stays until `monitors down`
    assert again.returncode == 0 and _alertmanagers(site_dir)[-1] == "127.0.0.1:9095"
    refused = dcops("monitors", "render", "--pair", user="wanglei")
    assert refused.returncode == 2 and "dcops monitors render" in refused.stderr
