"""The room's current readings straight from the DCIM exporters, asked again as each poll ends.

Each exporter named in dcops.toml (`[monitors] exporters`) is read by a thread of its own with
`/metrics?after=N`: the exporter holds the request until it has finished another device poll,
so the facility page learns of a polled change at once instead of at Prometheus' next scrape.
Alerts still come from Prometheus' rules through Alertmanager (see console_room)."""

from __future__ import annotations

import http.client
import re
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_BODY = 64 << 20  # the largest /metrics read (a 10,000-device exporter is well below)
WAIT = 20.0  # the longest an exporter is asked to hold a read open, s
TIMEOUT = 10.0  # for connecting and for the answer beyond WAIT, s
GAP = 0.25  # the shortest time between two reads of one exporter, s: a poll of many devices
# ends device by device, and one read a quarter second gathers them
RETRY = 1.0  # after a failed read, s
POLLS_HEADER = "X-Dcops-Polls"  # the exporter's count of device polls (dcim.exporter)
_LINE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


@dataclass
class ExporterReading:
    """One exporter's latest answer: its samples by metric, or why it could not be read."""

    address: str
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)
    error: str = ""
    read_at: float = 0.0

    @property
    def up(self) -> bool:
        """Whether the last read of the exporter succeeded."""
        return not self.error and self.read_at > 0


def parse_metrics(
    text: str, wanted: set[str], site: str
) -> list[tuple[str, dict[str, str], float]]:
    """The samples of the wanted metrics of this site from a text exposition (others skipped)."""
    found = []
    for line in text.splitlines():
        if not line or line[0] == "#":
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name not in wanted:
            continue
        match = _LINE.match(line)
        if match is None:
            continue
        labels = {
            k: v.replace('\\"', '"').replace("\\\\", "\\")
            for k, v in _LABEL.findall(match[2] or "")
        }
        if labels.get("site", site) != site:
            continue
        try:
            found.append((name, labels, float(match[3])))
        except ValueError:
            continue
    return found


class RoomFeed:
    """Keeps the latest reading of every exporter; calls on_change after each one."""

    def __init__(
        self,
        site: str,
        addresses: list[str],
        wanted: set[str],
        on_change: Callable[[], None] = lambda: None,
    ) -> None:
        self.site = site
        self.wanted = wanted
        self.on_change = on_change
        self.addresses = addresses
        self.readings = {a: ExporterReading(a) for a in self.addresses}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        """Start reading every exporter, each in its own thread."""
        self.stopping.clear()
        self.threads = [
            threading.Thread(target=self._watch, args=(a,), name=f"dcops-feed-{a}", daemon=True)
            for a in self.addresses
        ]
        for thread in self.threads:
            thread.start()

    def stop(self) -> None:
        """Stop reading (a read held open by an exporter is left to end by itself)."""
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=1)
        self.threads = []

    def current(self) -> list[ExporterReading]:
        """The latest reading of each exporter."""
        with self.lock:
            return list(self.readings.values())

    def _watch(self, address: str) -> None:
        polls: str | None = None
        while not self.stopping.is_set():
            started = time.monotonic()
            reading, polls = self._read(address, polls)
            with self.lock:
                before = self.readings[address]
                self.readings[address] = reading
            if reading.up or before.error != reading.error:  # not each retry of a dead one
                self.on_change()
            pause = GAP if reading.up and polls is not None else RETRY
            self.stopping.wait(max(0.0, pause - (time.monotonic() - started)))

    def _read(self, address: str, polls: str | None) -> tuple[ExporterReading, str | None]:
        url = f"http://{address}/metrics"
        if polls is not None:
            url += f"?after={polls}&wait={WAIT:g}"
        try:
            with urllib.request.urlopen(url, timeout=WAIT + TIMEOUT) as reply:
                body = reply.read(MAX_BODY)
                header = reply.headers.get(POLLS_HEADER)
        except urllib.error.HTTPError as exc:
            exc.close()
            return ExporterReading(address, error=f"HTTP {exc.code}", read_at=time.time()), None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            return ExporterReading(address, error=str(reason)[:200], read_at=time.time()), None
        samples = parse_metrics(body.decode("utf-8", errors="replace"), self.wanted, self.site)
        seen = header if header is not None and header.isdigit() else None
        return ExporterReading(address, samples, read_at=time.time()), seen
