"""How long a value change at a device takes to show on the facility page, stage by stage.

Everything is real and on loopback: the simulated room (`dcops dcim simulate`), the exporter
(`dcops dcim serve`), Prometheus and Alertmanager (`dcops monitors up`), a real `dcops serve`,
and the room page open in Debian's Chromium, as it is on a wall.

Each change is the inlet temperature of rack A01's sensor (env-a01) crossing a line: the
simulation is switched to the overheat scenario (the inlet climbs 0.5 °C/s) and the change is
the sensor first serving ≥ 25 °C; then back to normal, and the change is the sensor first
serving ≤ 24 °C again (the normal inlet is 22.3-23.3 °C). One thread reads the sensor itself
over Modbus, the exporter's /metrics and a Prometheus instant query every 50 ms and notes when
each first shows the new side of the line; in the page, a MutationObserver on the live part
notes when the rack's shown value first does. The page's way is device → exporter (the
exporter's poll) → page (the server reads each exporter again as soon as a poll ends, with
`/metrics?after=N`, builds the room and answers the page's held request). Prometheus is on the
alerts' way only; when it has the change is noted beside. Before each switch the bench pauses
a random time up to one poll interval, so that changes fall at random moments of it.

Two settings are run: the short intervals of the end-to-end tests, and the example site's own
(poll 10 s, the `dcops dcim serve` default; scrape 15 s).

Reproduce with `nice -n 5 .venv/bin/python bench/console_delay.py` (about 5 minutes; needs
Debian's chromium, snmpd, prometheus and prometheus-alertmanager). It rewrites the section
`console-delay` of docs/performance.md.
"""

from __future__ import annotations

import asyncio
import math
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from dcops.core.monitoring import duration_seconds  # noqa: E402
from tests.conftest import DCOPS, copy_site, dcops_env  # noqa: E402
from tests.integration.monitors_stack import set_monitors  # noqa: E402
from tests.integration.server.live_server import NEW_PASSWORD, LiveServer  # noqa: E402

RACK, DEVICE = "A01", "env-a01"
METRIC = "dcops_dcim_env_temperature_celsius"
HIGH, LOW = 25.0, 24.0  # °C: the overheat change is ≥ HIGH, the return to normal ≤ LOW
PROBE_EVERY = 0.05  # s between the probe thread's readings of device, exporter and Prometheus
SIM_TICK = 0.2
BUDGET = 540  # s for the whole run: rounds stop early rather than run past it
USER = "zhaomin"
CHANCE = random.Random()  # the pauses before changes


@dataclass
class Setting:
    """One set of intervals to measure at."""

    name: str
    poll: float  # the exporter's --interval, s
    monitors: dict[str, object]
    rounds: int  # each round is two changes: up over HIGH, back under LOW

    @property
    def scrape(self) -> float:
        """Prometheus' scrape interval, s."""
        return duration_seconds(str(self.monitors.get("scrape_interval", "15s")))

    @property
    def cycle(self) -> float:
        """The page's path has one schedule left, the exporter's poll: pauses span one of it."""
        return min(60.0, self.poll)

    @property
    def floor(self) -> float:
        """The longest a change may wait for the interval alone: a change just after a poll."""
        return self.poll


SHORT = {"scrape_interval": "500ms", "evaluation_interval": "1s"}
SETTINGS = [
    Setting("short (end-to-end tests)", 0.5, SHORT, 10),
    Setting("example site", 10.0, {}, 5),
]


class Stack:
    """Simulation, exporter, Prometheus and Alertmanager, and `dcops serve`, in one site copy."""

    def __init__(self, folder: Path, setting: Setting) -> None:
        self.site = copy_site(folder / "site")
        self.setting = setting
        self.env = dcops_env()
        self.exporter: subprocess.Popen[str] | None = None
        self.server: LiveServer | None = None
        self.exporter_url = ""

    def run(self, *args: str) -> None:
        """Run dcops in the site; stop with its output if it fails."""
        done = subprocess.run([str(DCOPS), *args], cwd=self.site, env=self.env, text=True,
                              capture_output=True, timeout=180, stdin=subprocess.DEVNULL)  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"dcops {' '.join(args)} exited {done.returncode}: {done.stderr}")

    def start(self) -> None:
        """Start every part, each waited for."""
        self.run("dcim", "simulate", "--scenario", "normal", "--tick", str(SIM_TICK), "--detach")
        self.exporter = subprocess.Popen(
            [str(DCOPS), "dcim", "serve", "--listen", "127.0.0.1:0",
             "--interval", str(self.setting.poll)],
            cwd=self.site, env=self.env, text=True, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        address = _serving_address(self.exporter)
        self.exporter_url = f"http://{address}/metrics"
        set_monitors(self.site, exporters=[address], **self.setting.monitors)
        self.run("monitors", "up")
        self.server = LiveServer(self.site)
        self.server.start()
        self.server.account(USER, second_factor=False)

    def site_model(self) -> Any:
        """The site as dcops loads it (after the monitors' ports were set)."""
        from dcops.core.loader import load_site

        return load_site(self.site)

    def device_port(self) -> int:
        """The loopback port the simulation serves the sensor on."""
        from dcops.dcim.simulation.overlay import read_overlay

        overlay = read_overlay(self.site_model()) or {}
        return int(overlay["devices"][DEVICE]["port"])

    def scenario(self, name: str) -> None:
        """Switch the running simulation (it reads the switch every tick)."""
        from dcops.dcim.simulation.overlay import set_scenario

        set_scenario(self.site_model(), name)

    def stop(self) -> None:
        """Stop what was started, each by its own pid or its own command."""
        if self.server is not None:
            self.server.stop()
        subprocess.run([str(DCOPS), "monitors", "down"], cwd=self.site, env=self.env,
                       capture_output=True, timeout=60)  # fmt: skip
        if self.exporter is not None and self.exporter.poll() is None:
            os.killpg(self.exporter.pid, signal.SIGTERM)
            try:
                self.exporter.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.exporter.pid, signal.SIGKILL)
                self.exporter.wait(timeout=10)
        subprocess.run([str(DCOPS), "dcim", "simulate", "stop"], cwd=self.site, env=self.env,
                       capture_output=True, timeout=60)  # fmt: skip


_SERVING = re.compile(r"http://(127\.0\.0\.1:\d+)/metrics")


def _serving_address(process: subprocess.Popen[str]) -> str:
    """The exporter's address from its first lines; the rest of its output is drained."""
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = _SERVING.search(line)
        if match:
            threading.Thread(target=_drain, args=(process,), daemon=True).start()
            return match[1]
    raise SystemExit(f"dcops dcim serve did not say where it serves: {''.join(seen)}")


def _drain(process: subprocess.Popen[str]) -> None:
    assert process.stdout is not None
    for _ in process.stdout:
        pass


def _crossed(value: float | None, side: str) -> bool:
    """Whether a reading is on the side, as the page would show it (to one decimal)."""
    if value is None or math.isnan(value):
        return False
    shown = round(value, 1)
    return shown >= HIGH if side == "up" else shown <= LOW


@dataclass
class Probe:
    """Reads the sensor, the exporter and Prometheus every PROBE_EVERY s in its own thread and
    notes when each first shows the armed side of the line."""

    device_port: int
    exporter_url: str
    prometheus_url: str
    side: str = "down"
    seen: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stopping: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)

    def arm(self, side: str) -> None:
        """Forget what was seen and watch for the given side from now on."""
        with self.lock:
            self.side, self.seen = side, {}

    def found(self) -> dict[str, float]:
        """The stages seen so far since the last arm, with their wall-clock times."""
        with self.lock:
            return dict(self.seen)

    def start(self) -> threading.Thread:
        """Run the readings in a thread until stop()."""
        thread = threading.Thread(target=lambda: asyncio.run(self._loop()), daemon=True)
        thread.start()
        return thread

    def stop(self) -> None:
        """End the readings."""
        self.stopping.set()

    async def _loop(self) -> None:
        from dcops.dcim.modbus.client import ModbusTcpClient

        sensor = ModbusTcpClient("127.0.0.1", self.device_port, timeout=1.0, retries=0)
        query = f'{METRIC}{{device="{DEVICE}"}}'
        prometheus = f"{self.prometheus_url}/api/v1/query?" + urllib.parse.urlencode(
            {"query": query}
        )
        readers = {
            "device": lambda: self._device(sensor),
            "exporter": lambda: self._exporter(client),
            "prometheus": lambda: self._prometheus(client, prometheus),
        }
        async with httpx.AsyncClient(timeout=2.0) as client:
            while not self.stopping.is_set():
                started = time.monotonic()
                for stage, read in readers.items():
                    with self.lock:
                        side, done = self.side, stage in self.seen
                    if done:
                        continue
                    try:
                        value = await read()
                    except Exception as exc:  # a failed reading is noted and retried
                        self.errors.append(f"{stage}: {exc}")
                        continue
                    at = time.time()
                    with self.lock:
                        if side == self.side and _crossed(value, side):
                            self.seen.setdefault(stage, at)
                await asyncio.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))
        await sensor.close()

    @staticmethod
    async def _device(sensor: Any) -> float:
        (word,) = await sensor.read(1, 4, 0, 1)  # input register 0: int16, hundredths of °C
        return (word - 65536 if word >= 32768 else word) / 100

    async def _exporter(self, client: httpx.AsyncClient) -> float | None:
        text = (await client.get(self.exporter_url)).text
        for line in text.splitlines():
            if line.startswith(METRIC + "{") and f'device="{DEVICE}"' in line:
                return float(line.rsplit(" ", 1)[1])
        return None

    @staticmethod
    async def _prometheus(client: httpx.AsyncClient, url: str) -> float | None:
        result = (await client.get(url)).json()["data"]["result"]
        return float(result[0]["value"][1]) if result else None


# In the page: note (wall clock, ms) when the rack's shown value is first on the given side, and
# when the request for the live part that brought it was sent (from the Resource Timing entries).
ARM = """([rack, side, high, low]) => {
  window.dcopsSeen = null;
  const check = () => {
    const cell = document.querySelector(`[data-rack="${rack}"] .value`);
    const value = cell ? parseFloat(cell.textContent) : NaN;
    const over = side === "up" ? value >= high : value <= low;
    if (window.dcopsSeen !== null || !over) return;
    window.dcopsSeen = {shown: Date.now()};
  };
  if (window.dcopsWatch) window.dcopsWatch.disconnect();
  window.dcopsWatch = new MutationObserver(check);
  window.dcopsWatch.observe(document.getElementById("live"),
                            {childList: true, subtree: true, characterData: true});
  check();
}"""


@dataclass
class Change:
    """One change's wall-clock times: switch asked, then first seen at each stage."""

    side: str
    asked: float
    device: float
    exporter: float
    prometheus: float | None  # the alerts' way, no longer the page's: None if not seen in time
    page: float


def _measure(setting: Setting, deadline: float) -> tuple[list[Change], list[str]]:
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("Debian's chromium is not installed (scripts/apt-packages.txt)")
    changes: list[Change] = []
    with tempfile.TemporaryDirectory(prefix="dcops-console-delay-") as folder:
        stack = Stack(Path(folder), setting)
        probe: Probe | None = None
        try:
            stack.start()
            assert stack.server is not None
            probe = Probe(stack.device_port(), stack.exporter_url,
                          stack.site_model().config.monitors.prometheus_url.rstrip("/"))  # fmt: skip
            probe.start()
            with stack.server.client() as client:
                login = client.post("/api/v1/auth/login",
                                    json={"user": USER, "password": NEW_PASSWORD})  # fmt: skip
                assert login.status_code == 200, login.text
                cookie = login.cookies["dcops_session"]
            wait_ms = int((3 * setting.floor + 30) * 1000)
            with sync_playwright() as driver:
                args = ["--no-sandbox"] if os.geteuid() == 0 else []
                browser = driver.chromium.launch(executable_path=chromium, headless=True, args=args)
                # bypass_csp: the page forbids eval, which the page-side watch needs
                context = browser.new_context(base_url=stack.server.url, ignore_https_errors=True,
                                              viewport={"width": 1280, "height": 800},
                                              bypass_csp=True)  # fmt: skip
                context.add_cookies([{"name": "dcops_session", "value": cookie,
                                      "url": stack.server.url}])  # fmt: skip
                page = context.new_page()
                page.goto("/console/room")
                # the rack shows a normal reading before the first change
                page.evaluate(ARM, [RACK, "down", HIGH, LOW])
                page.wait_for_function("() => window.dcopsSeen", timeout=wait_ms)
                for _ in range(setting.rounds):
                    for side, scenario in (("up", "overheat"), ("down", "normal")):
                        # a random pause over a whole cycle of the schedules, so that changes
                        # fall at random moments of them: the loop itself is paced by them
                        pause = CHANCE.uniform(0, setting.cycle)
                        if time.monotonic() + pause + 2 * setting.floor + 10 > deadline:
                            return changes, probe.errors
                        time.sleep(pause)
                        probe.arm(side)
                        page.evaluate(ARM, [RACK, side, HIGH, LOW])
                        asked = time.time()
                        stack.scenario(scenario)
                        shown = page.wait_for_function("() => window.dcopsSeen", timeout=wait_ms)
                        at_page = float(shown.json_value()["shown"]) / 1000
                        seen = probe.found()
                        for _ in range(20):  # the probe may be one reading behind the page
                            if {"device", "exporter"} <= set(seen):
                                break
                            time.sleep(PROBE_EVERY)
                            seen = probe.found()
                        if not {"device", "exporter"} <= set(seen):
                            raise SystemExit(f"the page showed the change but the probe saw "
                                             f"only {sorted(seen)}: {probe.errors[-3:]}")  # fmt: skip
                        # Prometheus (the alerts' way) is noted when it has it by the next scrape
                        limit = time.monotonic() + setting.scrape + 2
                        while "prometheus" not in seen and time.monotonic() < limit:
                            time.sleep(PROBE_EVERY)
                            seen = probe.found()
                        changes.append(Change(side, asked, seen["device"], seen["exporter"],
                                              seen.get("prometheus"), at_page))  # fmt: skip
                        c = changes[-1]
                        print(f"{setting.name}: {side} after {pause:.1f} s pause: device → page "
                              f"{c.page - c.device:.2f} s = {c.exporter - c.device:.2f} + "
                              f"{c.page - c.exporter:.2f}", flush=True)  # fmt: skip
                browser.close()
        finally:
            if probe is not None:
                probe.stop()
            stack.stop()
    return changes, probe.errors if probe is not None else []


def _spread(values: list[float]) -> str:
    """median / p95 / max in seconds (p95 by nearest rank)."""
    ordered = sorted(values)
    p95 = ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]
    return f"{statistics.median(ordered):.2f} / {p95:.2f} / {ordered[-1]:.2f}"


def main() -> None:
    """Run every setting and record the result."""
    started = time.monotonic()
    deadline = started + BUDGET
    load_before = os.getloadavg()[0]
    results = []
    for setting in SETTINGS:
        changes, errors = _measure(setting, deadline)
        results.append((setting, changes, errors))
    load_after = os.getloadavg()[0]
    lines = [
        f"The simulated room, `dcops dcim serve`, Debian's Prometheus and Alertmanager, a real "
        f"`dcops serve` and the room page in Debian's Chromium {_chromium_version()} (headless, "
        f"1280×800, its live part held open by the server until the room changes), all on "
        f"loopback. A change is rack {RACK}'s inlet sensor first serving ≥ {HIGH:g} °C "
        f"(overheat) or ≤ {LOW:g} °C (back to normal), each switch after a random pause of up "
        f"to one poll interval; each stage is when it first shows the same side, read every "
        f"{PROBE_EVERY * 1000:.0f} ms (the page: a MutationObserver). Seconds, median / p95 / "
        f"max (p95 by nearest rank: of 10 changes the largest, of 20 the second largest). "
        f"{os.cpu_count()} cores shared with other engineers' builds and tests; load average "
        f"{load_before:.1f} at the start, {load_after:.1f} at the end; whole run "
        f"{time.monotonic() - started:.0f} s.",
        "",
        "| stage | what it waits for | "
        + " | ".join(f"{s.name}: poll {s.poll:g} s, scrape {s.scrape:g} s" for s, _, _ in results)
        + " |",
        "|---|---|" + "---|" * len(results),
    ]
    stages = [
        ("device → exporter has it", "the exporter's next poll",
         lambda c: c.exporter - c.device),
        ("exporter → page shows it (target ≤ 2 s)", "the server's read of the exporter as the "
         "poll ends, building the room, the held request answered, the browser",
         lambda c: c.page - c.exporter),
        ("**device → page**", "both of the above", lambda c: c.page - c.device),
    ]  # fmt: skip
    for title, waits, delay in stages:
        cells = [
            _spread([delay(c) for c in changes]) if changes else "—" for _, changes, _ in results
        ]
        lines.append(f"| {title} | {waits} | " + " | ".join(cells) + " |")
    scraped = []
    for _, changes, _ in results:
        later = [c.prometheus - c.exporter for c in changes if c.prometheus is not None]
        scraped.append(_spread(later) if later else "—")
    lines.append("| (exporter → Prometheus has it) | the next scrape: the alerts' way, which the "
                 "page no longer waits for | " + " | ".join(scraped) + " |")  # fmt: skip
    lines.append("| floor: the poll interval | a change just after a poll | "
                 + " | ".join(f"{s.floor:g}" for s, _, _ in results) + " |")  # fmt: skip
    met = [f"{sum(1 for c in changes if c.page - c.exporter <= 2.0)} of {len(changes)} changes"
           for _, changes, _ in results]  # fmt: skip
    lines.append("| target met: page ≤ 2 s after the exporter | | " + " | ".join(met) + " |")
    within = [f"{sum(1 for c in changes if c.page - c.device <= s.poll + 2.0)} of {len(changes)} "
              f"changes (≤ {s.poll + 2:g} s)" for s, changes, _ in results]  # fmt: skip
    lines.append(
        "| same, read as: device → page ≤ poll interval + 2 s | | " + " | ".join(within) + " |"
    )
    notes = []
    for setting, changes, errors in results:
        if not changes:
            notes.append(f"{setting.name}: not measured (the run's time budget ran out).")
            continue
        back = [c.device - c.asked for c in changes if c.side == "down"]
        notes.append(
            f"{setting.name}: {len(changes)} changes; the simulation served the return to "
            f"normal {statistics.median(back):.2f} s (median) after the switch was written "
            f"(its tick is {SIM_TICK:g} s); probe readings that failed: {len(errors)}."
        )
    lines += ["", *notes]
    record("console-delay", "\n".join(lines))
    print("\n".join(lines))


def _chromium_version() -> str:
    done = subprocess.run(["chromium", "--version"], capture_output=True, text=True, check=False)
    words = done.stdout.split()
    return words[1] if done.returncode == 0 and len(words) > 1 else "?"


if __name__ == "__main__":
    main()
