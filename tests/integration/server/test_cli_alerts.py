"""`dcops alerts` through a real `dcops serve`: the server asks the site's Alertmanager.

The server's site runs a real Alertmanager (`dcops monitors up`) with two UPS alerts in it;
the people run the CLI in a copy of the site that names the server and whose own Alertmanager
address leads nowhere, so whatever they see came through the server, which decides who may.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_site
from tests.integration.monitors_stack import post_alerts, set_monitors, wait_for
from tests.integration.server.live_server import LiveServer, free_port, run_cli
from tests.integration.server.test_cli_client import Person, name_server

pytestmark = pytest.mark.integration


def _ups(device: str) -> dict[str, object]:
    labels = {"alertname": "UpsOnBattery", "severity": "critical", "category": "power",
              "site": "gdc", "room": "r301", "device": device}  # fmt: skip
    return {"labels": labels, "annotations": {"summary": f"UPS {device} 转电池 / on battery"}}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server whose site runs Alertmanager with two firing UPS alerts; facility and a department."""
    site = copy_site(tmp_path_factory.mktemp("alerts") / "site")
    ports = set_monitors(site, exporters=["127.0.0.1:9"], notifier_port=free_port())
    live = LiveServer(site)
    name_server(site, live.url)
    started = run_cli(site, "monitors", "up", user="zhaomin")
    try:
        assert started.returncode == 0, started.stderr
        post_alerts(ports["alertmanager_port"], [_ups("ups-1"), _ups("ups-2")])
        live.start()
        live.account("zhaomin", second_factor=False)
        live.account("wanglei", second_factor=False)
        yield live
    finally:
        live.stop()
        run_cli(site, "monitors", "down", user="zhaomin")


@pytest.fixture(scope="module")
def elsewhere(server: LiveServer, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The people's copy of the site: it names the server; its Alertmanager is nowhere."""
    site = copy_site(tmp_path_factory.mktemp("desk") / "site")
    set_monitors(site)  # free ports nothing listens on
    name_server(site, server.url, f'server_ca = "{server.ca}"')
    return site


@pytest.fixture(scope="module")
def people(
    server: LiveServer, elsewhere: Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Person]:
    """zhaomin (facility) and wanglei (a department), each logged in."""
    home = tmp_path_factory.mktemp("homes")
    found = {name: Person(server, name, home / name) for name in ("zhaomin", "wanglei")}
    for person in found.values():
        done = person.login(site=elsewhere)
        assert done.returncode == 0, done.stderr
    return found


def test_the_shift_lists_acknowledges_and_sees_the_silence_through_the_server(
    server: LiveServer, people: dict[str, Person], elsewhere: Path
) -> None:
    zhaomin = people["zhaomin"]

    def listed() -> list[dict[str, object]]:
        done = zhaomin.run("alerts", "--output", "json", site=elsewhere)
        assert done.returncode == 0, done.stderr
        return [a for a in json.loads(done.stdout) if a["name"] == "UpsOnBattery"]

    firing = wait_for("both UPS alerts", lambda: len(listed()) == 2 and listed())
    assert {a["device"] for a in firing} == {"ups-1", "ups-2"}
    table = zhaomin.run("alerts", site=elsewhere)
    assert table.returncode == 0, table.stderr
    assert "room r301" in table.stdout and "UpsOnBattery" in table.stdout

    none = zhaomin.run("alerts", "silences", site=elsewhere)
    assert none.returncode == 0, none.stderr
    assert f"no silences ({server.url})" in none.stdout
    acked = zhaomin.run("alerts", "ack", "UpsOnBattery@ups-1", "--for", "30m", "--reason",
                        "换电池 battery swap", site=elsewhere)  # fmt: skip
    assert acked.returncode == 0, acked.stderr
    assert "acknowledged UpsOnBattery@ups-1" in acked.stdout and "by zhaomin" in acked.stdout
    silences = zhaomin.run("alerts", "silences", "--output", "json", site=elsewhere)
    assert silences.returncode == 0, silences.stderr
    [silence] = json.loads(silences.stdout)
    assert silence["created_by"] == "zhaomin" and "battery swap" in silence["comment"]
    assert 'device="ups-1"' in silence["matchers"]
    shown = zhaomin.run("alerts", "silences", site=elsewhere)
    assert "zhaomin" in shown.stdout and "1 silences" in shown.stdout
    still = [a["device"] for a in listed()]
    assert still == ["ups-2"], "the acknowledged alert is still listed as active"
    acks = [e for e in server.journal() if e["action"] == "alerts.ack"]
    assert acks and acks[-1]["actor"]["user"] == "zhaomin"

    notices = zhaomin.run("alerts", "deliveries", site=elsewhere)  # no notifier route here
    assert notices.returncode == 0, notices.stderr
    assert f"no notifier record yet (on {server.url})" in notices.stdout

    option = zhaomin.run("alerts", "--alertmanager", "http://127.0.0.1:9", site=elsewhere)
    assert option.returncode == 2 and "the server talks to the site's Alertmanager" in option.stderr


def test_a_department_may_not_read_or_silence_alerts(
    server: LiveServer, people: dict[str, Person], elsewhere: Path
) -> None:
    wanglei = people["wanglei"]
    for args in (("alerts",), ("alerts", "silences"), ("alerts", "deliveries"),
                 ("alerts", "ack", "UpsOnBattery@ups-2", "--for", "5m", "--reason", "x")):  # fmt: skip
        done = wanglei.run(*args, site=elsewhere)
        assert done.returncode == 2, args
        assert "权限不足 / " in done.stderr and "/api/v1/alerts" in done.stderr, args
        assert "needs the ops or facility role" in done.stderr, args
    denied = [
        e["details"]["request"] for e in server.journal()
        if e["action"] == "auth.denied" and e["actor"]["user"] == "wanglei"
    ]  # fmt: skip
    assert {p.split(" ")[1] for p in denied} >= {
        "/api/v1/alerts", "/api/v1/alerts/silences", "/api/v1/alerts/deliveries",
    }  # fmt: skip
