"""The facility page in Debian's Chromium against the whole alert path: the simulated room,
`dcops dcim serve`, Prometheus and Alertmanager, and a real `dcops serve`. The overheat scenario
turns rack A01 red and brings its alert, the shift acknowledges it, and the acknowledgement
reaches Alertmanager and the audit journal; the wall screen has no controls."""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import copy_site
from tests.integration.alert_path import AlertPath, WebhookReceiver
from tests.integration.server.browser import (
    WALL,
    axe_or_skip,
    axe_violations,
    chromium,
    log_in,
    new_page,
    shoot,
)
from tests.integration.server.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration

# Poll 0.5 s + evaluation 1 s + `for: 2s` is the floor; the bound is generous for a loaded host.
WITHIN_MS = 120_000


@pytest.fixture(scope="module")
def room(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[AlertPath, LiveServer]]:
    """The alert path and a console server over one site copy, with a facility account."""
    site = copy_site(tmp_path_factory.mktemp("console-room") / "site")
    receiver = WebhookReceiver()
    path = AlertPath(site, receiver)
    live = LiveServer(site)
    try:
        path.start()
        live.start()
        live.account("zhaomin", second_factor=False)
        yield path, live
    finally:
        live.stop()
        path.stop()
        receiver.close()


def _alertmanager(site: Path, what: str) -> list[dict[str, object]]:
    from dcops.core.loader import load_site

    url = load_site(site).config.monitors.alertmanager_url
    with urllib.request.urlopen(f"{url}/api/v2/{what}", timeout=10) as reply:
        found: list[dict[str, object]] = json.loads(reply.read())
    return found


# Each kind the plan draws, where inventory/rooms.yml puts it (x, y, width, depth in tiles), and
# what it reads in the normal scenario.
PLACED = {
    '[data-equipment="crac-1"]': ((9, 1, 2, 2), "送风 supply"),
    '[data-equipment="ups-1"]': ((1, 9, 2, 2), "市电 mains"),
    '[data-door="door-1/1"]': ((0, 5, 1, 1), "关 closed"),
    '[data-zone="fire-1/1"]': ((0, 0, 6, 6), "正常 normal"),
    '[data-rope="leak-1/1"]': ((8, 0, 3, 1), "干 dry"),
    '[data-rack="A01"]': ((1, 1, 1, 1), "PDU 在线 up"),
}
# Read in one step of the page's script: the live part is replaced as each poll ends, and an
# element read across two steps may have been swapped out in between.
BOX = """selector => { const r = document.querySelector(selector).getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom]; }"""
AREA = """selector => { const s = getComputedStyle(document.querySelector(selector));
  return [s.gridColumnStart, s.gridRowStart, s.gridColumnEnd, s.gridRowEnd]; }"""


def _drawn_in_place(page: Page) -> None:
    """Each kind stands on its tiles of the grid, next to its neighbours, and says its state."""
    for selector, ((x, y, width, depth), words) in PLACED.items():
        page.locator(selector).first.wait_for(timeout=WITHIN_MS)
        area = page.evaluate(AREA, selector)
        assert area == [str(x + 1), str(y + 1), f"span {width}", f"span {depth}"], selector
        page.locator(selector, has_text=words).first.wait_for(timeout=WITHIN_MS)
    box = {name: page.evaluate(BOX, sel) for name, sel in (
        ("crac", PLACED_KEYS[0]), ("a08", '[data-rack="A08"]'), ("a01", '[data-rack="A01"]'),
        ("door", PLACED_KEYS[2]), ("b01", '[data-rack="B01"]'), ("c01", '[data-rack="C01"]'),
        ("ups", PLACED_KEYS[1]), ("zone", PLACED_KEYS[3]))}  # fmt: skip
    assert box["crac"][0] > box["a08"][2] and box["crac"][1] <= box["a08"][1] < box["crac"][3]
    assert box["door"][2] <= box["a01"][0] and box["b01"][3] < box["door"][3] < box["c01"][1]
    assert box["ups"][1] > box["c01"][3] and box["ups"][0] <= box["c01"][0]
    assert box["zone"][0] <= box["a01"][0] and box["zone"][3] >= box["b01"][3]


PLACED_KEYS = list(PLACED)


def test_the_overheat_turns_the_rack_red_and_its_alert_is_acknowledged(
    room: tuple[AlertPath, LiveServer], tmp_path: Path
) -> None:
    path, live = room
    with chromium() as browser:
        page = new_page(browser, live)
        log_in(page, live, "zhaomin")
        assert page.url.endswith("/console/room")
        rack = page.locator('[data-rack="A01"]')
        page.locator('[data-rack="A01"][data-level="ok"]').wait_for(timeout=60_000)
        assert "°C" in rack.inner_text() and "—" not in rack.inner_text()
        assert page.locator('[data-device="ups-1"].status-up').count() == 1
        assert page.locator("p.banner.stale").count() == 0
        _drawn_in_place(page)
        listed = page.locator("[data-device]").count()
        quiet = page.locator("p.quiet").inner_text()  # the devices in racks that are fine
        page.goto("/console/room?devices=all")
        every = page.locator("[data-device]").count()
        assert every > listed and f"另有 {every - listed} 台设备在线" in quiet
        refused = page.goto("/console/room?devices=bogus")
        assert refused is not None and refused.status == 400
        assert "allowed: problems, all" in page.inner_text("main")
        page.goto("/console/room")
        shoot(page, "room.png", tmp_path)

        path.scenario("overheat")
        # No reload: the page's own polling brings the red rack and the alert.
        page.locator('[data-rack="A01"][data-level="hot"]').wait_for(timeout=WITHIN_MS)
        alert = page.locator('li.alert.sev-critical[data-alert="InletTemperatureHigh@env-a01"]')
        alert.wait_for(timeout=WITHIN_MS)
        assert "A01" in alert.inner_text()
        runbook = alert.locator("a.runbook")
        assert runbook.count() == 1 and runbook.get_attribute("href")
        shoot(page, "room-overheat.png", tmp_path)

        alert.locator("details.ack summary").click()
        alert.locator("select[name=duration]").select_option("1h")
        alert.locator("input[name=reason]").fill("空调维修中 CRAC under repair")
        alert.locator("button[type=submit]").click()
        page.wait_for_selector("#acks-h")
        acks = page.inner_text("section.acks")
        assert "InletTemperatureHigh" in acks and "zhaomin" in acks and "空调维修中" in acks
        assert alert.count() == 0, "the acknowledged alert is still listed as active"
        shift = page.locator("section.shift-log tr", has_text="InletTemperatureHigh")
        shift.first.wait_for(timeout=WITHIN_MS)
        assert "firing" in shift.first.inner_text()

        wall = new_page(browser, live, WALL)
        log_in(wall, live, "zhaomin")
        wall.goto("/console/wall")
        controls = wall.locator("form, details.ack, header nav a, .toolbar, button")
        assert controls.filter(visible=True).count() == 0
        assert wall.locator('[data-rack="A01"]').get_attribute("data-level") == "hot"
        _drawn_in_place(wall)
        shoot(wall, "wall.png", tmp_path)

    silences = _alertmanager(live.site, "silences")
    ours = [s for s in silences if s.get("createdBy") == "zhaomin"]
    assert ours and "CRAC under repair" in str(ours[0]["comment"])
    acks = [e for e in live.journal() if e.get("action") == "alerts.ack"]
    assert acks and acks[-1]["actor"]["user"] == "zhaomin"
    assert "InletTemperatureHigh@env-a01" in json.dumps(acks[-1], ensure_ascii=False)


def test_the_room_and_wall_with_readings_and_alerts_are_accessible(
    room: tuple[AlertPath, LiveServer],
) -> None:
    """axe-core on the pages as the shift sees them: coloured racks, alerts, the device list."""
    _, live = room
    axe_or_skip()
    found = {}
    with chromium() as browser:
        for path, size in (("/console/room", None), ("/console/wall", WALL)):
            # bypass_csp: the pages forbid scripts they did not ship, and axe is injected here
            context = browser.new_context(base_url=live.url, ignore_https_errors=True,
                                          bypass_csp=True, locale="zh-CN", viewport=size)  # fmt: skip
            page = context.new_page()
            log_in(page, live, "zhaomin")
            page.goto(path)
            page.locator('[data-rack="A01"][data-level="hot"]').wait_for(timeout=WITHIN_MS)
            assert page.locator("li.alert").count() > 0, "no active alert to check"
            found[path] = axe_violations(page)
            context.close()
    assert not any(found.values()), {p: v for p, v in found.items() if v}


def test_the_page_says_so_when_the_exporter_is_down(room: tuple[AlertPath, LiveServer]) -> None:
    path, live = room
    assert path._serve is not None
    path._serve.terminate()
    path._serve.wait(timeout=30)
    with chromium() as browser:
        page = new_page(browser, live)
        log_in(page, live, "zhaomin")
        banner = page.locator("p.banner.stale", has_text="采集器离线 / the exporter is down")
        deadline = time.monotonic() + 120
        while banner.count() == 0 and time.monotonic() < deadline:
            page.wait_for_timeout(1000)
        assert banner.count() == 1
