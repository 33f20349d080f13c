"""Wall time of `dcops lab up` from a cached base and of `dcops configure all` on the lab.

Peers in the same run: unpacking the base tarball alone (the floor of `lab up`), and
`ansible-playbook site.yml` run directly on the same lab (the floor of `configure all`).
Needs root and network namespaces; run as `sudo .venv/bin/python bench/lab_bench.py`.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.record import record
from tests.conftest import DCOPS, copy_site, dcops_env

CACHE = Path(os.environ.get("DCOPS_LAB_CACHE", "/var/tmp/dcops-lab-cache"))


def timed(args: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Run a command, fail loudly if it fails, return its wall time in seconds."""
    started = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=1800)
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(args)} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return seconds


def main() -> None:
    """Measure and write the `lab` section of docs/performance.md."""
    if os.geteuid() != 0:
        raise SystemExit("lab_bench needs root (network namespaces)")
    work = Path(tempfile.mkdtemp(prefix="dcops-lab-bench-"))
    site = copy_site(work / "site")
    env = dcops_env(
        "zhangwei", {"DCOPS_LAB_PREFIX": f"db{secrets.token_hex(3)}", "DCOPS_LAB_CACHE": str(CACHE)}
    )
    dcops = [str(DCOPS)]
    rows: list[tuple[str, float]] = []
    try:
        timed([*dcops, "lab", "up"], site, env)  # makes sure the base is cached
        timed([*dcops, "lab", "down", "--yes"], site, env)
        tarball = next(CACHE.glob("base-*.tar"))
        scratch = work / "unpack"
        scratch.mkdir()
        rows.append(
            (
                "peer: `tar -xf` of the cached base",
                timed(["tar", "-C", str(scratch), "-xf", str(tarball)], site, env),
            )
        )
        shutil.rmtree(scratch)
        rows.append(
            ("`dcops lab up` (cached base, 7 hosts)", timed([*dcops, "lab", "up"], site, env))
        )
        rows.append(
            (
                "`dcops configure all --lab` (first run, everything changes)",
                timed([*dcops, "configure", "all", "--lab", "--yes"], site, env),
            )
        )
        rows.append(
            (
                "`dcops configure all --lab` (second run, nothing changes)",
                timed([*dcops, "configure", "all", "--lab", "--yes"], site, env),
            )
        )
        playbook_env = _ansible_env(site, env)
        rows.append(
            (
                "peer: `ansible-playbook site.yml` on the same lab (nothing changes)",
                timed(
                    [
                        str(Path(sys.executable).parent / "ansible-playbook"),
                        "-i",
                        str(site / ".dcops" / "lab" / "inventory"),
                        "site.yml",
                    ],
                    site / "playbooks",
                    playbook_env,
                ),
            )
        )
        rows.append(("`dcops lab down`", timed([*dcops, "lab", "down", "--yes"], site, env)))
    finally:
        subprocess.run([*dcops, "lab", "down", "--yes"], cwd=site, env=env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    table = ["| step | wall s |", "|---|---|", *(f"| {name} | {sec:.1f} |" for name, sec in rows)]
    note = f"2 cores; lab of 7 hosts; one run each (`make bench-lab`, as root). Base cache: {CACHE.name}/."
    record("lab", note + "\n\n" + "\n".join(table))
    print("\n".join(table))


def _ansible_env(site: Path, env: dict[str, str]) -> dict[str, str]:
    from dcops.core.loader import load_site
    from dcops.lab.playbook import plan

    os.environ.update({k: v for k, v in env.items() if k.startswith("DCOPS_LAB")})
    the_plan = plan(load_site(site), "all", lab=True, limit=None, check=False, diff=False)
    return {**env, **the_plan.env}


if __name__ == "__main__":
    main()
