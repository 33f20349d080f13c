"""The trap receiver against Debian's snmptrap: v2c and v3 authPriv traps and informs become
alerts labelled like the polled ones; unknown sources and bad credentials are counted and dropped."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dcops.core.loader import load_site
from dcops.dcim.inventory import targets
from dcops.dcim.traps import TrapReceiver, engine_id_for, serve_traps
from tests.integration.monitors_stack import wait_for
from tests.integration.trap_path import trap_path

pytestmark = pytest.mark.integration

COMMUNITY = "trap-community-1"
AUTH, PRIV = "ups2-auth-pass", "ups2-priv-pass"
ON_BATTERY = "1.3.6.1.2.1.33.2.1"
ALARM_ADDED, ALARM_REMOVED = "1.3.6.1.2.1.33.2.3", "1.3.6.1.2.1.33.2.4"
OVERLOAD = "1.3.6.1.2.1.33.1.6.3.8"


@dataclasses.dataclass
class Running:
    receiver: TrapReceiver
    port: int
    posted: list[dict[str, Any]]
    env: dict[str, str]


@pytest.fixture
def running(site_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Running]:
    monkeypatch.setenv("DCOPS_SNMP_COMMUNITY", COMMUNITY)
    secrets = site_dir / ".dcops" / "secrets"
    secrets.mkdir(parents=True)
    (secrets / "ups-2.auth").write_text(AUTH)
    (secrets / "ups-2.priv").write_text(PRIV)
    site = load_site(site_dir)
    ups = [d for d in site.devices if d.name in ("ups-1", "ups-2")]
    found = targets(site, ups, site.gateways, 2.0, 0)
    hosts = {"ups-1": "127.0.0.1", "ups-2": "127.0.0.2"}
    found = [dataclasses.replace(t, host=hosts[t.name]) for t in found]
    posted: list[dict[str, Any]] = []
    receiver = TrapReceiver(found, site.name, posted.extend, engine_id_for(site.name))
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    bound: list[int] = []
    thread = threading.Thread(
        target=loop.run_until_complete,
        args=(serve_traps(receiver, "127.0.0.1", 0, stop, bound.append),),
        daemon=True,
    )
    thread.start()
    wait_for("the receiver to listen", lambda: bound)
    persistent = tmp_path / "snmp"
    persistent.mkdir()
    env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persistent), "HOME": str(tmp_path), "MIBS": ""}
    yield Running(receiver, bound[0], posted, env)
    loop.call_soon_threadsafe(stop.set)
    thread.join(timeout=10)
    loop.close()


def snmptrap(
    running: Running, *args: str, source: str = "127.0.0.1"
) -> subprocess.CompletedProcess[str]:
    """Send with Debian's snmptrap from a loopback source address."""
    return subprocess.run(
        ["snmptrap", "-M", "/nonexistent", f"--clientaddr={source}", "-r", "1", "-t", "2", *args],
        env=running.env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def v3(*args: str, auth: str = AUTH) -> list[str]:
    return [
        "-v",
        "3",
        "-u",
        "dcops",
        "-l",
        "authPriv",
        "-a",
        "SHA",
        "-A",
        auth,
        "-x",
        "AES",
        "-X",
        PRIV,
        *args,
    ]


def labels(running: Running) -> list[dict[str, str]]:
    return [a["labels"] for a in running.posted]


def test_a_v2c_on_battery_trap_is_an_alert_labelled_like_the_polled_one(running: Running) -> None:
    sent = snmptrap(
        running, "-v", "2c", "-c", COMMUNITY, f"127.0.0.1:{running.port}", "", ON_BATTERY
    )
    assert sent.returncode == 0, sent.stderr
    wait_for("the alert", lambda: running.posted)
    [alert] = running.posted
    assert alert["labels"] == {
        "alertname": "UpsOnBattery",
        "severity": "critical",
        "category": "power",
        "site": "gdc",
        "room": "r301",
        "device": "ups-1",
        "kind": "ups",
    }
    assert alert["annotations"]["summary"].startswith("机房 r301 UPS ups-1 已转电池供电")
    assert alert["endsAt"] > alert["startsAt"]
    assert running.receiver.counts["alerted"] == 1


def test_a_v2c_inform_is_answered(running: Running) -> None:
    sent = snmptrap(
        running, "-v", "2c", "-Ci", "-c", COMMUNITY, f"127.0.0.1:{running.port}", "", ALARM_ADDED,
        "1.3.6.1.2.1.33.1.6.2.1.2.3", "o", OVERLOAD,
    )  # fmt: skip
    assert sent.returncode == 0, sent.stderr  # snmptrap -Ci fails without a Response
    wait_for("the alert", lambda: running.posted)
    assert labels(running)[0]["alertname"] == "UpsAlarm"
    assert labels(running)[0]["alarm"] == "output_overload"


def test_v3_authpriv_traps_and_informs_raise_and_end_alerts(running: Running) -> None:
    added = snmptrap(
        running, *v3("-e", "0x80001f8880aabbccdd"), f"127.0.0.1:{running.port}", "", ALARM_ADDED,
        "1.3.6.1.2.1.33.1.6.2.1.2.5", "o", OVERLOAD, source="127.0.0.2",
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    wait_for("the firing alert", lambda: running.posted)
    removed = snmptrap(
        running, *v3("-Ci"), f"127.0.0.1:{running.port}", "", ALARM_REMOVED,
        "1.3.6.1.2.1.33.1.6.2.1.2.5", "o", OVERLOAD, source="127.0.0.2",
    )  # fmt: skip
    assert removed.returncode == 0, removed.stderr  # the inform was discovered and answered
    wait_for("the ending alert", lambda: len(running.posted) == 2)
    firing, ended = running.posted
    assert firing["labels"]["device"] == ended["labels"]["device"] == "ups-2"
    assert firing["labels"]["alarm"] == "output_overload"
    assert firing["endsAt"] > firing["startsAt"] and ended["endsAt"] == ended["startsAt"]


def test_unknown_sources_and_bad_credentials_are_counted_and_dropped(running: Running) -> None:
    target = f"127.0.0.1:{running.port}"
    snmptrap(running, "-v", "2c", "-c", COMMUNITY, target, "", ON_BATTERY, source="127.0.0.3")
    snmptrap(running, "-v", "2c", "-c", "wrong", target, "", ON_BATTERY)
    snmptrap(
        running,
        *v3("-e", "0x80001f8880aabbccdd", auth="wrong-auth-pass"),
        target,
        "",
        ON_BATTERY,
        source="127.0.0.2",
    )
    snmptrap(running, "-v", "2c", "-c", COMMUNITY, target, "", ON_BATTERY, source="127.0.0.2")
    wait_for(
        "the drops to be counted",
        lambda: (
            running.receiver.counts["unknown_source"] == 1
            and running.receiver.counts["bad_credentials"] == 3
        ),
    )
    threading.Event().wait(0.5)
    assert running.posted == []


def test_a_trap_reaches_the_person_on_call_through_alertmanager_and_the_notifier(
    tmp_path: Path,
) -> None:
    with trap_path(devices=1, base=tmp_path) as path:
        sent = path.send_on_battery("ups-t01")
        arrived = path.notified("ups-t01")
        assert arrived >= sent
        [note] = path.hook.accepted
        body = note["body"]
        assert body["labels"]["alertname"] == "UpsOnBattery"
        assert [r["user"] for r in body["recipients"]] in (["zhaomin"], ["zhangwei"])
        assert body["text"].startswith("【告警】机房 r301 设备 ups-t01")
        assert path.receiver.counts["alerted"] == 1
