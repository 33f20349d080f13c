"""The web console in Debian's Chromium: logging in (with TOTP), roles checked on the server,
CSRF on every form, logging out."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import chromium, log_in, new_page, shoot
from tests.integration.server.live_server import NEW_PASSWORD, LiveServer

pytestmark = pytest.mark.integration
NEWCOMER = """
[[people]]
user = "gaofei"
name = "高飞"
email = "gaofei@fgw.example.gov.cn"
roles = ["department:fgw"]
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with a department user, an approver (TOTP) and a facility user."""
    site = copy_site(tmp_path_factory.mktemp("console") / "site")
    with (site / "dcops.toml").open("a", encoding="utf-8") as toml:
        toml.write(NEWCOMER)
    live = LiveServer(site)
    live.start()
    try:
        live.account("wanglei", second_factor=False)
        live.account("chenjing", second_factor=True)
        live.account("zhaomin", second_factor=False)
        live.account("lina", second_factor=False)
        live.account("zhangwei", second_factor=True)
        live.account("gaofei", second_factor=False)
        yield live
    finally:
        live.stop()


def test_pages_ask_for_a_login_and_say_the_site_and_its_time(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        page.goto("/console/room")
        assert page.url.endswith("/console/login?next=/console/room")
        header = page.inner_text("header")
        assert "gdc" in header and "(Asia/Shanghai)" in header and "CST" in header
        assert page.get_attribute("html", "lang") == "zh-CN"


def test_a_wrong_password_says_so_in_chinese_first(server: LiveServer, tmp_path: Path) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        page.goto("/console/login")
        page.fill("#user", "wanglei")
        page.fill("#password", "not-the-password")
        page.click("button[type=submit]")
        assert page.inner_text("p.message").startswith("用户名或密码错误 / wrong user name")
        assert page.locator("form.logout").count() == 0
        shoot(page, "login.png", tmp_path)


def test_an_approver_logs_in_with_the_code_and_lands_on_the_queue(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        page.goto("/console/login")
        page.fill("#user", "chenjing")
        page.fill("#password", NEW_PASSWORD)
        page.click("button[type=submit]")
        assert "动态口令" in page.inner_text("h1")
        page.fill("#code", "000000")
        page.click("button[type=submit]")
        assert "用户名或密码错误" in page.inner_text("p.message")
        log_in(page, server, "chenjing")
        assert page.url.endswith("/console/queue")
        assert "陈静 (chenjing)" in page.inner_text("header")


def test_a_department_user_opening_an_approver_or_facility_page_gets_403(
    server: LiveServer,
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "wanglei")
        for path in ("/console/queue", "/console/room", "/console/wall", "/console/audit",
                     "/console/ops"):  # fmt: skip
            reply = page.goto(path)
            assert reply is not None and reply.status == 403, path
            assert "权限不足" in page.inner_text("main"), path
    denied = [e for e in server.journal() if e.get("action") == "auth.denied"]
    assert any("GET /console/queue" in str(e) and "wanglei" in str(e) for e in denied)


def test_a_form_without_its_csrf_token_is_refused_and_changes_nothing(
    server: LiveServer,
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "zhaomin")
        reply = page.request.post(
            "/console/alerts/acknowledge",
            form={"alert": "X@y", "duration": "30m", "reason": "test", "csrf": "forged"},
        )
        assert reply.status == 403 and "CSRF" in reply.text()
        events = len(server.journal())
        reply = page.request.post("/console/logout", form={"csrf": "forged"})
        assert reply.status == 403
        page.goto("/console/room")
        assert page.locator("form.logout").count() == 1, "the session survived the forged logout"
        assert not any(e.get("action") == "alerts.ack" for e in server.journal()[events:])


def test_logging_out_ends_the_session(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "zhaomin")
        page.click("form.logout button")
        assert "/console/login" in page.url
        page.goto("/console/room")
        assert "/console/login" in page.url


def test_ops_sees_tenancies_runs_and_that_the_monitors_are_down(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "zhangwei")
        assert page.url.endswith("/console/ops")
        prometheus = page.inner_text('[data-monitor="Prometheus"]')
        assert "不可达 down" in prometheus, prometheus
        assert "暂无申请 / no requests" in page.inner_text("main")


def test_changing_the_password_in_the_browser(server: LiveServer) -> None:
    new = "Another-l0ng-Passw0rd!"
    with chromium() as browser:
        page = new_page(browser, server)
        page.goto("/console/login")
        page.click("text=修改密码 Change password")

        def change(current: str, wanted: str, again: str) -> str:
            page.fill("#user", "lina")
            page.fill("#password", current)
            page.fill("#new_password", wanted)
            page.fill("#new_again", again)
            page.click("button[type=submit]")
            return page.inner_text("main")

        assert "新密码不一致" in change(NEW_PASSWORD, new, new + "x")
        assert "用户名或密码错误" in change("wrong-Passw0rd-123", new, new)
        assert "at least 12 characters" in change(NEW_PASSWORD, "short", "short")
        assert "密码已修改" in change(NEW_PASSWORD, new, new)
        page.goto("/console/login")
        page.fill("#user", "lina")
        page.fill("#password", new)
        page.click("button[type=submit]")
        page.wait_for_selector("form.logout")
    changes = [e for e in server.journal() if e.get("action") == "auth.password"]
    assert changes and "lina" in str(changes[-1])


def test_a_person_enrols_a_second_factor_and_then_logs_in_with_it(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "gaofei")
        page.click("text=第二因子 2FA")
        assert "未启用 / not set up" in page.inner_text("#totp-state")
        page.click("button[type=submit] >> text=启用第二因子")
        page.wait_for_selector("img[alt*=QR]")  # clicks do not wait for the next page to load
        assert page.locator("img[alt*=QR]").count() == 1
        page.fill("#code", "000000")
        page.click("form[action='/console/totp/confirm'] button")
        page.wait_for_load_state("load")
        refused = page.inner_text("main")
        assert "动态口令" in refused or "code" in refused.lower(), refused

        page.goto("/console/totp")
        page.click("button[type=submit] >> text=启用第二因子")
        page.wait_for_selector("#otpauth")
        uri = page.inner_text("#otpauth")
        server.secrets["gaofei:totp"] = uri.split("secret=")[1].split("&")[0]
        page.fill("#code", server.code("gaofei"))
        page.click("form[action='/console/totp/confirm'] button")
        page.wait_for_selector("#recovery-codes li")
        assert page.locator("#recovery-codes li").count() == 10

        again = new_page(browser, server)
        again.goto("/console/login")
        again.fill("#user", "gaofei")
        again.fill("#password", NEW_PASSWORD)
        again.click("button[type=submit]")
        again.wait_for_selector("#code")  # the second factor is asked for (or this times out)
        again.fill("#code", server.code("gaofei"))
        again.click("button[type=submit]")
        again.wait_for_selector("form.logout")
    assert any(e.get("action") == "auth.totp.confirm" for e in server.journal())
