"""Benchmark: IPAM allocation against a plain scan of candidate subnets, and approvals per second.

The peer is the obvious implementation: walk `pool.subnets(new_prefix=p)` and take the first
candidate that overlaps no held block. dcops sorts the held blocks and jumps past each one.
Both run in the same process on the same inputs; the results must be identical.
"""

from __future__ import annotations

import copy
import datetime
import ipaddress
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import record

from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.tenancy import lifecycle
from dcops.tenancy.ipam import first_free
from dcops.tenancy.request import parse_request

REPO = Path(__file__).resolve().parent.parent
POOL = ipaddress.IPv4Network("10.20.0.0/16")
Held = list[ipaddress.IPv4Network]


def naive_first_free(
    pool: ipaddress.IPv4Network, prefix: int, taken: Held
) -> ipaddress.IPv4Network | None:
    """The peer: try every aligned candidate in order."""
    for candidate in pool.subnets(new_prefix=prefix):
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    return None


def fill(strategy: object, prefixes: list[int]) -> tuple[float, Held]:
    """Allocate the prefixes one after another; seconds taken and the blocks."""
    held: Held = []
    start = time.perf_counter()
    for prefix in prefixes:
        block = strategy(POOL, prefix, held)  # type: ignore[operator]
        if block is None:
            break
        held.append(block)
    return time.perf_counter() - start, held


def approvals_per_second(count: int) -> float:
    """Submit and approve `count` requests on the embedded SQLite store, in one process."""
    folder = Path(tempfile.mkdtemp(prefix="dcops-bench-"))
    try:
        shutil.copy2(REPO / "dcops.toml", folder / "dcops.toml")
        shutil.copytree(REPO / "inventory", folder / "inventory")
        site = load_site(folder)
        data = yaml.safe_load((folder / "inventory/requests/fgw-production.yml").read_text())
        wanglei = Actor("wanglei", "王磊", "bench", frozenset({"department:fgw"}))
        chenjing = Actor("chenjing", "陈静", "bench", frozenset({"approver"}))
        today = datetime.date(2026, 11, 25)
        ids = []
        for i in range(count):
            request = copy.deepcopy(data)
            request.update(name=f"fgw-b{i}", vpn=[], kubernetes=None)
            ids.append(
                lifecycle.submit(
                    site, parse_request(request, site, today=today), wanglei
                ).request_id
            )
        start = time.perf_counter()
        for request_id in ids:
            lifecycle.approve(site, str(request_id), chenjing)
        return count / (time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    """Run both allocators on the same inputs, then the store, and write the table."""
    rows = []
    for count in (100, 200, 400):
        prefixes = [random.Random(count).choice([24, 25, 26, 27, 28]) for _ in range(count)]
        ours = [fill(first_free, prefixes) for _ in range(3)]
        theirs = [fill(naive_first_free, prefixes) for _ in range(3 if count <= 100 else 1)]
        assert ours[0][1] == theirs[0][1], "the two allocators disagree"
        ours_s = statistics.median(t for t, _ in ours)
        theirs_s = statistics.median(t for t, _ in theirs)
        rows.append(
            f"| {count} | {len(ours[0][1])} | {ours_s * 1000:.1f} | {theirs_s * 1000:.1f} | "
            f"{theirs_s / ours_s:.0f}× |"
        )
    rate = approvals_per_second(50)
    table = "\n".join(
        [
            "Allocating networks of /24–/28 one after another into the /16 tenant pool (dcops: median of 3 runs; the scan: median of 3 at 100 networks, one run above).",
            "",
            "| networks | allocated | dcops ms | subnet scan ms | speed-up |",
            "|---|---|---|---|---|",
            *rows,
            "",
            f"End to end on the embedded SQLite store (lock, allocate, history, outbox, audit entry): "
            f"{rate:.0f} approvals per second in one process.",
        ]
    )
    record("tenancy", table)
    print(table)


if __name__ == "__main__":
    main()
