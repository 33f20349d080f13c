"""The auditor's journal in Debian's Chromium: each filter of the form (action, object, time,
result) narrows the list to the operations it names, and keeps its value in the form."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import chromium, log_in, new_page
from tests.integration.server.live_server import LiveServer, run_cli

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration
ROW = "table.journal tbody tr"
# action, object and result of each row, read in one step.
ROWS = """() => [...document.querySelectorAll("table.journal tbody tr")].map(r =>
  [r.cells[3].innerText, r.cells[4].innerText, r.cells[5].innerText.split(":")[0]])"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, str]]:
    """A server with an auditor, whose journal holds a manual fix, then (after the moment
    returned) a power cycle, logins and a refused page."""
    live = LiveServer(copy_site(tmp_path_factory.mktemp("console-audit") / "site"))
    live.start()
    try:
        live.account("sunli", second_factor=True)
        live.account("wanglei", second_factor=False)
        _record(live, "manual.fix", "host/leaf1")
        time.sleep(1.2)
        between = datetime.now(UTC).isoformat(timespec="seconds")
        time.sleep(1.2)
        _record(live, "manual.power-cycle", "device/ups-1")
        with live.client() as client:  # a wrong password: a failed login
            client.post("/api/v1/auth/token", json={"user": "wanglei", "password": "wrong-0ne!"})
        yield live, between
    finally:
        live.stop()


def _record(live: LiveServer, action: str, obj: str) -> None:
    done = run_cli(live.site, "audit", "record", "--action", action, "--object", obj,
                   "--message", "测试 filter test", user="zhaomin")  # fmt: skip
    assert done.returncode == 0, done.stderr


def _filtered(page: Page, **fields: str) -> list[tuple[str, str, str]]:
    """Fill the filter form, press Filter, and read the rows; the form keeps what was asked."""
    page.goto("/console/audit")
    for name, value in fields.items():
        if name == "result":
            page.select_option("select[name=result]", value)
        else:
            page.fill(f"input[name={name}]", value)
    page.click("form.filters button")
    page.wait_for_url("**/console/audit?*")
    for name, value in fields.items():
        assert page.locator(f"[name={name}]").input_value() == value, name
    return [tuple(row) for row in page.evaluate(ROWS)]


def test_each_filter_narrows_the_journal_to_what_it_names(
    server: tuple[LiveServer, str],
) -> None:
    live, between = server
    with chromium() as browser:
        page = new_page(browser, live)
        log_in(page, live, "sunli")
        every = _filtered(page)
        assert {"manual.fix", "manual.power-cycle", "auth.login"} <= {a for a, _, _ in every}

        manual = _filtered(page, action="manual")  # an action names its sub-actions too
        assert sorted(a for a, _, _ in manual) == ["manual.fix", "manual.power-cycle"]
        assert [a for a, _, _ in _filtered(page, action="manual.fix")] == ["manual.fix"]

        assert [(a, o) for a, o, _ in _filtered(page, object="device/ups-1")] == [
            ("manual.power-cycle", "device/ups-1")
        ]
        hosts = _filtered(page, object="host")  # an object's type names all of that type
        assert hosts and {o for _, o, _ in hosts} == {"host/leaf1"}

        failed = _filtered(page, result="failure")
        assert failed and {r for _, _, r in failed} == {"failure"}
        assert ("auth.login", "account/wanglei", "failure") in failed
        assert len(failed) < len(every)
        ok = _filtered(page, result="success")
        assert ok and {r for _, _, r in ok} == {"success"} and len(ok) < len(every)

        later = {a for a, _, _ in _filtered(page, since=between)}
        assert "manual.power-cycle" in later and "manual.fix" not in later
        earlier = {a for a, _, _ in _filtered(page, until=between)}
        assert "manual.fix" in earlier and "manual.power-cycle" not in earlier

        both = _filtered(page, action="manual", since=between)
        assert [a for a, _, _ in both] == ["manual.power-cycle"]
        assert page.locator(ROW).count() == 1
