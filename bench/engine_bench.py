"""What building the Pulumi engine costs: scripts/install-engine.sh cold, warm, and relinked.

Cold is what a fresh CI machine pays: empty Go module and build caches and an empty engine
cache (all in a scratch folder, so this machine's caches are neither used nor touched), each
piece timed alone with its peak RSS (the largest process of the build: a compile or the link).
The floor in the same run is `go mod download` of the three wrapper modules' dependencies
(network and unpacking only). Warm is a second run (everything cached: seconds). Relinked is
a run with the engine cache emptied but Go's caches kept (what a change of a wrapper module's
sources costs). Run as `.venv/bin/python bench/engine_bench.py` (20–60 minutes; needs the Go
module proxy).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.record import record

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "install-engine.sh"
PIECES = {
    "cli": "pulumi",
    "openstack": "pulumi-resource-openstack",
    "kubernetes": "pulumi-resource-kubernetes",
}
MAX_RSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


def run(args: list[str], env: dict[str, str], cwd: Path = REPO) -> tuple[float, int]:
    """Run a command under /usr/bin/time -v; wall seconds and peak RSS (KiB) of its largest process."""
    started = time.monotonic()
    done = subprocess.run(
        ["/usr/bin/time", "-v", *args], cwd=cwd, env=env, capture_output=True, text=True
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    rss = MAX_RSS.search(done.stderr)
    return seconds, int(rss.group(1)) if rss else 0


def du(path: Path) -> int:
    """Bytes under a folder."""
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def main() -> None:
    """Measure and write the `engine` section of docs/performance.md."""
    if not shutil.which("go") or not Path("/usr/bin/time").exists():
        raise SystemExit("engine_bench needs Go and /usr/bin/time")
    work = Path(tempfile.mkdtemp(prefix="dcops-engine-bench-"))
    env = {
        **os.environ,
        "GOMODCACHE": str(work / "gomod"),
        "GOCACHE": str(work / "gobuild"),
        "DCOPS_ENGINE_CACHE": str(work / "engine"),
        "DCOPS_ENGINE_BIN": str(work / "bin"),
    }
    rows: list[str] = []
    try:
        floor = 0.0
        for module in ("cli", "openstack", "kubernetes"):
            floor += run(["go", "mod", "download"], env, REPO / "scripts" / "engine" / module)[0]
        # The module cache is read-only: make it writable, then empty it for the cold builds.
        subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
        shutil.rmtree(work / "gomod", ignore_errors=True)
        rows.append(
            f"| floor: `go mod download` (whole module graph of the three) | {floor / 60:.1f} | | |"
        )
        cold_total = 0.0
        for piece, binary in PIECES.items():
            seconds, rss = run([str(SCRIPT), piece], env)
            cold_total += seconds
            size = (work / "bin" / binary).stat().st_size
            rows.append(
                f"| cold: `{binary}` | {seconds / 60:.1f} | {rss / 1024**2:.1f} | {size / 1024**2:.0f} |"
            )
        rows.append(f"| cold: all three | {cold_total / 60:.1f} | | |")
        seconds, _ = run([str(SCRIPT)], env)
        rows.append(
            f"| warm: all three (second run) | {seconds / 60:.2f} ({seconds * 1000:.0f} ms) | | |"
        )
        shutil.rmtree(work / "engine")
        seconds, rss = run([str(SCRIPT)], env)
        rows.append(
            f"| relinked: all three, Go caches kept | {seconds / 60:.1f} | {rss / 1024**2:.1f} | |"
        )
        caches = (
            f"Go module cache {du(work / 'gomod') / 1024**3:.1f} GiB, "
            f"Go build cache {du(work / 'gobuild') / 1024**3:.1f} GiB, "
            f"engine cache {du(work / 'engine') / 1024**2:.0f} MiB."
        )
    finally:
        subprocess.run(["chmod", "-R", "u+w", str(work)], check=False)
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()[0]
    table = [
        "| step | wall min | peak RSS GiB | binary MiB |",
        "|---|---|---|---|",
        *rows,
    ]
    note = (
        f"{os.cpu_count()} cores, load average {load:.1f} at the end; one run each "
        f"(`.venv/bin/python bench/engine_bench.py`). After the cold build: {caches}"
    )
    record("engine", note + "\n\n" + "\n".join(table))
    print(note)
    print("\n".join(table))


if __name__ == "__main__":
    main()
