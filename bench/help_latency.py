"""Benchmark: wall time of `dcops --help` against `python -c pass`, recorded in docs/performance.md."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import record

RUNS = 30


def timed(argv: list[str]) -> list[float]:
    """Wall-clock seconds of RUNS runs of argv (after one warm-up run)."""
    subprocess.run(argv, check=True, capture_output=True)
    times = []
    for _ in range(RUNS):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    """Measure both commands in the same run and write the table."""
    dcops = str(Path(sys.executable).parent / "dcops")
    rows = []
    for label, argv in (
        ("python -c pass", [sys.executable, "-c", "pass"]),
        ("dcops --help", [dcops, "--help"]),
    ):
        t = timed(argv)
        rows.append(
            f"| `{label}` | {min(t) * 1000:.0f} | {statistics.median(t) * 1000:.0f} | "
            f"{max(t) * 1000:.0f} |"
        )
    table = "\n".join(
        [
            f"{RUNS} runs each after one warm-up, same machine, same run (`make bench`).",
            "",
            "| command | min ms | median ms | max ms |",
            "|---|---|---|---|",
            *rows,
        ]
    )
    record("help", table)
    print(table)


if __name__ == "__main__":
    main()
