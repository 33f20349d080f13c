"""What a request costs against its department's tier: the request itself, what the
department's other approved tenancies already hold, and the total if it is approved."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import select

from dcops.tenancy.model import TenancyRequest, Totals
from dcops.tenancy.records import RequestRecord
from dcops.tenancy.store import APPROVED_STATES

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dcops.core.site import Site

# (Totals field, Tier field, what a person reads, unit)
RESOURCES = (
    ("vcpus", "vcpus", "vCPU", ""),
    ("ram_gb", "ram_gb", "内存 RAM", "GB"),
    ("volume_gb", "volume_gb", "云盘 Volumes", "GB"),
    ("instances", "instances", "云主机 Servers", ""),
    ("networks", "networks", "网络 Networks", ""),
    ("load_balancers", "load_balancers", "负载均衡 Load balancers", ""),
    ("vpn_peers", "vpn_peers", "VPN 对端 VPN peers", ""),
    ("k8s_cpu", "k8s_cpu", "Kubernetes CPU", ""),
    ("k8s_memory_gb", "k8s_memory_gb", "Kubernetes 内存 memory", "GiB"),
    ("k8s_pods", "k8s_pods", "Kubernetes pods", ""),
)


@dataclass(frozen=True)
class UsageLine:
    """One resource: the request's cost, the department's other holdings, the tier's cap."""

    resource: str
    unit: str
    requested: Decimal
    held: Decimal
    cap: int

    @property
    def after(self) -> Decimal:
        """The department's total if the request is approved."""
        return self.requested + self.held

    @property
    def share(self) -> int:
        """The request's cost as a whole percentage of the tier's cap (0 when the cap is 0)."""
        return int(100 * self.requested / self.cap) if self.cap else 0

    @property
    def over(self) -> bool:
        """Whether the request alone asks for more than the tier allows."""
        return self.requested > self.cap


@dataclass(frozen=True)
class QuotaUsage:
    """A request's cost against its department's tier, and the tenancies already held."""

    department: str
    tier: str
    held_by: list[str]
    lines: list[UsageLine]


def quota_usage(session: Session, site: Site, record: RequestRecord) -> QuotaUsage | None:
    """The usage for one stored request, or None when its department has no tier."""
    tier = site.tier_of(record.department)
    department = site.department(record.department)
    if tier is None or department is None:
        return None
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    mine = TenancyRequest.model_validate(record.spec).totals(flavors)
    held = _held(session, record)
    held_totals = [TenancyRequest.model_validate(r.spec).totals(flavors) for r in held]
    lines = [
        UsageLine(
            resource=title,
            unit=unit,
            requested=_amount(mine, total),
            held=sum((_amount(t, total) for t in held_totals), Decimal(0)),
            cap=int(getattr(tier, cap)),
        )
        for total, cap, title, unit in RESOURCES
    ]
    return QuotaUsage(department.code, tier.title, [r.name for r in held], lines)


def _held(session: Session, record: RequestRecord) -> list[RequestRecord]:
    """The newest approved request of each of the department's other tenancies."""
    rows = session.scalars(
        select(RequestRecord)
        .where(RequestRecord.department == record.department)
        .where(RequestRecord.state.in_(APPROVED_STATES))
        .where(RequestRecord.name != record.name)
        .order_by(RequestRecord.id)
    )
    newest: dict[str, RequestRecord] = {}
    for row in rows:
        newest[row.name] = row
    return sorted(newest.values(), key=lambda r: r.name)


def _amount(totals: Totals, name: str) -> Decimal:
    return Decimal(getattr(totals, name))
