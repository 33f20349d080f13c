"""Whether each monitor answers: every Prometheus and Alertmanager of the site (both members
while the pair runs) by its health endpoint, and every exporter as the room feed last read it."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dcops.core.site import Site
    from dcops.server.room_feed import ExporterReading

HEALTH_TIMEOUT = 3.0  # s; the members are asked side by side, so the page waits this long at most


@dataclass(frozen=True)
class MonitorState:
    """One monitor: what it is, where it answers, whether it is up, and why not."""

    kind: str
    name: str
    url: str
    up: bool
    why: str = ""


def members(site: Site) -> list[tuple[str, str, str]]:
    """(kind, name, base URL) of every Prometheus and Alertmanager: the first of each, then
    the second member of each while the pair runs."""
    settings = site.config.monitors
    state = site.paths.state
    found = []
    for kind, urls in (("Prometheus", settings.prometheus_members(state)),
                       ("Alertmanager", settings.alertmanager_members(state))):  # fmt: skip
        found += [(kind, kind if n == 0 else f"{kind}-{n + 1}", url) for n, url in enumerate(urls)]
    return found


def health(kind: str, name: str, url: str) -> MonitorState:
    """Ask one member's health endpoint; anything but an answer of 200 is down, with the reason."""
    try:
        with urllib.request.urlopen(f"{url}/-/healthy", timeout=HEALTH_TIMEOUT) as reply:
            reply.read(1024)
            return MonitorState(kind, name, url, reply.status == 200)
    except urllib.error.HTTPError as exc:
        exc.close()
        return MonitorState(kind, name, url, False, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        # HTTPException: something on the port that does not speak HTTP (BadStatusLine)
        reason = getattr(exc, "reason", None) or exc
        return MonitorState(kind, name, url, False, f"{type(exc).__name__}: {reason}"[:200])


def exporter_state(reading: ExporterReading) -> MonitorState:
    """An exporter as the room feed last read it (not yet read right after the server started)."""
    url = f"http://{reading.address}/metrics"
    if reading.read_at == 0:
        return MonitorState("exporter", reading.address, url, False, "尚未读取 / not read yet")
    return MonitorState("exporter", reading.address, url, reading.up, reading.error[:200])


def monitor_states(site: Site, readings: list[ExporterReading]) -> list[MonitorState]:
    """Every Prometheus and Alertmanager (asked side by side), then every exporter."""
    asked = members(site)
    with ThreadPoolExecutor(max_workers=max(1, len(asked))) as pool:
        found = list(pool.map(lambda member: health(*member), asked))
    return found + [exporter_state(r) for r in readings]
