"""The console works on an isolated network: in Debian's Chromium, every request each role's
pages make (documents, styles, scripts, images, the room's live updates) goes to the server and
nowhere else, every answer carries a Content-Security-Policy that allows scripts and styles only
from the server itself, and the browser enforces it: a script or stylesheet from another host
is blocked before it is sent, and an inline script does not run."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import chromium, log_in, new_page
from tests.integration.server.live_server import LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request, Response

pytestmark = pytest.mark.integration

PAGES = {
    "zhaomin": ["/console/room", "/console/room?view=power", "/console/wall"],
    "wanglei": ["/console/requests", "/console/requests/new", "/console/password",
                "/console/totp"],
    "chenjing": ["/console/queue"],
    "zhangwei": ["/console/ops"],
    "sunli": ["/console/audit", "/console/audit/events/1", "/console/audit/verify"],
}  # fmt: skip
SECOND_FACTOR = {"chenjing", "zhangwei", "sunli"}
ELSEWHERE = "http://192.0.2.1"  # TEST-NET-1: no host answers there
# Adds a script and a stylesheet from another host and an inline script, and collects the
# browser's reports of what its content policy refused.
INJECT = """elsewhere => new Promise(done => {
  const refused = [];
  document.addEventListener("securitypolicyviolation",
    e => refused.push({directive: e.effectiveDirective, blocked: e.blockedURI}));
  const script = document.createElement("script"); script.src = elsewhere + "/x.js";
  const style = document.createElement("link"); style.rel = "stylesheet";
  style.href = elsewhere + "/x.css";
  const inline = document.createElement("script"); inline.textContent = "window.ranInline = 1";
  document.head.append(script, style, inline);
  setTimeout(() => done({refused, ranInline: window.ranInline === 1}), 1500);
})"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with an account for each role (a second factor where the role needs one)."""
    live = LiveServer(copy_site(tmp_path_factory.mktemp("console-csp") / "site"))
    live.start()
    try:
        for user in PAGES:
            live.account(user, second_factor=user in SECOND_FACTOR)
        yield live
    finally:
        live.stop()


def _directives(policy: str) -> dict[str, list[str]]:
    """A Content-Security-Policy header as directive → its sources."""
    found = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            found[words[0].lower()] = words[1:]
    return found


def _allows_only_the_server(policy: str) -> str:
    """Why the policy lets a script or a style come from elsewhere or inline; empty if not."""
    directives = _directives(policy)
    if directives.get("default-src") != ["'self'"]:
        return f"default-src is {directives.get('default-src')}, not only 'self'"
    if directives.get("base-uri") != ["'none'"]:
        return f"base-uri is {directives.get('base-uri')}: a <base> could move the scripts"
    for name in ("script-src", "script-src-elem", "style-src", "style-src-elem"):
        if directives.get(name, ["'self'"]) != ["'self'"]:
            return f"{name} allows {directives[name]}"
    return ""


def _visit(page: Page, path: str) -> None:
    page.goto(path)
    if "/room" in path or "/wall" in path:  # the live part asks the server again at once
        page.wait_for_function(
            "() => !!document.querySelector('#live .live-state')", timeout=30_000
        )
        page.wait_for_timeout(1500)


def test_pages_ask_only_the_server_and_forbid_scripts_and_styles_from_elsewhere(
    server: LiveServer,
) -> None:
    requests: list[str] = []
    policies: dict[str, str] = {}
    visited = []
    with chromium() as browser:
        for user, paths in PAGES.items():
            page = new_page(browser, server)

            def asked(request: Request) -> None:
                requests.append(request.url)

            def answered(response: Response) -> None:
                policies[response.url] = response.headers.get("content-security-policy", "")

            page.context.on("request", asked)
            page.context.on("response", answered)
            log_in(page, server, user)
            for path in paths:
                _visit(page, path)
                visited.append(path)
            page.context.close()
    assert len(visited) == sum(len(p) for p in PAGES.values())
    kinds = {url.split("?")[0].rsplit("/", 1)[-1] for url in requests}
    assert {"console.css", "console.js", "plan.css", "live"} <= kinds, kinds  # all were seen
    elsewhere = [u for u in requests if not u.startswith((f"{server.url}/", "data:"))]
    assert not elsewhere, f"pages asked another host: {elsewhere[:10]}"
    missing = [u for u, policy in policies.items() if not policy]
    assert not missing, f"answers without a Content-Security-Policy: {missing[:10]}"
    lax = {u: why for u, p in policies.items() if (why := _allows_only_the_server(p))}
    assert not lax, lax


def test_the_browser_refuses_a_script_or_style_from_elsewhere_and_inline_scripts(
    server: LiveServer,
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        answered: list[str] = []
        failed: dict[str, str | None] = {}
        page.context.on("response", lambda response: answered.append(response.url))
        page.context.on(
            "requestfailed", lambda request: failed.update({request.url: request.failure})
        )
        log_in(page, server, "zhaomin")
        _visit(page, "/console/room")
        found: dict[str, Any] = page.evaluate(INJECT, ELSEWHERE)
    refused = {(r["directive"], r["blocked"]) for r in found["refused"]}
    assert ("script-src-elem", f"{ELSEWHERE}/x.js") in refused, refused
    assert ("style-src-elem", f"{ELSEWHERE}/x.css") in refused, refused
    assert ("script-src-elem", "inline") in refused and not found["ranInline"], refused
    # Chromium reports the attempt as a request that failed inside the browser, never sent.
    assert not [u for u in answered if u.startswith(ELSEWHERE)], "another host answered"
    for name in ("x.js", "x.css"):
        assert failed.get(f"{ELSEWHERE}/{name}") == "csp", failed
