"""Reading the exporter of the simulated room: one scrape, one value, or wait for a condition."""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable


def scrape(port: int) -> str:
    """The text of /metrics from `dcops dcim serve` on loopback."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
        return str(answer.read().decode())


def reading(text: str, metric: str, **labels: str) -> float | None:
    """The first sample of metric carrying these labels, or None."""
    for line in text.splitlines():
        if not line.startswith(metric + "{"):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def scrape_until(port: int, check: Callable[[str], bool], what: str, limit: float = 60.0) -> str:
    """Scrape until check accepts the text; fail naming what was awaited and the last scrape."""
    deadline = time.monotonic() + limit
    text = ""
    while time.monotonic() < deadline:
        text = scrape(port)
        if check(text):
            return text
        time.sleep(0.2)
    raise AssertionError(f"{what} not seen within {limit} s; last scrape:\n{text[:3000]}")


def all_devices_up(text: str, count: int = 15) -> bool:
    """True when every device of the example room is exported and none is down."""
    up = [line for line in text.splitlines() if line.startswith("dcops_dcim_device_up{")]
    return len(up) == count and not any(line.endswith(" 0.0") for line in up)
