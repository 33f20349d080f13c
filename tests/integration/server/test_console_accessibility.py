"""Accessibility of the console's pages: axe-core (installed from npm by scripts/install.sh)
runs inside each page in Debian's Chromium, and any serious or critical violation fails."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import chromium, log_in
from tests.integration.server.live_server import LiveServer

pytestmark = pytest.mark.integration

AXE = Path(__file__).resolve().parents[3] / ".venv/share/axe/node_modules/axe-core/axe.min.js"
BLOCKING = {"serious", "critical"}
PAGES = {
    "wanglei": ["/console/requests", "/console/requests/new"],
    "zhaomin": ["/console/room", "/console/wall"],
    "chenjing": ["/console/queue"],
}
RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .map(v => ({id: v.id, impact: v.impact, help: v.help,
              where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a department user, a facility person and an approver (TOTP)."""
    if not AXE.is_file():
        pytest.skip(f"axe-core is not installed ({AXE.name} missing): run scripts/install.sh")
    live = LiveServer(copy_site(tmp_path_factory.mktemp("console-a11y") / "site"))
    live.start()
    try:
        for user in PAGES:
            live.account(user, second_factor=user == "chenjing")
        yield live
    finally:
        live.stop()


def _violations(page: Any, path: str) -> list[dict[str, Any]]:
    page.goto(path)
    page.add_script_tag(content=AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN)
    return [v for v in found if v["impact"] in BLOCKING]


def test_no_page_has_a_serious_accessibility_violation(server: LiveServer) -> None:
    with chromium() as browser:
        blocking: dict[str, list[dict[str, Any]]] = {}
        # bypass_csp: the pages forbid scripts they did not ship, and axe is injected by the test
        anonymous = browser.new_context(base_url=server.url, ignore_https_errors=True,
                                        bypass_csp=True, locale="zh-CN").new_page()  # fmt: skip
        blocking["/console/login"] = _violations(anonymous, "/console/login")
        for user, paths in PAGES.items():
            context = browser.new_context(base_url=server.url, ignore_https_errors=True,
                                          bypass_csp=True, locale="zh-CN")  # fmt: skip
            page = context.new_page()
            log_in(page, server, user)
            for path in paths:
                blocking[path] = _violations(page, path)
            context.close()
    assert len(blocking) == 6
    assert not any(blocking.values()), {p: v for p, v in blocking.items() if v}
