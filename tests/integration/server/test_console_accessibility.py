"""Accessibility of the console's pages: axe-core (installed from npm by scripts/install.sh)
runs inside each page in Debian's Chromium, and any moderate, serious or critical violation
fails (moderate includes a page without a level-one heading for screen readers to announce)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import axe_or_skip, axe_violations, chromium, log_in
from tests.integration.server.live_server import LiveServer

pytestmark = pytest.mark.integration

# Each role's pages; the department user's 403 page is the console's error page.
PAGES = {
    "wanglei": ["/console/requests", "/console/requests/new", "/console/password",
                "/console/totp", "/console/queue"],
    "zhaomin": ["/console/room", "/console/wall"],
    "chenjing": ["/console/queue"],
    "zhangwei": ["/console/ops"],
    "sunli": ["/console/audit", "/console/audit/events/1", "/console/audit/verify"],
}  # fmt: skip
SECOND_FACTOR = {"chenjing", "zhangwei", "sunli"}  # approver, ops and auditor need one


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with an account for each role; those that need one have a second factor."""
    axe_or_skip()
    live = LiveServer(copy_site(tmp_path_factory.mktemp("console-a11y") / "site"))
    live.start()
    try:
        for user in PAGES:
            live.account(user, second_factor=user in SECOND_FACTOR)
        yield live
    finally:
        live.stop()


def _violations(page: Any, path: str) -> list[dict[str, Any]]:
    page.goto(path)
    return axe_violations(page)


def test_no_page_has_a_moderate_or_worse_accessibility_violation(server: LiveServer) -> None:
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
                blocking[f"{user} {path}"] = _violations(page, path)
            context.close()
    assert len(blocking) == 1 + sum(len(paths) for paths in PAGES.values())
    assert not any(blocking.values()), {p: v for p, v in blocking.items() if v}
