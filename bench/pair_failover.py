"""Benchmark: duplicate notifications when a member of the monitoring pair dies mid-incident.

Each run starts `dcops monitors up --pair` afresh on loopback (two Prometheus servers, two
Alertmanagers in a cluster, the notifier and a webhook), waits until both Alertmanagers hold the
ExporterDown alert, kills one Prometheus and one Alertmanager (the first members, then the
second members, then the first members again but after the notice), and counts the firing
notifications: at the shift log (what the Alertmanager cluster sent) and at the webhook (what
reached the person on call). Target 0 duplicates to people. Results: docs/performance.md, `pair`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from tests.conftest import DCOPS, copy_site, dcops_env  # noqa: E402
from tests.integration.monitors_stack import free_port, set_monitors, wait_for  # noqa: E402
from tests.integration.receivers import robot_server, serving  # noqa: E402
from tests.integration.test_monitors_pair import (  # noqa: E402
    HOOK_SECRET,
    _active,
    _duty,
    _shift_log_firings,
)

RUNS = (
    ("first", "before the notice"),
    ("second", "before the notice"),
    ("first", "after the notice"),
)


def one_run(members: str, when: str) -> tuple[int, int]:
    """(shift-log firings, webhook firings) of one incident with members killed."""
    with tempfile.TemporaryDirectory(prefix="dcops-bench-pair-") as scratch:
        site_dir = copy_site(Path(scratch) / "site")
        hook_port = free_port()
        pair = {
            k: free_port()
            for k in (
                "notifier_port",
                "pair_prometheus_port",
                "pair_alertmanager_port",
                "cluster_port",
                "pair_cluster_port",
            )
        }
        ports = set_monitors(
            site_dir, scrape_interval="1s", evaluation_interval="1s", group_wait="6s",
            critical_group_wait="6s", group_interval="1s", repeat_interval="1h", max_for="1s",
            cluster_peer_timeout="2s", exporters=[f"127.0.0.1:{free_port()}"], **pair,
        )  # fmt: skip
        with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
            out.write(_duty(hook_port))
        env = dcops_env(extra={"DCOPS_TEST_HOOK_SECRET": HOOK_SECRET})

        def dcops(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [str(DCOPS), *args],
                cwd=site_dir,
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
            )

        server, hook = robot_server("webhook", hook_port, {"secret": HOOK_SECRET})
        log = site_dir / ".dcops" / "monitors" / "alerts.jsonl"
        with serving(server):
            started = dcops("monitors", "up", "--pair")
            assert started.returncode == 0, started.stderr
            try:
                status = json.loads(dcops("monitors", "status", "--output", "json").stdout)
                pids = {s["name"]: s["pid"] for s in status["services"]}
                wait_for(
                    "the alert in both Alertmanagers",
                    lambda: (
                        _active(ports["alertmanager_port"])
                        and _active(pair["pair_alertmanager_port"])
                    ),
                    every=0.05,
                )
                if when == "after the notice":
                    wait_for("the notice", lambda: hook.accepted, timeout=90)
                suffix = "" if members == "first" else "-2"
                for name in ("prometheus", "alertmanager"):
                    os.kill(pids[name + suffix], signal.SIGKILL)
                wait_for("the notice", lambda: hook.accepted, timeout=90)
                threading.Event().wait(15)
            finally:
                dcops("monitors", "down")
        firing = [a for a in hook.accepted if a["body"]["status"] == "firing"]
        return _shift_log_firings(log), len(firing)


def main() -> None:
    """Run the three kills, write the table."""
    rows = []
    for members, when in RUNS:
        shift_log, webhook = one_run(members, when)
        rows.append(
            f"| {members} Prometheus and Alertmanager, {when} | {shift_log} | {webhook} | {webhook - 1} |"
        )
    table = "\n".join(
        [
            "Group wait 6 s, peer timeout 2 s; the alert is ExporterDown (an exporter address with "
            "nothing behind it); after the notice the run waits 15 s for a late duplicate.",
            "",
            "| killed | firing notifications from the cluster | notices to the on-call | duplicates to people |",
            "|---|---|---|---|",
            *rows,
            "",
            "Alertmanager's cluster delivers at least once: a member killed right after it notified, "
            "before its record of the notification reached the other member by gossip, leaves the "
            "other to notify again (the shift log then has two). The notifier keys incidents by the "
            "alert's fingerprint and start, so the person on call still gets one notice.",
        ]
    )
    record("pair", table)
    print(table)


if __name__ == "__main__":
    main()
