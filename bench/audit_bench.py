"""Audit journal benchmark: durable append rate, verify of 1 M events, one inclusion proof.

Peers measured in the same run: plain `write + fsync` of the same bytes and SQLite inserts
with synchronous=FULL (appends); `sha256sum` of the journal file, the floor of reading and
hashing every byte once (verify); rebuilding the tree in memory before proving (proofs).

Usage: python bench/audit_bench.py [--events 1000000] [--appends 2000] [--no-record]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path

from dcops.audit.checkpoint import ZERO_HEX, load_or_create_key, sign
from dcops.audit.event import canonical, draft, new_correlation
from dcops.audit.journal import Journal
from dcops.audit.merkle import CompactRange, MerkleTree, leaf_hash
from dcops.audit.proofs import open_tree, prove
from dcops.audit.verification import trusted_key, verify

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import record

ACTOR = {"user": "zhangwei", "name": "张伟", "host": "ops-bastion-1", "roles": ["ops"]}


def sample(n: int, phase: str = "intent") -> dict[str, object]:
    """A realistic event draft (a tenancy approval with parameters)."""
    return draft(
        phase="intent" if phase == "intent" else "result",
        action="tenancy.approve",
        target=f"tenancy/fgw-{n % 50}",
        actor=ACTOR,
        parameters={"tier": "standard", "vcpus": 32, "networks": ["10.20.4.0/24"], "n": n},
        correlation=new_correlation(),
        timezone="Asia/Shanghai",
        status="pending" if phase == "intent" else "success",
    )


def bench_appends(folder: Path, count: int) -> list[tuple[str, float]]:
    """Events per second: Journal.append vs write+fsync vs SQLite synchronous=FULL."""
    journal = Journal(folder / "append" / "journal.jsonl")
    drafts = [sample(n) for n in range(count)]
    start = time.perf_counter()
    for item in drafts:
        journal.append(item)
    ours = count / (time.perf_counter() - start)

    lines = journal.path.read_bytes().splitlines(keepends=True)
    fd = os.open(folder / "plain.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    start = time.perf_counter()
    for line in lines:
        os.write(fd, line)
        os.fsync(fd)
    plain = count / (time.perf_counter() - start)
    os.close(fd)

    db = sqlite3.connect(folder / "peer.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, body BLOB)")
    start = time.perf_counter()
    for line in lines:
        db.execute("INSERT INTO events (body) VALUES (?)", (line,))
    sqlite = count / (time.perf_counter() - start)
    db.close()

    operations = max(count // 10, 20)
    site_journal = Journal(folder / "ops" / "journal.jsonl")
    from dcops.audit.checkpoint import write_checkpoint

    start = time.perf_counter()
    for n in range(operations):
        site_journal.append(sample(n))
        site_journal.append(sample(n, "result"))
        write_checkpoint(site_journal)
    per_op = operations / (time.perf_counter() - start)
    return [
        ("dcops journal append (lock + O_APPEND + fsync)", ours),
        ("peer: write + fsync of the same bytes", plain),
        ("peer: SQLite insert, WAL, synchronous=FULL", sqlite),
        ("dcops operation (intent + result + signed checkpoint), ops/s", per_op),
    ]


def build_journal(folder: Path, events: int) -> Journal:
    """Write a journal of `events` chained events with a signed checkpoint after every two."""
    journal = Journal(folder / "big" / "journal.jsonl")
    journal.folder.mkdir(parents=True)
    key = load_or_create_key(journal.key)
    compact, prev = CompactRange(), bytes(32)
    checkpoint_prev = ZERO_HEX
    now = datetime.now(UTC)
    with journal.path.open("wb") as out, journal.checkpoints.open("wb") as cps:
        for n in range(events):
            event = sample(n, "intent" if n % 2 == 0 else "result")
            event["id"], event["prev"] = n, prev.hex()
            line = canonical(event)
            out.write(line + b"\n")
            prev = leaf_hash(line)
            compact.append(prev)
            if n % 2 == 1:
                checkpoint = sign(key, journal.origin, n + 1, compact.root(), checkpoint_prev, now)
                cps.write(checkpoint.line() + b"\n")
                checkpoint_prev = sha256(checkpoint.line()).hexdigest()
    return journal


def bench_verify(journal: Journal) -> tuple[float, float, float, int, int]:
    """Seconds (wall and CPU) for verify(), seconds for the sha256sum floor; bytes, checkpoints."""
    start = time.perf_counter()
    subprocess.run(["sha256sum", str(journal.path)], check=True, capture_output=True)
    floor = time.perf_counter() - start
    start, cpu = time.perf_counter(), time.process_time()
    result = verify(journal, (), trusted_key(journal, None))
    seconds = time.perf_counter() - start
    cpu = time.process_time() - cpu
    if not result.ok:
        raise SystemExit(f"benchmark journal does not verify: {result.first_bad}")
    return seconds, cpu, floor, journal.path.stat().st_size, len(result.checkpoints)


def bench_proofs(journal: Journal, events: int, samples: int) -> dict[str, float]:
    """Milliseconds: first level build, one proof (median, p99), and the in-memory peer."""
    from dcops.audit.checkpoint import latest

    checkpoint = latest(journal)
    assert checkpoint is not None
    start = time.perf_counter()
    with journal.locked():
        open_tree(journal).store.close()
    build = time.perf_counter() - start
    timings = []
    for ident in random.Random(7).sample(range(events), samples):
        start = time.perf_counter()
        proof = prove(journal, ident, checkpoint)
        timings.append(time.perf_counter() - start)
        assert proof.holds()
    start = time.perf_counter()
    tree = MerkleTree()
    for line in journal.raw_lines():
        tree.append(leaf_hash(line[:-1]))
    tree.inclusion_proof(events // 3, checkpoint.size)
    rebuild = time.perf_counter() - start
    timings.sort()
    return {
        "build_s": build,
        "median_ms": statistics.median(timings) * 1000,
        "p99_ms": timings[int(len(timings) * 0.99) - 1] * 1000,
        "rebuild_s": rebuild,
    }


def main() -> None:
    """Run the three benchmarks and record their table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--proofs", type=int, default=1000)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dcops-audit-bench-") as tmp:
        folder = Path(tmp)
        appends = bench_appends(folder, args.appends)
        for name, rate in appends:
            print(f"{name}: {rate:,.0f}/s")
        start = time.perf_counter()
        journal = build_journal(folder, args.events)
        print(f"built {args.events:,} events in {time.perf_counter() - start:.1f} s")
        seconds, cpu, floor, size, checkpoints = bench_verify(journal)
        print(
            f"verify {args.events:,} events ({size / 1e6:.0f} MB, {checkpoints:,} checkpoints): "
            f"{seconds:.2f} s ({cpu:.2f} s CPU); sha256sum {floor:.2f} s"
        )
        proofs = bench_proofs(journal, args.events, args.proofs)
        print(proofs)
    body = render(args, appends, (seconds, cpu), floor, size, checkpoints, proofs)
    print(body)
    if not args.no_record:
        record("audit", body)


def render(
    args: argparse.Namespace,
    appends: list[tuple[str, float]],
    verify_time: tuple[float, float],
    floor: float,
    size: int,
    checkpoints: int,
    proofs: dict[str, float],
) -> str:
    """The Markdown tables for docs/performance.md."""
    rows = [
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the end (other work shared "
        "the machine: CPU time is the figure to compare); journal and peers on the same file "
        "system; `make bench`.",
        "",
        f"Appends ({args.appends:,} events of ~{size // args.events} bytes, each durable "
        "before the next):",
        "",
        "| writer | rate |",
        "|---|---|",
        *(f"| {name} | {rate:,.0f}/s |" for name, rate in appends),
        "",
        f"Verify of {args.events:,} events ({size / 1e6:.0f} MB) with {checkpoints:,} chained "
        "checkpoints (one per operation, as in production) — target ≤ 10 s:",
        "",
        "| what | wall s | CPU s |",
        "|---|---|---|",
        f"| `verify()` (links, tree heads at every checkpoint, chain, newest signature) "
        f"| {verify_time[0]:.2f} | {verify_time[1]:.2f} |",
        f"| peer: `sha256sum` of the journal file (read and hash every byte once) | {floor:.2f} | |",
        "",
        f"One inclusion proof at {args.events:,} events ({args.proofs:,} random events; "
        "lock, cache check, pread of the path and the event, proof checked) — target ≤ 1 ms:",
        "",
        "| what | time |",
        "|---|---|",
        f"| `prove()` median | {proofs['median_ms']:.3f} ms |",
        f"| `prove()` 99th percentile | {proofs['p99_ms']:.3f} ms |",
        f"| first use: building the stored levels (once, then extended) | {proofs['build_s']:.1f} s |",
        f"| peer: rebuild the tree in memory, then prove | {proofs['rebuild_s']:.1f} s |",
    ]
    return "\n".join(rows)


if __name__ == "__main__":
    main()
