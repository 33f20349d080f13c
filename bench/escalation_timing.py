"""Benchmark: when each escalation step of an unacknowledged alert reaches whom, against the roster.

The notifier runs with its real loop (tick 0.25 s) and a webhook channel on loopback; steps at
0, 3 and 6 s go to the on-call, the backup and the duty manager of the example roster. Several
alerts run at once. For each step: delay past its due time, and whether it reached the person
the roster names at that moment. Results go to docs/performance.md, section `escalation`.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import threading
import urllib.request
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from dcops.core.loader import load_site  # noqa: E402
from dcops.monitors.notifier_server import notifier_server, site_notifier  # noqa: E402
from dcops.monitors.roster import step_targets  # noqa: E402
from tests.conftest import copy_site  # noqa: E402
from tests.integration.monitors_stack import free_port, wait_for  # noqa: E402
from tests.integration.receivers import robot_server, serving  # noqa: E402

ALERTS = 8
STEPS = (0.0, 3.0, 6.0)
SECRET = "bench-escalation"


def _duty(port: int) -> str:
    return f"""
[[monitors.channels]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{port}/alerts"
secret = {{env = "DCOPS_BENCH_HOOK"}}

[[monitors.escalation]]
name = "critical-facility"
role = "facility"
severities = ["critical"]
steps = [
  {{after = "0s", to = "on-call", channels = ["hook"]}},
  {{after = "3s", to = "backup", channels = ["hook"]}},
  {{after = "6s", to = "manager", channels = ["hook"]}},
]
"""


def main() -> None:
    """Open ALERTS alerts at once, wait for every step, write the table."""
    import os

    os.environ["DCOPS_BENCH_HOOK"] = SECRET
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="dcops-bench-escalation-") as scratch:
        site_dir = copy_site(Path(scratch) / "site")
        with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
            out.write(_duty(port))
        site = load_site(site_dir)
        notifier = site_notifier(site, Path(scratch) / "notifier.db")
        notifier.silences = None
        server, hook = robot_server("webhook", port, {"secret": SECRET})
        webhook = notifier_server(notifier, "127.0.0.1", 0)
        stop = threading.Event()
        loop = threading.Thread(target=notifier.run, args=(stop,), daemon=True)
        with serving(server), serving(webhook):
            loop.start()
            alerts = [
                {
                    "status": "firing",
                    "fingerprint": f"bench{i:04d}",
                    "startsAt": "2026-12-01T00:00:00Z",
                    "labels": {
                        "alertname": "UpsOnBattery",
                        "severity": "critical",
                        "device": f"ups-{i}",
                        "room": "r301",
                    },
                    "annotations": {"summary": "bench / bench"},
                }
                for i in range(ALERTS)
            ]
            body = json.dumps({"alerts": alerts}).encode()
            url = f"http://127.0.0.1:{webhook.server_address[1]}/alerts"
            with urllib.request.urlopen(urllib.request.Request(url, body), timeout=10):
                pass
            wait_for("every step", lambda: len(hook.accepted) >= ALERTS * len(STEPS), timeout=120)
            stop.set()
            notifier.wake.set()
            loop.join(timeout=10)
        opened = {i.fingerprint: i.opened_at for i in notifier.store.all_incidents()}
        policy = site.config.monitors.escalation[0]
        zone = ZoneInfo(site.config.site.timezone)
        delays: dict[int, list[float]] = {0: [], 1: [], 2: []}
        right = 0
        for note in hook.accepted:
            step = note["body"]["step"]
            due = opened[note["body"]["fingerprint"]] + STEPS[step]
            delays[step].append(note["at"] - due)
            expected = step_targets(
                policy.steps[step], site.config.monitors.roster, policy.role,
                datetime.fromtimestamp(due, zone),
            )  # fmt: skip
            right += [r["user"] for r in note["body"]["recipients"]] == expected
        notifier.store.close()
    rows = [
        f"| {n + 1} ({STEPS[n]:g} s, {policy.steps[n].to}) | {len(d)} | {min(d):.2f} | "
        f"{statistics.median(d):.2f} | {max(d):.2f} |"
        for n, d in delays.items()
    ]
    table = "\n".join(
        [
            f"{ALERTS} critical alerts opened at once; steps at 0, 3 and 6 s; notifier tick 0.25 s; "
            "a webhook channel on loopback checking each notice's signature.",
            "",
            "| step | notices | min s late | median s late | max s late |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"Reached the person the roster names at the step's time: {right} of {len(hook.accepted)}.",
        ]
    )
    record("escalation", table)
    print(table)


if __name__ == "__main__":
    main()
