"""Benchmark: alert latency from a simulated device changing state to the webhook receiving it.

The whole path runs on loopback with the short intervals of the end-to-end test: the
simulation (`dcops dcim simulate`) → `dcops dcim serve` → Prometheus → Alertmanager → a
webhook receiver in this script. Each run switches the simulation to an incident scenario and
times until the alert arrives, then back to normal and times until it is resolved. The peer
in the same run is Alertmanager alone: an alert posted to its API until the same webhook gets
it. Results go to docs/performance.md, section `alerts`.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from dcops.core.monitoring import duration_seconds  # noqa: E402
from tests.conftest import copy_site  # noqa: E402
from tests.integration.alert_path import (  # noqa: E402
    FAST_MONITORS,
    POLL_INTERVAL,
    AlertPath,
    WebhookReceiver,
)
from tests.integration.monitors_stack import post_alerts  # noqa: E402

RUNS = 12
INCIDENTS = [
    ("ups-on-battery", "UpsOnBattery", {"device": "ups-1"}),
    ("door-forced", "DoorForced", {"device": "door-1", "door": "1"}),
    ("fire-alarm", "FireAlarm", {"device": "fire-1", "zone": "1"}),
]


def full_path(path: AlertPath) -> tuple[list[float], list[float]]:
    """Seconds from scenario change to the firing, and from normal to the resolved webhook."""
    fired, resolved = [], []
    for run in range(-1, RUNS):  # run -1 warms up the path and is not counted
        scenario, alert, labels = INCIDENTS[run % len(INCIDENTS)]
        changed = path.scenario(scenario)
        got_fired, _ = path.receiver.wait_for(alert, "firing", labels, after=changed)
        ended = path.scenario("normal")
        got_resolved, _ = path.receiver.wait_for(alert, "resolved", labels, after=ended)
        if run >= 0:
            fired.append(got_fired - changed)
            resolved.append(got_resolved - ended)
    return fired, resolved


def alertmanager_alone(path: AlertPath) -> list[float]:
    """Seconds from posting an alert to Alertmanager's API to the webhook receiving it."""
    import tomllib

    port = tomllib.loads((path.site_dir / "dcops.toml").read_text())["monitors"][
        "alertmanager_port"
    ]
    times = []
    for run in range(RUNS):
        labels = {
            "alertname": "BenchProbe",
            "severity": "critical",
            "site": "gdc",
            "room": "r301",
            "device": f"probe-{run}",
        }
        sent = time.time()
        post_alerts(port, [{"labels": labels}])
        got, _ = path.receiver.wait_for(
            "BenchProbe", "firing", {"device": f"probe-{run}"}, after=sent
        )
        times.append(got - sent)
    return times


def _row(label: str, seconds: list[float]) -> str:
    return (
        f"| {label} | {len(seconds)} | {min(seconds):.2f} | {statistics.median(seconds):.2f} | "
        f"{max(seconds):.2f} |"
    )


def main() -> None:
    """Run the path, measure both, write the table."""
    evaluation = duration_seconds(str(FAST_MONITORS["evaluation_interval"]))
    scrape = duration_seconds(str(FAST_MONITORS["scrape_interval"]))
    target = POLL_INTERVAL + 0 + evaluation + 2
    with tempfile.TemporaryDirectory(prefix="dcops-bench-alerts-") as scratch:
        receiver = WebhookReceiver()
        path = AlertPath(copy_site(Path(scratch) / "site"), receiver)
        try:
            path.start()
            fired, resolved = full_path(path)
            alone = alertmanager_alone(path)
        finally:
            path.stop()
            receiver.close()
    table = "\n".join(
        [
            f"Poll interval {POLL_INTERVAL:g} s, scrape interval {scrape:g} s, rule evaluation "
            f"interval {evaluation:g} s, rule `for` 0 s (UpsOnBattery, DoorForced, FireAlarm), "
            "Alertmanager group_wait 0 s; scenarios rotate ups-on-battery, door-forced, fire-alarm, "
            "after one warm-up incident that is not counted. Time starts just before "
            "`dcops dcim simulate set-scenario` is run (its own start-up, about 0.3 s, is included). "
            f"Target: poll + for + evaluation + 2 s = {target:g} s.",
            "",
            "| path | runs | min s | median s | max s |",
            "|---|---|---|---|---|",
            _row("simulator state change → webhook (firing)", fired),
            _row("simulator back to normal → webhook (resolved)", resolved),
            _row("peer: alert posted to Alertmanager → webhook", alone),
            "",
            f"Firing within target: {sum(t <= target for t in fired)} of {len(fired)} runs. "
            "Resolution comes in whole evaluation intervals: the switch back to normal follows the "
            "firing notification, which itself follows a rule evaluation, and Prometheus resolves "
            "the alert at the next evaluation that no longer sees the incident.",
        ]
    )
    record("alerts", table)
    print(table)


if __name__ == "__main__":
    main()
