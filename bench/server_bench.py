"""`dcops serve` under 50 concurrent clients: authenticated reads and submits against a bare endpoint.

Starts a real server (HTTPS, uvicorn) on a free loopback port in a copy of the example site,
gives the department person wanglei an account with the CLI, then runs three phases with
the same 50 concurrent httpx clients, each bounded in count and time: GET /healthz (the
floor: the same ASGI server with no authentication, store or audit), GET /api/v1/tenancies
with a bearer token, and POST /api/v1/tenancies (a submit: validation, the store's write
lock, the audit entry and its signed checkpoint). Also times one Argon2id hash. Results go
to docs/performance.md (section `server`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from record import record  # noqa: E402

from dcops.server.passwords import MEMORY_KIB, PARALLELISM, TIME_COST  # noqa: E402

DCOPS = Path(sys.executable).parent / "dcops"
CLIENTS = 50
READS = 1000
SUBMITS = 200
PHASE_LIMIT_S = 300
PASSWORD = "Bench-Passw0rd-2026"
TARGETS = {"read": 0.050, "submit": 0.200}


def _env(user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCOPS_")}
    env.update({"DCOPS_USER": user, "NO_COLOR": "1", "COLUMNS": "100"})
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _site(folder: Path) -> Path:
    site = folder / "site"
    site.mkdir()
    for name in ("dcops.toml", "inventory", "playbooks", "monitors"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, site / name)
    return site


def _argon2_ms() -> tuple[float, float]:
    """The median and the fastest of 10 password checks, in ms."""
    from dcops.server.passwords import hash_password, verify_password

    encoded = hash_password(PASSWORD)
    times = []
    for _ in range(10):
        started = time.perf_counter()
        verify_password(encoded, PASSWORD)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), min(times)


def _request(i: int) -> str:
    text = (ROOT / "inventory/requests/fgw-production.yml").read_text(encoding="utf-8")
    text = text.replace("environment: production", f"name: fgw-bench{i}\nenvironment: production")
    text = text.replace("namespace: fgw\n", f"namespace: fgw-bench{i}\n")  # one per tenancy
    return text.replace("192.168.10.0/24", f"172.{16 + i // 256}.{i % 256}.0/24")


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"n": len(ordered), "p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


async def _phase(client: httpx.AsyncClient, count: int, call: object) -> tuple[list[float], int]:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(count):
        queue.put_nowait(i)
    samples: list[float] = []
    failures = 0
    deadline = time.monotonic() + PHASE_LIMIT_S

    async def worker() -> None:
        nonlocal failures
        while not queue.empty() and time.monotonic() < deadline:
            i = queue.get_nowait()
            started = time.perf_counter()
            try:
                response = await call(client, i)  # type: ignore[operator]
            except httpx.HTTPError:
                failures += 1  # counted, not timed: a dropped connection is not a latency
                continue
            samples.append(time.perf_counter() - started)
            if response.status_code >= 400:
                failures += 1

    await asyncio.gather(*(worker() for _ in range(CLIENTS)))
    return samples, failures


async def _load(url: str, ca: Path, token: str) -> dict[str, dict[str, float]]:
    trust = ssl.create_default_context(cafile=str(ca))
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, verify=trust, limits=limits, timeout=120) as client:

        async def bare(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/healthz")

        async def read(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.get("/api/v1/tenancies", headers=headers)

        async def submit(c: httpx.AsyncClient, i: int) -> httpx.Response:
            return await c.post(
                "/api/v1/tenancies",
                content=_request(i),
                headers={**headers, "Content-Type": "application/yaml"},
            )

        await _phase(client, CLIENTS, bare)  # warm the connections
        results = {}
        for name, call, count in (("floor", bare, READS), ("read", read, READS),
                                  ("submit", submit, SUBMITS)):  # fmt: skip
            samples, failures = await _phase(client, count, call)
            results[name] = {**_percentiles(samples), "failures": failures}
    return results


def main() -> None:
    """Run the benchmark and record it."""
    with tempfile.TemporaryDirectory(prefix="dcops-server-bench-") as folder:
        site = _site(Path(folder))
        added = subprocess.run(
            [str(DCOPS), "users", "add", "wanglei", "--output", "json"], cwd=site,
            env=_env("zhouqiang"), capture_output=True, text=True, check=True,
        )  # fmt: skip
        one_time = json.loads(added.stdout)["one_time_password"]
        port = _free_port()
        log = (site / "serve.log").open("wb")
        server = subprocess.Popen(
            [str(DCOPS), "serve", "--port", str(port)], cwd=site, env=_env("zhangwei"),
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            url = f"https://127.0.0.1:{port}"
            ca = site / ".dcops" / "server" / "tls" / "ca.pem"
            deadline = time.monotonic() + 120
            while True:
                try:
                    trust = ssl.create_default_context(cafile=str(ca))
                    if httpx.get(f"{url}/healthz", verify=trust, timeout=10).status_code == 200:
                        break
                except (httpx.HTTPError, OSError):
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise SystemExit("dcops serve did not start") from None
                    time.sleep(0.5)
            with httpx.Client(base_url=url, verify=trust, timeout=60) as client:
                changed = client.post("/api/v1/auth/password", json={
                    "user": "wanglei", "password": one_time, "new_password": PASSWORD})  # fmt: skip
                assert changed.status_code == 200, changed.text
                token = client.post("/api/v1/auth/token", json={
                    "user": "wanglei", "password": PASSWORD}).json()["token"]  # fmt: skip
                # A request no client sends: it waits for the policy workers' warm-up, so
                # the phases measure a started server, and it leaves no verdict to reuse.
                warmed = client.post(
                    "/api/v1/tenancies/validate", content=_request(SUBMITS + 1),
                    headers={"Authorization": f"Bearer {token}",
                             "Content-Type": "application/yaml"},
                )  # fmt: skip
                assert warmed.status_code == 200, warmed.text
            results = asyncio.run(_load(url, ca, token))
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
            log.close()
    argon2 = _argon2_ms()
    load = os.getloadavg()[0]
    floor = results["floor"]["p95"]
    lines = [
        f"{CLIENTS} concurrent clients over HTTPS on loopback, one uvicorn worker; "
        f"{READS} reads, {SUBMITS} submits (bounded at {PHASE_LIMIT_S} s a phase); the clients "
        f"run on the same {os.cpu_count()} cores; load average at the end {load:.1f}.",
        "",
        "| request | n | failures | p50 ms | p95 ms | p99 ms | target p95 | p95 / floor |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in ("floor", "read", "submit"):
        r = results[name]
        target = f"≤ {TARGETS[name] * 1000:.0f} ms" if name in TARGETS else "—"
        ratio = f"{r['p95'] / floor:.1f}×" if name != "floor" else "1×"
        lines.append(
            f"| {name} | {r['n']:.0f} | {r['failures']:.0f} | {r['p50']:.1f} | {r['p95']:.1f} "
            f"| {r['p99']:.1f} | {target} | {ratio} |"
        )
    lines += [
        "",
        f"One Argon2id password check ({MEMORY_KIB // 1024} MiB, {TIME_COST} passes, "
        f"{PARALLELISM} lane): {argon2[0]:.0f} ms (median of 10; fastest {argon2[1]:.0f} ms).",
    ]
    body = "\n".join(lines)
    print(body)
    record("server", body)


if __name__ == "__main__":
    main()
