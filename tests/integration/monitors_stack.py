"""Shared pieces of the monitors integration tests: free ports, a site with them, Alertmanager's API."""

from __future__ import annotations

import json
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def set_monitors(site_dir: Path, **values: object) -> dict[str, int]:
    """Give the site's [monitors] free ports plus the given settings; return the ports."""
    ports = {name: free_port() for name in ("prometheus_port", "alertmanager_port", "sink_port")}
    path = site_dir / "dcops.toml"
    lines = path.read_text(encoding="utf-8").splitlines()
    settings = {**ports, **values}
    head = lines.index("[monitors]")
    end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith("[")), len(lines))
    kept = [line for line in lines[head + 1 : end] if line.split(" = ")[0] not in settings]
    added = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    out = [*lines[: head + 1], *added, *kept, *lines[end:]]
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return ports


def post_alerts(port: int, alerts: list[dict[str, Any]]) -> None:
    """Post alerts to Alertmanager as Prometheus would."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v2/alerts",
        data=json.dumps(alerts).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as reply:
        assert reply.status == 200


def wait_for(what: str, check: Callable[[], Any], timeout: float = 60, every: float = 0.2) -> Any:
    """Poll check until it returns something truthy; fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def webhook_duty(hook_port: int, backup_after_s: int | None = None) -> str:
    """TOML: critical alerts go through the notifier to a signed webhook on this loopback port.

    The on-call step is at once; with `backup_after_s`, an unacknowledged alert escalates to the
    backup after that many seconds. The webhook's key is read from DCOPS_TEST_HOOK_SECRET.
    """
    backup = (
        f'  {{after = "{backup_after_s}s", to = "backup", channels = ["hook"]}},\n'
        if backup_after_s is not None
        else ""
    )
    return (
        """
[[monitors.receivers]]
name = "duty"
kind = "notifier"

[[monitors.routes]]
receiver = "duty"
severities = ["critical"]

"""
        + webhook_channel(hook_port)
        + f"""
[[monitors.escalation]]
name = "critical-facility"
role = "facility"
severities = ["critical"]
steps = [
  {{after = "0s", to = "on-call", channels = ["hook"]}},
{backup}]
"""
    )


def webhook_channel(port: int) -> str:
    """TOML: the signed webhook channel `hook` on this loopback port (path /alerts).

    Its key is read from DCOPS_TEST_HOOK_SECRET.
    """
    return f"""
[[monitors.channels]]
name = "hook"
kind = "webhook"
url = "http://127.0.0.1:{port}/alerts"
secret = {{env = "DCOPS_TEST_HOOK_SECRET"}}
timeout_s = 5
"""
