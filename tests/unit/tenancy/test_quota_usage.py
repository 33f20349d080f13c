"""A request's cost against its department's tier: its own totals against the cap per tenancy,
the department's other pending and live tenancies (not rejected ones), and the total if it is
approved against the department-wide cap."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from dcops.core.identity import Actor
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.quota_usage import QuotaUsage, UsageLine, quota_usage
from dcops.tenancy.store import find_request, open_store

STAGING = {
    "name": "fgw-staging", "environment": "staging", "ingress": [], "load_balancers": [],
    "vpn": [], "kubernetes": None,
    "compute": [{"name": "app", "flavor": "c8.m32", "image": "kylin-v10-sp3", "count": 2,
                 "volume_gb": 200}],
}  # fmt: skip


def _usage(site: Site, ref: str) -> QuotaUsage:
    with open_store(site).reading() as db:
        found = quota_usage(db, site, find_request(db, ref))
    assert found is not None
    return found


def _line(usage: QuotaUsage, resource: str) -> tuple[Decimal, Decimal, Decimal, int, int]:
    line = next(x for x in usage.lines if x.resource == resource)
    return line.requested, line.held, line.after, line.cap, line.share


def test_the_cost_counts_the_departments_approved_tenancies_against_the_tier(
    site: Site, make_request: Callable[..., TenancyRequest], person: Callable[[str], Actor]
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))  # 2×c2.m4 + c4.m16
    lifecycle.approve(site, "fgw-production", person("chenjing"))
    lifecycle.submit(site, make_request(**STAGING), person("wanglei"))
    usage = _usage(site, "fgw-staging")
    assert usage.tier == "标准 standard" and usage.department == "fgw"
    assert _line(usage, "vCPU") == (16, 8, 24, 64, 25)
    assert _line(usage, "内存 RAM") == (64, 24, 88, 256, 25)
    assert _line(usage, "云硬盘 volume") == (400, 700, 1100, 5000, 8)
    assert not any(line.over for line in usage.lines)
    assert all(line.department_cap is None for line in usage.lines)  # standard sets none


def test_a_rejected_request_holds_nothing_and_a_pending_one_holds_its_share(
    site: Site, make_request: Callable[..., TenancyRequest], person: Callable[[str], Actor]
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.reject(site, "fgw-production", person("chenjing"), "not now")
    lifecycle.submit(site, make_request(**STAGING), person("wanglei"))
    usage = _usage(site, "fgw-staging")
    assert _line(usage, "vCPU") == (16, 0, 16, 64, 25)
    own = _usage(site, "fgw-production")  # a tenancy's own requests never count twice
    assert _line(own, "vCPU")[:3] == (8, 16, 24)  # fgw-staging is pending: it holds its vCPUs


def test_a_resource_is_over_when_the_request_or_the_department_total_passes_its_cap() -> None:
    def line(requested: int, held: int, department_cap: int | None) -> UsageLine:
        return UsageLine("vCPU", "", Decimal(requested), Decimal(held), 64, department_cap)

    assert not line(64, 0, None).over and line(65, 0, None).over
    assert not line(16, 16, 32).over and line(16, 17, 32).over
