"""SNMP trap → dcops' trap receiver → Alertmanager → dcops' notifier → a webhook, on loopback:
the whole path of a trap becoming a notification, for the test and the latency benchmark.
Every UPS sends from its own loopback address, so each trap opens its own Alertmanager group."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dcops.core.loader import load_site
from dcops.dcim.inventory import Target, targets
from dcops.dcim.trap_alerts import post_alerts
from dcops.dcim.traps import TrapReceiver, engine_id_for, serve_traps
from tests.conftest import DCOPS, copy_site, dcops_env
from tests.integration.monitors_stack import free_port, set_monitors, wait_for, webhook_duty
from tests.integration.receivers import Received, robot_server, serving

AUTH, PRIV, HOOK_SECRET = "ups2-auth-pass", "ups2-priv-pass", "trap-path-hook"
ON_BATTERY = "1.3.6.1.2.1.33.2.1"
FAST = {
    "scrape_interval": "1s",
    "evaluation_interval": "1s",
    "group_wait": "0s",
    "critical_group_wait": "0s",
    "group_interval": "1s",
    "exporters": ["127.0.0.1:9"],
}


@dataclasses.dataclass
class TrapPath:
    """The running path: where to send traps from and to, and what the webhook got."""

    site_dir: Path
    trap_port: int
    alertmanager_url: str
    hook: Received
    receiver: TrapReceiver
    sources: dict[str, str]
    env: dict[str, str]

    def send_on_battery(self, device: str) -> float:
        """Send an authPriv v3 upsTrapOnBattery from the device's address; when it was sent."""
        sent = time.time()
        done = subprocess.run(
            [
                "snmptrap", "-M", "/nonexistent", f"--clientaddr={self.sources[device]}",
                "-v", "3", "-e", "0x80001f8880aabbccdd", "-u", "dcops", "-l", "authPriv",
                "-a", "SHA", "-A", AUTH, "-x", "AES", "-X", PRIV,
                f"127.0.0.1:{self.trap_port}", "", ON_BATTERY,
            ],
            env=self.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return sent

    def notified(self, device: str, timeout: float = 60) -> float:
        """When the webhook got the firing notice of UpsOnBattery for the device."""

        def arrival() -> float | None:
            with self.hook.lock:
                for note in self.hook.accepted:
                    body = note["body"]
                    if body["labels"].get("device") == device and body["status"] == "firing":
                        return float(note["at"])
            return None

        return float(wait_for(f"the notice for {device}", arrival, timeout=timeout))


def _ups_targets(found: list[Target], count: int) -> tuple[list[Target], dict[str, str]]:
    [ups] = [t for t in found if t.name == "ups-2"]
    made = [
        dataclasses.replace(ups, name=f"ups-t{i:02d}", host=f"127.0.1.{i}")
        for i in range(1, count + 1)
    ]
    return made, {t.name: t.host for t in made}


@contextmanager
def trap_path(devices: int = 1, base: Path | None = None) -> Iterator[TrapPath]:
    """Start the path (monitors up with the notifier, the trap receiver, the webhook); stop it."""
    with tempfile.TemporaryDirectory(dir=base) as folder:
        site_dir = copy_site(Path(folder) / "site")
        hook_port = free_port()
        ports = set_monitors(site_dir, notifier_port=free_port(), **FAST)
        with (site_dir / "dcops.toml").open("a", encoding="utf-8") as out:
            out.write(webhook_duty(hook_port))
        secrets = site_dir / ".dcops" / "secrets"
        secrets.mkdir(parents=True)
        (secrets / "ups-2.auth").write_text(AUTH)
        (secrets / "ups-2.priv").write_text(PRIV)
        env = dcops_env(extra={"DCOPS_TEST_HOOK_SECRET": HOOK_SECRET})
        server, hook = robot_server("webhook", hook_port, {"secret": HOOK_SECRET})
        with serving(server):
            started = subprocess.run(
                [str(DCOPS), "monitors", "up"], cwd=site_dir, env=env, capture_output=True,
                text=True, timeout=180,
            )  # fmt: skip
            assert started.returncode == 0, started.stderr
            try:
                yield from _with_receiver(site_dir, ports, hook, devices, Path(folder))
            finally:
                subprocess.run(
                    [str(DCOPS), "monitors", "down"], cwd=site_dir, env=env, capture_output=True,
                    timeout=120,
                )  # fmt: skip


def _with_receiver(
    site_dir: Path, ports: dict[str, int], hook: Received, devices: int, folder: Path
) -> Iterator[TrapPath]:
    site = load_site(site_dir)
    found = targets(site, [d for d in site.devices if d.name == "ups-2"], site.gateways, 2.0, 0)
    made, sources = _ups_targets(found, devices)
    url = f"http://127.0.0.1:{ports['alertmanager_port']}"
    receiver = TrapReceiver(
        made, site.name, lambda alerts: post_alerts(url, alerts), engine_id_for(site.name)
    )
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    bound: list[int] = []
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve_traps(receiver, "127.0.0.1", 0, stop, bound.append),),
        daemon=True,
    )
    thread.start()
    wait_for("the trap receiver", lambda: bound)
    persistent = folder / "snmp"
    persistent.mkdir()
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persistent), "HOME": str(folder), "MIBS": ""}
    try:
        yield TrapPath(site_dir, bound[0], url, hook, receiver, sources, env)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=10)
        loop.close()


def post_directly(path: TrapPath, device: str) -> float:
    """The peer: the same alert posted straight to Alertmanager's API; when it was posted."""
    from datetime import timedelta

    from dcops.dcim.trap_alerts import TrapEvent, alert_for

    target = next(t for t in path.receiver.sources.values() if t.name == device)
    sent = time.time()
    alert: dict[str, Any] = alert_for(
        TrapEvent("UpsOnBattery", {}, True), target, "gdc", timedelta(minutes=5), ""
    )
    post_alerts(path.alertmanager_url, [alert])
    return sent
