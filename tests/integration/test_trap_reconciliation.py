"""Traps reconciled with the polls, with every part real: `dcops dcim simulate` → `dcops dcim
serve` → Prometheus → Alertmanager (Debian's), and `dcops dcim traps` receiving Debian's snmptrap.
A trap raises the alert at once; a poll after it confirms or clears it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import DCOPS, copy_site
from tests.integration.alert_path import AlertPath, WebhookReceiver
from tests.integration.monitors_stack import free_port

pytestmark = pytest.mark.integration

ON_BATTERY = "1.3.6.1.2.1.33.2.1"
UPS_1 = {"device": "ups-1"}


class Traps:
    """The running path and the trap receiver's port; sends traps as ups-1 does."""

    def __init__(
        self, path: AlertPath, port: int, source: str, community: str, alertmanager: str
    ) -> None:
        self.path, self.port, self.source, self.community = path, port, source, community
        self.alertmanager = alertmanager

    def on_battery(self, folder: Path) -> float:
        """Send ups-1's v2c upsTrapOnBattery from its simulated address; when it was sent."""
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder), "HOME": str(folder), "MIBS": ""}
        sent = time.time()
        done = subprocess.run(
            [
                "snmptrap", "-M", "/nonexistent", f"--clientaddr={self.source}", "-v", "2c",
                "-c", self.community, f"127.0.0.1:{self.port}", "", ON_BATTERY,
            ],
            env=env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return sent

    def active(self) -> list[str]:
        """Devices with an active UpsOnBattery in Alertmanager."""
        url = f"{self.alertmanager}/api/v2/alerts?active=true"
        with urllib.request.urlopen(url, timeout=5) as reply:
            alerts = json.loads(reply.read())
        return [
            a["labels"].get("device", "")
            for a in alerts
            if a["labels"].get("alertname") == "UpsOnBattery"
        ]


@pytest.fixture(scope="module")
def traps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traps]:
    from dcops.core.loader import load_site
    from dcops.dcim.inventory import targets
    from dcops.dcim.simulation.overlay import effective_devices

    site_dir = copy_site(tmp_path_factory.mktemp("reconcile") / "site")
    # The simulation serves every SNMP device from 127.0.0.1 and the receiver knows a device by
    # its address: ups-1 is the room's one SNMP device here, so the trap is unmistakably its.
    devices = site_dir / "inventory" / "devices.yml"
    lines = devices.read_text(encoding="utf-8").splitlines()
    kept = [line for line in lines if "protocol: snmp" not in line or "name: ups-1," in line]
    devices.write_text("\n".join(kept) + "\n", encoding="utf-8")
    rooms = site_dir / "inventory" / "rooms.yml"
    plan = rooms.read_text(encoding="utf-8").splitlines()
    rooms.write_text("\n".join(x for x in plan if "{device: ups-2," not in x) + "\n", "utf-8")
    receiver = WebhookReceiver()
    path = AlertPath(site_dir, receiver)
    path.start()
    port = free_port()
    process = subprocess.Popen(
        [str(DCOPS), "dcim", "traps", "--listen", f"127.0.0.1:{port}", "--hold", "600"],
        cwd=site_dir, env=path.env, text=True, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "receiving traps" in line, line
        site = load_site(site_dir)
        devices, gateways, simulated = effective_devices(site)
        assert simulated
        [ups] = targets(site, [d for d in devices if d.name == "ups-1"], gateways, 2.0, 0)
        alertmanager = site.config.monitors.alertmanager_url
        yield Traps(path, port, ups.host, ups.community or "", alertmanager)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        path.stop()
        receiver.close()


def test_a_trap_the_polls_contradict_is_cleared(traps: Traps, tmp_path: Path) -> None:
    sent = traps.on_battery(tmp_path)  # the simulation says: on line
    traps.path.receiver.wait_for("UpsOnBattery", "firing", UPS_1, sent)
    traps.path.receiver.wait_for("UpsOnBattery", "resolved", UPS_1, sent, timeout=90)
    assert traps.active() == [], "the polls say on line; the trap's alert must be gone"


def test_a_trap_the_polls_confirm_stays_and_a_lost_back_on_line_trap_is_healed(
    traps: Traps, tmp_path: Path
) -> None:
    traps.path.scenario("ups-on-battery")
    sent = traps.on_battery(tmp_path)
    traps.path.receiver.wait_for("UpsOnBattery", "firing", UPS_1, sent)
    time.sleep(8)  # several polls and reconciliation rounds confirm it
    assert traps.active() == ["ups-1"]
    back = traps.path.scenario("normal")  # mains back, and its trap never arrives
    traps.path.receiver.wait_for("UpsOnBattery", "resolved", UPS_1, back, timeout=90)
    assert traps.active() == []
