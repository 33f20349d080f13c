"""Benchmark: `dcops plan --all` for 1, 10 and 100 tenancies against plain Pulumi mocks.

The peer is what Pulumi's testing guide does: one `set_mocks` + `@pulumi.runtime.test` run per
tenancy with the stock mock monitor and mocks that echo their inputs. dcops runs the same
programs once for all tenancies, skips the SDK's per-resource stack walk (source positions that
mocks throw away), pauses the cyclic garbage collector for the run, records registrations in
its own monitor and shards tenancies over the CPU cores. Results go into docs/performance.md (section `plan`).
"""

from __future__ import annotations

import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from record import record

REPO = Path(__file__).resolve().parent.parent
SIZES = (1, 10, 100)
RUNS = 3
REQUEST = """name: fgw-b{i:03d}
department: {{code: fgw, name: 市发展和改革委员会}}
contacts:
  - {{name: 王磊, email: wanglei@fgw.example.gov.cn}}
purpose: benchmark tenancy {i}
environment: staging
classification: level-2
expires: 2027-06-30
compute:
  - {{name: app, flavor: c2.m4, image: kylin-v10-sp3, count: 1}}
networks:
  - {{name: app, size: 27}}
ingress:
  - {{to: app, port: 443, from: 10.10.0.0/16, description: ops HTTPS}}
load_balancers:
  - {{name: app, port: 443, protocol: TCP, members: app}}
kubernetes:
  namespace: fgw-b{i:03d}
  quota: {{cpu: 2, memory: 4Gi, pods: 10}}
"""

PLAIN = r"""
import sys, time, warnings
started = time.perf_counter()
from dcops.stacks.deprecations import quiet_third_party
quiet_third_party()
import pulumi
from dcops.core.loader import load_site
from dcops.stacks.requests import resolve
from dcops.stacks.program import Clouds, TenancyStack

class Echo(pulumi.runtime.Mocks):
    def new_resource(self, args):
        return args.name + "-id", dict(args.inputs)
    def call(self, args):
        return {"id": "external-id"}, []

site = load_site(sys.argv[1])
count = 0
for planned in resolve(site, [], True):
    pulumi.runtime.set_mocks(Echo(), project="dcops", stack=planned.spec.name)
    secret = lambda key: pulumi.Output.secret("x")
    pulumi.runtime.test(lambda: TenancyStack(planned.spec, Clouds(), secret))()
    count += 1
print(count, time.perf_counter() - started)
"""


def make_site(root: Path, count: int) -> Path:
    """A copy of the example site whose inventory/requests/ holds `count` benchmark requests."""
    site = root / f"site-{count}"
    site.mkdir()
    shutil.copy2(REPO / "dcops.toml", site / "dcops.toml")
    shutil.copytree(REPO / "inventory", site / "inventory")
    requests = site / "inventory" / "requests"
    shutil.rmtree(requests)
    requests.mkdir()
    for i in range(count):
        (requests / f"fgw-b{i:03d}.yml").write_text(REQUEST.format(i=i), encoding="utf-8")
    return site


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system, all processes) of one run (it must succeed)."""
    env = {**os.environ, "DCOPS_USER": "zhangwei", "NO_COLOR": "1"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=cwd, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def median(runs: list[tuple[float, float]], index: int) -> float:
    """The median of the wall (0) or CPU (1) seconds of some runs."""
    return statistics.median(r[index] for r in runs)


def resources_per_tenancy(site: Path) -> tuple[int, int]:
    """Custom resources and components of one benchmark tenancy, from a JSON plan."""
    import json

    dcops = str(Path(sys.executable).parent / "dcops")
    env = {**os.environ, "DCOPS_USER": "zhangwei"}
    done = subprocess.run(
        [dcops, "plan", "fgw-b000", "-o", "json"],
        cwd=site,
        env=env,
        check=True,
        capture_output=True,
    )
    first = json.loads(done.stdout)["tenancies"][0]
    return first["summary"]["resources"], first["summary"]["components"]


def main() -> None:
    """Measure both in the same run, several times each, and write the table."""
    dcops = str(Path(sys.executable).parent / "dcops")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in SIZES:
            site = make_site(Path(tmp), count)
            plain = [timed([sys.executable, "-c", PLAIN, str(site)], site) for _ in range(RUNS)]
            ours = [timed([dcops, "plan", "--all", "-o", "json"], site) for _ in range(RUNS)]
            if count == 1:
                custom, components = resources_per_tenancy(site)
            rows.append(
                f"| {count} | {count * (custom + components)} | {median(plain, 0):.2f} | "
                f"{median(ours, 0):.2f} | {median(plain, 1):.2f} | {median(ours, 1):.2f} |"
            )
    table = "\n".join(
        [
            f"Median of {RUNS} runs each, including start-up, same machine, same run "
            f"(`make bench`), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the "
            "end. CPU is user + system time of all processes of the run. "
            f"One benchmark tenancy = {custom} resources + {components} components (one server behind a load balancer, one network, "
            "security group, quotas, a Kubernetes namespace with its fences).",
            "",
            "| tenancies | registrations | plain mocks wall (s) | `dcops plan --all` wall (s) "
            "| plain mocks CPU (s) | `dcops plan --all` CPU (s) |",
            "|---|---|---|---|---|---|",
            *rows,
        ]
    )
    record("plan", table)
    print(table)


if __name__ == "__main__":
    main()
