"""Departments, approvers and auditors in Debian's Chromium against a real `dcops serve`: a
request filled with a mistake, its field error, the fix, a draft, the submission; approval with
TOTP, two different approvers for a large request; the auditor's journal, proof, verification
and report."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.conftest import copy_site
from tests.integration.server.browser import chromium, log_in, new_page, shoot
from tests.integration.server.live_server import LiveServer, run_cli

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with two departments, two approvers (TOTP) and an auditor (TOTP)."""
    site = copy_site(tmp_path_factory.mktemp("console-tenancy") / "site")
    live = LiveServer(site)
    live.start()
    try:
        for user, second in (("wanglei", False), ("lina", False), ("chenjing", True),
                             ("liuyang", True), ("sunli", True)):  # fmt: skip
            live.account(user, second_factor=second)
        yield live
    finally:
        live.stop()


def _expiry(days: int) -> str:
    return (datetime.date.today() + datetime.timedelta(days=days)).isoformat()


def _fill(page: Page, environment: str, flavor: str, count: str, days: int = 300) -> None:
    page.goto("/console/requests/new")
    page.fill("#f-purpose", "项目审批系统 project approval system")
    page.select_option("#f-environment", environment)
    page.select_option("#f-classification", "level-3")
    page.fill("#f-expires", _expiry(days))
    page.fill('[id="f-contacts[0].name"]', "王磊")
    page.fill('[id="f-contacts[0].email"]', "wanglei@fgw.example.gov.cn")
    page.fill('[id="f-compute[0].name"]', "web")
    page.select_option('[id="f-compute[0].flavor"]', flavor)
    page.select_option('[id="f-compute[0].image"]', "kylin-v10-sp3")
    page.fill('[id="f-compute[0].count"]', count)
    page.fill('[id="f-networks[0].name"]', "app")
    page.select_option('[id="f-networks[0].size"]', "24")


def _quota(page: Page, resource: str) -> list[str]:
    """The approval page's cost row for one resource: request, cap, share, held, total and the
    department-wide cap."""
    cells = page.locator(f'#quota tr[data-resource="{resource}"] td').all_inner_texts()
    return [c.strip() for c in cells]


def _state(page: Page) -> str:
    return page.inner_text("#state").strip()


def _addresses(server: LiveServer) -> dict[str, object]:
    """The store's IPAM as the API reports it: every pool's use and every allocation."""
    with server.client() as client:
        got = client.get(
            "/api/v1/ipam", headers={"Authorization": f"Bearer {server.token('liuyang')}"}
        )
    assert got.status_code == 200, got.text
    return dict(got.json())


def _cidr(page: Page, section: str, network: str) -> str:
    return page.inner_text(f'#{section} tr[data-network="{network}"] .cidr').strip()


def test_a_department_fills_the_form_sees_the_field_error_fixes_it_and_submits(
    server: LiveServer, tmp_path: Path
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "wanglei")
        assert page.url.endswith("/console/requests")
        _fill(page, "production", "c2.m4", "0")
        with page.expect_response("**/console/requests/check") as checked:
            page.locator('[id="f-compute[0].count"]').dispatch_event("change")
        assert checked.value.status == 200, checked.value.text()
        error = page.locator('[id="e-compute[0].count"]')
        error.filter(has_text="数量有误").wait_for(timeout=30_000)
        assert "greater than 0" in error.inner_text()
        page.locator("fieldset", has=error).scroll_into_view_if_needed()
        shoot(page, "request-form.png", tmp_path)

        page.fill('[id="f-compute[0].count"]', "2")
        page.locator('[id="f-compute[0].count"]').dispatch_event("change")
        page.locator('[id="e-compute[0].count"]:empty').wait_for(state="attached", timeout=30_000)

        page.click("button[value=draft]")
        assert "草稿已保存" in page.inner_text("main")
        page.goto("/console/requests/new")
        assert page.input_value('[id="f-compute[0].count"]') == "2", "the draft was not kept"

        page.click("button[value=preview]")
        preview = page.inner_text("#preview")
        assert "servers web: 2 × c2.m4" in preview and "Approvers needed: 1" in preview
        assert page.locator("#preview .verdict-deny").count() == 0

        page.click("button[value=submit]")
        page.wait_for_selector("#state")
        assert _state(page) == "submitted"
        assert "fgw-production" in page.inner_text("h1")
        with page.expect_download() as download:
            page.click("text=下载 YAML")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert "flavor: c2.m4" in text and "fgw" in text
    submits = [e for e in server.journal() if e.get("action") == "tenancy.submit"]
    assert submits and submits[-1]["actor"]["user"] == "wanglei"


def test_the_form_offers_the_sites_network_sizes_and_shows_the_tier(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "wanglei")
        page.goto("/console/requests/new")
        size = page.locator('[id="f-networks[0].size"]')
        offered = size.locator("option").evaluate_all("os => os.map(o => o.value)")
        # the request model allows /16 to /28, and the site's tenant pools are /16s
        assert offered == [""] + [str(n) for n in range(16, 29)]
        assert "/24 (256 个地址 addresses)" in size.inner_text()
        tier = page.inner_text('#tiers li[data-department="fgw"]')
        assert "标准 standard" in tier and "4 个网络 networks" in tier
        assert "超过 32 vCPU 需两位审批人 / above 32 vCPU two approvers" in tier

        # a size the select does not offer, posted anyway, is refused by the same validators
        size.evaluate("s => { s.add(new Option('/12', '12')); s.value = '12'; }")
        size.dispatch_event("change")
        error = page.locator('[id="e-networks[0].size"]')
        error.filter(has_text="网络网段大小有误").wait_for(timeout=30_000)
        assert "greater than or equal to 16" in error.inner_text()


def test_an_approver_with_totp_sees_the_verdicts_and_approves(
    server: LiveServer, tmp_path: Path
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "chenjing")
        row = page.locator("tr", has_text="fgw-production")
        row.locator("a").click()
        verdicts = page.locator("#verdicts li.verdict-pass")
        assert verdicts.count() >= 3, page.inner_text("main")
        assert "servers web: 2 × c2.m4" in page.inner_text("main")
        shoot(page, "request-approval.png", tmp_path)
        page.fill("#comment", "同意 approved")
        page.click("#approve-form button")
        page.wait_for_selector("#state")
        assert _state(page) == "approved"
        assert "chenjing" in page.inner_text("#approvals")


def test_an_approver_sees_the_addresses_to_be_allocated_and_the_view_allocates_none(
    server: LiveServer,
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "lina")
        _fill(page, "staging", "c2.m4", "1")
        page.fill('[id="f-networks[1].name"]', "db")
        page.select_option('[id="f-networks[1].size"]', "26")
        page.click("button[value=submit]")
        page.wait_for_selector("#state")
        ident = page.url.rsplit("/", 1)[1]
        assert "wjw-staging" in page.inner_text("h1")
        assert page.locator("#to-allocate").count() == 0  # the approver's section only

        before = _addresses(server)
        approver = new_page(browser, server)
        log_in(approver, server, "chenjing")
        approver.goto(f"/console/requests/{ident}")
        section = approver.inner_text("#to-allocate")
        assert "将分配的地址 / Addresses to be allocated" in section
        # the lowest free aligned blocks of the staging pool, the /24 picked before the /26
        assert _cidr(approver, "to-allocate", "app") == "10.21.0.0/24"
        assert _cidr(approver, "to-allocate", "db") == "10.21.1.0/26"
        assert "tenant-staging" in section
        approver.reload()
        assert _addresses(server) == before, "viewing the request changed the IPAM"
        assert _state(approver) == "submitted"

        approver.click("#approve-form button")
        approver.wait_for_selector("#state")
        assert _state(approver) == "approved"
        assert approver.locator("#to-allocate").count() == 0
        assert _cidr(approver, "allocated", "app") == "10.21.0.0/24"
        assert _cidr(approver, "allocated", "db") == "10.21.1.0/26"
        held = {(a["tenancy"], a["cidr"]) for a in _addresses(server)["allocations"]}
        assert {("wjw-staging", "10.21.0.0/24"), ("wjw-staging", "10.21.1.0/26")} <= held


def test_a_large_request_needs_two_different_approvers(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "wanglei")
        _fill(page, "staging", "c16.m64", "3", days=20)
        page.click("button[value=submit]")
        page.wait_for_selector("#state")
        ident = page.url.rsplit("/", 1)[1]
        assert _state(page) == "submitted"

        first = new_page(browser, server)
        log_in(first, server, "chenjing")
        first.goto(f"/console/requests/{ident}")
        first.click("#approve-form button")
        first.wait_for_selector("#state")
        assert _state(first) == "submitted" and "1/2" in first.inner_text("#approvals")
        first.goto(f"/console/requests/{ident}")
        with first.expect_response(lambda r: r.request.method == "POST") as refused:
            first.click("#approve-form button")
        assert refused.value.status == 403
        assert "chenjing has already approved" in first.inner_text("main")

        second = new_page(browser, server)
        log_in(second, server, "liuyang")
        second.goto(f"/console/requests/{ident}")
        # 3 × c16.m64 against the standard tier, with fgw-production (2 × c2.m4) approved before
        assert _quota(second, "vCPU") == ["48", "64", "75%", "4", "52", "—"]
        assert _quota(second, "内存 RAM") == ["192 GB", "256 GB", "75%", "8 GB", "200 GB", "—"]
        second.click("#approve-form button")
        second.wait_for_selector("#state")
        assert _state(second) == "approved" and "2/2" in second.inner_text("#approvals")

        page.goto("/console/requests")
        reminder = page.locator(f'[data-expiring="{ident}"]')
        assert (
            reminder.count() == 1
            and "即将到期 / expires soon: fgw-staging" in reminder.inner_text()
        )
        assert page.locator('[data-expiring="1"]').count() == 0  # fgw-production ends in 300 days


def test_another_department_cannot_open_the_request(server: LiveServer) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "lina")
        reply = page.goto("/console/requests/1")
        assert reply is not None and reply.status == 403
        assert "another department" in page.inner_text("main")
        assert page.locator("tr", has_text="fgw-production").count() == 0
        page.goto("/console/requests")
        assert page.locator("tr", has_text="fgw-production").count() == 0


def test_an_auditor_filters_the_journal_checks_a_proof_verifies_and_downloads_the_report(
    server: LiveServer, tmp_path: Path
) -> None:
    made = run_cli(server.site, "audit", "checkpoint", user="sunli")
    assert made.returncode == 0, made.stderr
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "sunli")
        assert page.url.endswith("/console/audit")
        page.fill("input[name=user]", "wanglei")
        page.click("form.filters button")
        actions = page.locator("table.journal tr[data-action]")
        assert actions.count() >= 2
        users = page.locator("table.journal tbody td:nth-child(3)").all_inner_texts()
        assert set(users) == {"wanglei"}
        shoot(page, "audit.png", tmp_path)

        page.locator("table.journal tr[data-action=tenancy\\.submit] a").first.click()
        assert '"leaf_hash"' in page.inner_text("#proof")

        page.goto("/console/audit")
        page.click("#verify-now")
        assert "校验通过" in page.inner_text("#verdict")

        page.goto("/console/audit")
        with page.expect_download() as download:
            page.click("#report-csv")
        csv = Path(download.value.path()).read_text(encoding="utf-8")
        assert "tenancy.submit" in csv and "wanglei" in csv
        with page.expect_download() as download:
            page.click("#report-html")
        html = Path(download.value.path()).read_text(encoding="utf-8")
        assert "<html" in html.lower() and "tenancy.approve" in html


def test_ingress_load_balancer_vpn_and_kubernetes_are_checked_field_by_field(
    server: LiveServer,
) -> None:
    with chromium() as browser:
        page = new_page(browser, server)
        log_in(page, server, "lina")
        page.goto("/console/requests/new")
        _fill(page, "production", "c2.m4", "2")
        page.fill('[id="f-ingress[0].to"]', "web")
        page.fill('[id="f-ingress[0].port"]', "443")
        page.fill('[id="f-ingress[0].from"]', "0.0.0.0/0")
        page.fill('[id="f-ingress[0].description"]', "public HTTPS")
        page.fill('[id="f-load_balancers[0].name"]', "web")
        page.fill('[id="f-load_balancers[0].port"]', "443")
        page.fill('[id="f-load_balancers[0].members"]', "web")
        page.fill('[id="f-vpn[0].name"]', "hq")
        page.fill('[id="f-vpn[0].peer_address"]', "203.0.113.300")  # not an address
        page.fill('[id="f-vpn[0].peer_cidrs"]', "192.168.20.0/24, 192.168.21.0/24")
        page.fill('[id="f-vpn[0].psk_secret"]', "wjw-hq-psk")
        page.fill('[id="f-kubernetes.namespace"]', "wjw")
        page.fill('[id="f-kubernetes.quota.cpu"]', "4")
        page.fill('[id="f-kubernetes.quota.memory"]', "16 gigs")  # not a quantity
        page.fill('[id="f-kubernetes.quota.pods"]', "50")
        for name in ("vpn[0].peer_address", "kubernetes.quota.memory"):
            page.locator(f'[id="f-{name}"]').dispatch_event("change")
        address = page.locator('[id="e-vpn[0].peer_address"]')
        address.filter(has_text="VPN对端地址有误").wait_for(timeout=30_000)
        assert "'203.0.113.300' is not an IP address" in address.inner_text()
        memory = page.locator('[id="e-kubernetes.quota.memory"]')
        memory.filter(has_text="内存配额有误").wait_for(timeout=30_000)

        page.fill('[id="f-vpn[0].peer_address"]', "203.0.113.20")
        page.fill('[id="f-kubernetes.quota.memory"]', "16Gi")
        page.fill('[id="f-compute[0].name"]', "web")
        page.click("button[value=preview]")
        preview = page.inner_text("#preview")
        assert "load balancer web: TCP/443 → web" in preview
        assert "vpn hq: 203.0.113.20 (192.168.20.0/24, 192.168.21.0/24)" in preview
        assert "kubernetes namespace wjw" in preview
        assert page.locator(".field-error:not(:empty)").count() == 0

        page.click("button[value=submit]")
        page.wait_for_selector("#state")
        assert _state(page) == "submitted" and "wjw-production" in page.inner_text("h1")
        with page.expect_download() as download:
            page.click("text=下载 YAML")
        text = Path(download.value.path()).read_text(encoding="utf-8")
        assert "psk_secret: wjw-hq-psk" in text and "pods: 50" in text and "port: 443" in text
