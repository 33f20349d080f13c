"""A request's cost against its department's tier: its own totals, the department's other
approved tenancies (not pending or rejected ones), and the total if it is approved."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from dcops.core.identity import Actor
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.quota_usage import QuotaUsage, quota_usage
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
    assert usage.tier == "标准 standard" and usage.held_by == ["fgw-production"]
    assert _line(usage, "vCPU") == (16, 8, 24, 64, 25)
    assert _line(usage, "内存 RAM") == (64, 24, 88, 256, 25)
    assert _line(usage, "云盘 Volumes") == (400, 700, 1100, 5000, 8)
    assert not any(line.over for line in usage.lines)


def test_pending_and_rejected_requests_hold_nothing(
    site: Site, make_request: Callable[..., TenancyRequest], person: Callable[[str], Actor]
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.reject(site, "fgw-production", person("chenjing"), "not now")
    lifecycle.submit(site, make_request(**STAGING), person("wanglei"))
    usage = _usage(site, "fgw-staging")
    assert usage.held_by == [] and _line(usage, "vCPU") == (16, 0, 16, 64, 25)
    own = _usage(site, "fgw-production")  # the tenancy's own requests never count twice
    assert own.held_by == [] and _line(own, "vCPU")[:3] == (8, 0, 8)
