"""Benchmark: an SNMP trap to the notification of the person on call, on loopback.

Debian's snmptrap sends an SNMPv3 authPriv upsTrapOnBattery → dcops' trap receiver →
Alertmanager (group_wait 0 s) → dcops' notifier → the on-call step's webhook. Each run is a
different UPS (its own source address, so its own Alertmanager group). The peer in the same run
is the same alert posted straight to Alertmanager's API (no SNMP, no receiver), so the
difference is what the trap costs. Results go to docs/performance.md, section `traps`.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from tests.integration.trap_path import post_directly, trap_path  # noqa: E402

RUNS = 12
TARGET_S = 2.0


def _row(label: str, seconds: list[float]) -> str:
    return (
        f"| {label} | {len(seconds)} | {min(seconds):.2f} | {statistics.median(seconds):.2f} | "
        f"{max(seconds):.2f} |"
    )


def main() -> None:
    """Run both paths RUNS times (after one warm-up each), write the table."""
    traps, direct = [], []
    with trap_path(devices=2 * RUNS + 2) as path:
        for run in range(-1, RUNS):  # run -1 warms up both paths and is not counted
            device = f"ups-t{2 * run + 3:02d}"
            sent = path.send_on_battery(device)
            took = path.notified(device) - sent
            peer = f"ups-t{2 * run + 4:02d}"
            posted = post_directly(path, peer)
            took_peer = path.notified(peer) - posted
            if run >= 0:
                traps.append(took)
                direct.append(took_peer)
    table = "\n".join(
        [
            'Alertmanager group_wait 0 s for critical alerts (`critical_group_wait = "0s"`); '
            'escalation step 0 (`after = "0s"`) to the on-call through a webhook channel. '
            "Time starts just before `snmptrap` is run (its own start-up and the SNMPv3 key "
            "derivation are included) and ends when the webhook has the notice.",
            "",
            "| path | runs | min s | median s | max s |",
            "|---|---|---|---|---|",
            _row("snmptrap v3 authPriv → receiver → Alertmanager → notifier → webhook", traps),
            _row("peer: alert posted to Alertmanager → notifier → webhook", direct),
            "",
            f"Within the {TARGET_S:g} s target: {sum(t <= TARGET_S for t in traps)} of "
            f"{len(traps)} runs.",
        ]
    )
    record("traps", table)
    print(table)


if __name__ == "__main__":
    main()
