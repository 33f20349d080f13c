"""The scan's HTML report for auditors: what it says, and that names from the cloud stay text."""

from __future__ import annotations

from html.parser import HTMLParser

from dcops.cloud.findings import Finding
from dcops.cloud.inventory import Inventory
from dcops.cloud.records import Scope, ServiceFailure
from dcops.cloud.scan_report import ScanReport, html_page

HOSTILE = "x<script>alert('p')</script>&\"q"
ROGUE = "<img src=x onerror=alert(1)>"


class _Page(HTMLParser):
    """Start tags seen, and the text of each table cell."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.cells: list[str] = []
        self._cell = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self._cell = tag == "td"
        if self._cell:
            self.cells.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = False

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.cells[-1] += data


def _report(findings: list[Finding], failures: list[ServiceFailure]) -> ScanReport:
    scopes = [Scope("openstack", HOSTILE, "p1"), Scope("openstack", "fgw-production", "p2")]
    inventory = Inventory(scopes, failures, [], {}, 0.0)
    return ScanReport(
        "gdc", "市政务大数据中心", "2026-12-02T05:00:00Z", "sunli (孙丽)", findings, inventory
    )


def _parsed(page: str) -> _Page:
    parser = _Page()
    parser.feed(page)
    return parser


def test_hostile_names_from_the_cloud_are_shown_as_text_never_as_markup() -> None:
    findings = [
        Finding(
            "scope-without-tenancy",
            "openstack",
            HOSTILE,
            "unowned",
            "project",
            "p1",
            HOSTILE,
            f"project {HOSTILE}",
        ),
        Finding(
            "sg-rule-description",
            "openstack",
            "fgw-production",
            "fgw",
            "security_group_rule",
            "r1",
            ROGUE,
            "no description",
        ),
    ]
    failures = [ServiceFailure("openstack", "load-balancer", f"HTTP 500: {ROGUE}")]
    page = html_page(_report(findings, failures))
    parsed = _parsed(page)
    assert "script" not in parsed.tags and "img" not in parsed.tags
    assert HOSTILE not in page and ROGUE not in page
    assert HOSTILE in parsed.cells and f"project {HOSTILE}" in parsed.cells
    assert f"security_group_rule {ROGUE}" in parsed.cells
    assert f"HTTP 500: {ROGUE}" in parsed.cells


def test_the_report_gives_verdict_counts_findings_and_rules_like_the_audit_report() -> None:
    findings = [
        Finding(
            "no-admin-port-to-world",
            "openstack",
            "fgw-production",
            "fgw",
            "security_group_rule",
            "r2",
            "ssh",
            "port 22 open",
        ),
        Finding(
            "scope-without-tenancy",
            "openstack",
            HOSTILE,
            "unowned",
            "project",
            "p1",
            HOSTILE,
            "no tenancy",
        ),
    ]
    page = html_page(_report(findings, []))
    assert '<p class="bad">2 项不合规 / 2 findings (1 critical, 1 high) in 2 scopes</p>' in page
    assert "<h2>未能读取 Services not read</h2>\n<p>None. 无。</p>" in page
    cells = _parsed(page).cells
    assert cells[cells.index("critical") : cells.index("critical") + 2] == ["critical", "1"]
    assert (
        "删除该规则，仅允许堡垒机或运维网段 / delete the rule; allow the bastion or ops CIDR only"
        in cells
    )
    assert "sunli (孙丽)" in page and "td,th{border:1px solid #999" in page


def test_a_clean_scan_says_so_and_an_unread_service_makes_it_incomplete() -> None:
    clean = html_page(_report([], []))
    assert '<p class="ok">未发现不合规 / no findings in 2 scopes</p>' in clean
    unread = html_page(_report([], [ServiceFailure("openstack", "network", "timed out")]))
    assert (
        '<p class="bad">未发现不合规 / no findings in 2 scopes; 未能读取 not read: openstack network (scan incomplete)</p>'
        in unread
    )
