"""Debian's Chromium driven by Playwright (never a downloaded browser), for the console's tests."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.server.live_server import NEW_PASSWORD, LiveServer

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

AXE = Path(__file__).resolve().parents[3] / ".venv/share/axe/node_modules/axe-core/axe.min.js"
AXE_BLOCKING = {"moderate", "serious", "critical"}
AXE_RUN = """async () => (await axe.run(document, {resultTypes: ['violations']})).violations
  .map(v => ({id: v.id, impact: v.impact, help: v.help,
              where: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""

DESKTOP = {"width": 1280, "height": 800}
WALL = {"width": 1920, "height": 1080}
ROOT = Path(__file__).resolve().parents[3]
GUIDE = ROOT / "docs" / "guide" / "screenshots"
# What each guide screenshot was taken of: the pages' templates and static files at the time,
# and the picture itself (test_console_screenshots compares both with what is there now).
TAKEN_OF = GUIDE / "taken-of.json"
# Every screenshot in the guide, and the test run that makes it (test_console_screenshots
# checks that the guide has exactly these, at these sizes).
SCREENSHOTS = {
    "login.png": DESKTOP,
    "room.png": DESKTOP,
    "room-overheat.png": DESKTOP,
    "room-power.png": DESKTOP,
    "room-humidity.png": DESKTOP,
    "wall.png": WALL,
    "request-form.png": DESKTOP,
    "request-approval.png": DESKTOP,
    "audit.png": DESKTOP,
}


def system_chromium() -> str:
    """The path of Debian's chromium; the test skips loudly without it."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        pytest.skip(
            "LIVE TEST NOT RUN: Debian's chromium is not installed "
            "(scripts/install.sh installs it from scripts/apt-packages.txt)"
        )
    return found


@contextmanager
def chromium() -> Iterator[Browser]:
    """A headless Chromium from the system, closed afterwards."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("LIVE TEST NOT RUN: playwright is not installed (pip install '.[dev]')")
    executable = system_chromium()
    # Chromium refuses its sandbox to root; the tests run as root in CI's container.
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=executable, headless=True, args=args)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser: Browser, server: LiveServer, size: dict[str, int] = DESKTOP) -> Page:
    """A page in a fresh context (its own cookies) that trusts the server's test certificate."""
    # The server's own CA is generated per test site; its TLS is tested with httpx elsewhere.
    context = browser.new_context(
        base_url=server.url, viewport=size, ignore_https_errors=True, locale="zh-CN"
    )
    context.set_default_timeout(30_000)
    return context.new_page()


def log_in(page: Page, server: LiveServer, user: str) -> None:
    """Log in through the login form, with the one-time code where the account has one."""
    page.goto("/console/login")
    page.fill("#user", user)
    page.fill("#password", NEW_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("#code, form.logout")  # the next page, whichever it is
    if page.locator("#code").count():
        page.fill("#code", server.code(user))
        page.click("button[type=submit]")
    page.wait_for_selector("form.logout")


def shoot(page: Page, name: str, folder: Path) -> Path:
    """A screenshot of the page into folder; into the guide too when DCOPS_SCREENSHOTS=update."""
    assert name in SCREENSHOTS, f"{name} is not listed in SCREENSHOTS"
    assert page.viewport_size == SCREENSHOTS[name], f"{name} is taken at its listed size"
    taken = folder / name
    page.screenshot(path=str(taken))
    if os.environ.get("DCOPS_SCREENSHOTS") == "update":
        GUIDE.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(taken, GUIDE / name)
        record = json.loads(TAKEN_OF.read_text(encoding="utf-8")) if TAKEN_OF.is_file() else {}
        record[name] = {"pages": pages_fingerprint(), "png": png_digest(GUIDE / name)}
        text = json.dumps(dict(sorted(record.items())), indent=2) + "\n"
        TAKEN_OF.write_text(text, encoding="utf-8")
    return taken


def pages_fingerprint() -> str:
    """SHA-256 over the console's templates and static files and the example room's floor plan:
    what the pages look like."""
    digest = hashlib.sha256()
    digest.update((ROOT / "inventory" / "rooms.yml").read_bytes() + b"\0")
    for folder in ("templates", "static"):
        for path in sorted((ROOT / "server" / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(ROOT).as_posix().encode() + b"\0")
                digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def png_digest(path: Path) -> str:
    """SHA-256 of a screenshot file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def axe_or_skip() -> Path:
    """axe-core's script, installed from npm by scripts/install.sh; the test skips loudly without."""
    if not AXE.is_file():
        pytest.skip(
            f"LIVE TEST NOT RUN: axe-core is not installed ({AXE.name}): run scripts/install.sh"
        )
    return AXE


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """axe-core's moderate, serious and critical findings on the page as it is now (the page's
    context must bypass its CSP, which forbids the injected script)."""
    page.add_script_tag(content=axe_or_skip().read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(AXE_RUN)
    return [v for v in found if v["impact"] in AXE_BLOCKING]
