"""The console's room page: server render time and first paint in Debian's Chromium, at the
example room and at a generated room of 1,000 devices; and 50 wall screens watching at once.

A real `dcops serve` (HTTPS, uvicorn) runs in a copy of the site; Prometheus, Alertmanager and
the exporter are stand-ins on loopback that answer at once from memory (one sample per device for each
series, 20 active alerts), so the numbers are the console's own cost: reading both, building
the floor plan, rendering it, and the browser drawing it. First paint is measured twice: a
second after someone else looked (the page opens with the reading viewers share) and as the
first viewer in a while (the server keeps a reading at most a few seconds old while nobody
watches, so the page need not wait for one; that keeping's CPU is measured with nobody
watching). The floors in the same run are
GET /healthz on the same server and the first paint of the small login page. Results go to docs/performance.md (section `console`).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from record import record  # noqa: E402

from dcops.server.console_room import SHARED_SECONDS  # noqa: E402

DCOPS = Path(sys.executable).parent / "dcops"
PASSWORD = "Bench-Passw0rd-2026"
RENDERS = 15
PAINTS = 5
VIEWERS = 50
VIEW_SECONDS = 30
IDLE_SECONDS = 30
POLL_SECONDS = 2
TARGET_PAINT_MS = 1000


def _env(user: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DCOPS_")}
    env.update({"DCOPS_USER": user, "NO_COLOR": "1", "COLUMNS": "100"})
    return env


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _site(folder: Path, big: bool) -> Path:
    site = folder / ("site-1000" if big else "site")
    site.mkdir()
    for name in ("dcops.toml", "inventory", "playbooks", "monitors"):
        source = ROOT / name
        (shutil.copytree if source.is_dir() else shutil.copy2)(source, site / name)
    if big:
        _generate_room(site / "inventory")
    return site


def _generate_room(inventory: Path) -> None:
    """One room of 20 rows × 25 racks, each rack with an inlet sensor and a PDU: 1,000 devices."""
    rows, racks = [], []
    for r in range(20):
        row = chr(ord("A") + r)
        names = [f"{row}{n:02d}" for n in range(1, 26)]
        rows.append(
            {"name": row, "racks": [{"name": n, "units": 42, "power_kw": 8} for n in names]}
        )
        racks += names
    rooms = {
        "rooms": [{"name": "r301", "title": "生成的机房 generated room", "floor": 3, "rows": rows}]
    }
    (inventory / "rooms.yml").write_text(
        yaml.safe_dump(rooms, allow_unicode=True), encoding="utf-8"
    )
    devices = []
    for i, rack in enumerate(racks):
        devices.append({"name": f"env-{rack.lower()}", "kind": "env-sensor", "room": "r301",
                        "rack": rack, "position": 42, "protocol": "modbus",
                        "address": f"10.40.{i // 250}.{i % 250 + 1}", "unit": 1,
                        "profile": "env-sensor"})  # fmt: skip
        devices.append({"name": f"pdu-{rack.lower()}", "kind": "pdu", "room": "r301",
                        "rack": rack, "position": 1, "protocol": "snmp",
                        "address": f"10.41.{i // 250}.{i % 250 + 1}", "profile": "apc-rack-pdu",
                        "community": {"env": "DCOPS_SNMP_COMMUNITY"}})  # fmt: skip
    text = yaml.safe_dump({"devices": devices}, allow_unicode=True, sort_keys=False)
    (inventory / "devices.yml").write_text(text, encoding="utf-8")


class StandIns:
    """Prometheus' query API, Alertmanager's alerts API and the exporter's /metrics, answered
    from memory."""

    def __init__(self, devices: list[dict[str, Any]]) -> None:
        self.devices = devices
        self.servers = [self._serve(self._prometheus), self._serve(self._alertmanager),
                        self._serve(self._exporter)]  # fmt: skip

    @property
    def ports(self) -> tuple[int, int, int]:
        """Prometheus', Alertmanager's and the exporter's ports."""
        return tuple(s.server_address[1] for s in self.servers)  # type: ignore[return-value]

    def _serve(self, answer: Any) -> ThreadingHTTPServer:
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = answer(self.path)
                text = isinstance(found, str)
                body = found.encode() if text else json.dumps(found).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet."""

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server

    def _prometheus(self, path: str) -> dict[str, Any]:
        query = urllib.parse.parse_qs(urllib.parse.urlparse(path).query).get("query", [""])[0]
        now = time.time()
        values = {"temperature": 23.4, "humidity": 0.45, "power_watts": 5200.0, "device_up": 1.0,
                  "timestamp": now}  # fmt: skip
        if query.startswith("up{"):
            result = [{"metric": {"instance": "127.0.0.1:9810"}, "value": [now, "1"]}]
        elif query.startswith("max("):  # an aggregate is one sample without labels
            result = [{"metric": {}, "value": [now, str(now)]}]
        else:
            value = next((v for k, v in values.items() if k in query), 1.0)
            result = [{"metric": {"device": d["name"], "rack": d.get("rack", "")},
                       "value": [now, str(value)]} for d in self.devices]  # fmt: skip
        return {"status": "success", "data": {"resultType": "vector", "result": result}}

    def _exporter(self, path: str) -> str:
        """The exporter's /metrics: every device's series (asked with ?after=N, it answers at
        once, as after a poll; the console then reads it at its own pace)."""
        now = time.time()
        lines = []
        for d in self.devices:
            labels = f'site="gdc",room="r301",rack="{d.get("rack", "")}",device="{d["name"]}"'
            lines.append(f"dcops_dcim_device_up{{{labels}}} 1")
            lines.append(f"dcops_dcim_device_last_success_timestamp_seconds{{{labels}}} {now}")
            if d["kind"] == "env-sensor":
                lines.append(f"dcops_dcim_env_temperature_celsius{{{labels}}} 23.4")
                lines.append(f"dcops_dcim_env_humidity_ratio{{{labels}}} 0.45")
            elif d["kind"] == "pdu":
                lines.append(f"dcops_dcim_pdu_power_watts{{{labels}}} 5200")
        return "\n".join(lines) + "\n"

    def _alertmanager(self, path: str) -> list[dict[str, Any]]:
        if "silences" in path:
            return []
        return [{"labels": {"alertname": "InletTemperatureHigh", "severity": "warning",
                            "site": "gdc", "room": "r301", "rack": d.get("rack", ""),
                            "device": d["name"]},
                 "annotations": {"summary": f"机柜 {d.get('rack')} 进风温度高 / inlet high",
                                 "runbook_url": "https://runbooks.example/inlet"},
                 "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
                 "startsAt": "2026-01-01T00:00:00Z", "fingerprint": f"{i:016x}"}
                for i, d in enumerate(self.devices[:20])]  # fmt: skip

    def close(self) -> None:
        """Stop both."""
        for server in self.servers:
            server.shutdown()
            server.server_close()


def _point_monitors(site: Path, prometheus: int, alertmanager: int, exporter: int) -> None:
    text = (site / "dcops.toml").read_text(encoding="utf-8")
    text = text.replace("prometheus_port = 9090", f"prometheus_port = {prometheus}")
    text = text.replace("alertmanager_port = 9093", f"alertmanager_port = {alertmanager}")
    text = text.replace('exporters = ["127.0.0.1:9810"]', f'exporters = ["127.0.0.1:{exporter}"]')
    (site / "dcops.toml").write_text(text, encoding="utf-8")


class Server:
    """`dcops serve` in the site, with a facility person logged in."""

    def __init__(self, site: Path) -> None:
        self.site = site
        self.port = _free_port()
        self.url = f"https://127.0.0.1:{self.port}"
        self.ca = site / ".dcops" / "server" / "tls" / "ca.pem"
        added = subprocess.run(
            [str(DCOPS), "users", "add", "zhaomin", "--output", "json"], cwd=site,
            env=_env("zhouqiang"), capture_output=True, text=True, check=True,
        )  # fmt: skip
        self.one_time = json.loads(added.stdout)["one_time_password"]
        self.log = (site / "serve.log").open("wb")
        self.process = subprocess.Popen(
            [str(DCOPS), "serve", "--port", str(self.port)], cwd=site, env=_env("zhangwei"),
            stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self._wait()
        with self.client() as client:
            changed = client.post("/api/v1/auth/password", json={
                "user": "zhaomin", "password": self.one_time, "new_password": PASSWORD})  # fmt: skip
            assert changed.status_code == 200, changed.text
            login = client.post(
                "/api/v1/auth/login", json={"user": "zhaomin", "password": PASSWORD}
            )
            assert login.status_code == 200, login.text
            self.cookie = login.cookies["dcops_session"]

    def client(self) -> httpx.Client:
        """A client that trusts the site's CA."""
        return httpx.Client(base_url=self.url, verify=ssl.create_default_context(cafile=str(self.ca)),
                            timeout=60)  # fmt: skip

    def _wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if self.ca.exists():
                    with self.client() as client:
                        if client.get("/healthz").status_code == 200:
                            return
            except (httpx.HTTPError, OSError):
                pass
            if self.process.poll() is not None:
                break
            time.sleep(0.5)
        raise SystemExit(f"dcops serve did not start: {(self.site / 'serve.log').read_text()}")

    def cpu_seconds(self) -> float:
        """The server process' user + system CPU time so far."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the server."""
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)
        self.log.close()


def _idle_cpu(server: Server) -> float:
    """The server's CPU (% of one core) while nobody watches: the background reading's cost."""
    cpu, wall = server.cpu_seconds(), time.perf_counter()
    time.sleep(IDLE_SECONDS)
    return 100 * (server.cpu_seconds() - cpu) / (time.perf_counter() - wall)


def _render_ms(server: Server) -> dict[str, float]:
    """Median time of GET /healthz, of the room's live part when it reads Prometheus and
    Alertmanager afresh, and of the whole page with the reading viewers share."""
    cookies = {"dcops_session": server.cookie}
    found: dict[str, list[float]] = {"floor": [], "fresh": [], "cached": []}
    with server.client() as client:
        client.get("/console/room", cookies=cookies)  # warm: imports, templates
        for _ in range(RENDERS):
            for name, path in (("floor", "/healthz"), ("fresh", "/console/room/live"),
                               ("cached", "/console/room")):  # fmt: skip
                started = time.perf_counter()
                reply = client.get(path, cookies=cookies)
                found[name].append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200, reply.text[:300]
            time.sleep(1.1)  # past the one-second reading the viewers share
    return {name: statistics.median(values) for name, values in found.items()}


# The paint entry can come after the load event: wait for it (bounded).
PAINT_TIMING = """() => new Promise(done => {
  const read = () => ({
    fcp: performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    load: performance.getEntriesByType('navigation')[0].domComplete});
  if (read().fcp !== null) { done(read()); return; }
  new PerformanceObserver(() => done(read())).observe({type: 'paint', buffered: true});
  setTimeout(() => done(read()), 10000);
})"""


def _paint_ms(server: Server, idle: float, path: str = "/console/room") -> dict[str, float]:
    """Median first contentful paint and DOM complete of a page (the room page unless told) in
    Chromium, each load after `idle` seconds in which nobody looked at the room."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (scripts/apt-packages.txt)")
    paints, loads = [], []
    with sync_playwright() as driver:
        args = ["--no-sandbox"] if os.geteuid() == 0 else []
        browser = driver.chromium.launch(executable_path=chromium, headless=True, args=args)
        for _ in range(PAINTS):
            # bypass_csp: the page forbids eval, which reading the timings needs
            context = browser.new_context(base_url=server.url, ignore_https_errors=True,
                                          viewport={"width": 1280, "height": 800}, bypass_csp=True)  # fmt: skip
            context.add_cookies([{"name": "dcops_session", "value": server.cookie,
                                  "url": server.url}])  # fmt: skip
            page = context.new_page()
            time.sleep(idle)
            page.goto(path, wait_until="load")
            timing = page.evaluate(PAINT_TIMING)
            if timing["fcp"] is None:
                raise SystemExit("Chromium reported no first-contentful-paint within 10 s")
            paints.append(float(timing["fcp"]))
            loads.append(float(timing["load"]))
            context.close()
        browser.close()
    return {"paint": statistics.median(paints), "complete": statistics.median(loads)}


async def _viewers(server: Server) -> dict[str, float]:
    """VIEWERS wall screens keeping their live part current for VIEW_SECONDS: the server's CPU
    (and how long each request took, which includes the time the server held it)."""
    trust = ssl.create_default_context(cafile=str(server.ca))
    limits = httpx.Limits(max_connections=VIEWERS, max_keepalive_connections=VIEWERS)
    cookies = {"dcops_session": server.cookie}
    times: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=server.url, verify=trust, limits=limits,
                                 cookies=cookies, timeout=60) as client:  # fmt: skip

        async def screen(i: int) -> None:
            nonlocal failures
            await asyncio.sleep(POLL_SECONDS * i / VIEWERS)  # screens are not in step
            # as the page does: ask for a room newer than the one shown; the server holds the
            # request until it has built one (each exporter read, at least every 3 s)
            shown = ""
            end = time.perf_counter() + VIEW_SECONDS
            while time.perf_counter() < end:
                started = time.perf_counter()
                after = f"&after={shown}" if shown else ""
                reply = await client.get(f"/console/room/live?wall=true{after}")
                times.append(time.perf_counter() - started)
                failures += reply.status_code != 200
                found = re.search(r'data-version="(\d+)"', reply.text)
                shown = found[1] if found else ""
                if reply.status_code != 200:
                    await asyncio.sleep(POLL_SECONDS)

        cpu, wall = server.cpu_seconds(), time.perf_counter()
        await asyncio.gather(*(screen(i) for i in range(VIEWERS)))
        cpu, wall = server.cpu_seconds() - cpu, time.perf_counter() - wall
    ordered = sorted(times)
    return {"cpu": 100 * cpu / wall, "p95": ordered[int(0.95 * len(ordered))] * 1000,
            "n": len(ordered), "failures": failures}  # fmt: skip


def _measure(site: Path) -> dict[str, Any]:
    from dcops.core.loader import load_site

    loaded = load_site(site)
    devices = [d.model_dump() for d in loaded.devices]
    stand_ins = StandIns(devices)
    _point_monitors(site, *stand_ins.ports)
    server = Server(site)
    try:
        found: dict[str, Any] = {"devices": len(devices),
                                 "racks": sum(len(r.racks()) for r in loaded.rooms)}  # fmt: skip
        found.update(_render_ms(server))
        found["idle_cpu"] = _idle_cpu(server)
        found.update(_paint_ms(server, 1.1))  # someone looked a second ago: a shared reading
        alone = _paint_ms(server, SHARED_SECONDS + 0.5)  # the first viewer in a while
        found.update({"paint_alone": alone["paint"], "complete_alone": alone["complete"]})
        found["paint_floor"] = _paint_ms(server, 0.0, "/console/login")["paint"]  # the peer
        found["viewers"] = asyncio.run(_viewers(server))
        found["bytes"] = len(server.client().get("/console/room", cookies={
            "dcops_session": server.cookie}).content)  # fmt: skip
    finally:
        server.stop()
        stand_ins.close()
    return found


def main() -> None:
    """Run the benchmark and record it."""
    results = {}
    with tempfile.TemporaryDirectory(prefix="dcops-console-bench-") as folder:
        for big in (False, True):
            results["1,000 devices" if big else "example room"] = _measure(_site(Path(folder), big))
    load = os.getloadavg()[0]
    lines = [
        f"A real `dcops serve` (HTTPS, one uvicorn worker) with Prometheus, Alertmanager and "
        f"exporter stand-ins answering from memory; Debian's Chromium {_chromium_version()} "
        f"headless at 1280×800; medians of {RENDERS} renders and {PAINTS} page loads; "
        f"{VIEWERS} wall screens for {VIEW_SECONDS} s, each asking for the next room as the page "
        f"does (the server holds the request until it has built a newer one). The stand-in "
        f"exporter's readings are new at every read, so the room changes about once a second: "
        f"a worst case (a real exporter's change at most once a poll, 10 s at the example site). "
        f"{os.cpu_count()} cores shared with the clients and the browser; load average at the "
        f"end {load:.1f}.",
        "",
        "| room | devices | racks | page KB | /healthz ms (floor) | live part ms, fresh reading "
        "| page ms, shared reading | login page first paint ms (floor) | first paint ms "
        "| DOM complete ms | first paint ms, first viewer in a while | target paint |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results.items():
        worst = max(r["paint"], r["paint_alone"])
        verdict = "met" if worst <= TARGET_PAINT_MS else "MISSED"
        lines.append(
            f"| {name} | {r['devices']} | {r['racks']} | {r['bytes'] / 1024:.0f} | {r['floor']:.1f} "
            f"| {r['fresh']:.1f} | {r['cached']:.1f} | {r['paint_floor']:.0f} | {r['paint']:.0f} "
            f"| {r['complete']:.0f} "
            f"| {r['paint_alone']:.0f} | ≤ {TARGET_PAINT_MS} ms: {verdict} |"
        )
    lines += ["", f"| room | {VIEWERS} wall screens: server CPU (% of one core) | live p95 ms | "
              "polls | failures | nobody watching: server CPU |",
              "|---|---|---|---|---|---|"]  # fmt: skip
    for name, r in results.items():
        v = r["viewers"]
        lines.append(f"| {name} | {v['cpu']:.0f} % | {v['p95']:.0f} | {v['n']} | {v['failures']} "
                     f"| {r['idle_cpu']:.1f} % |")  # fmt: skip
    record("console", "\n".join(lines))
    print("\n".join(lines))


def _chromium_version() -> str:
    done = subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False)
    return done.stdout.split()[1] if done.returncode == 0 and len(done.stdout.split()) > 1 else "?"


if __name__ == "__main__":
    main()
