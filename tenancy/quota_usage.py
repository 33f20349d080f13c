"""What a request costs against its department's tier: the request itself against the tier's
cap per tenancy, what the department's other tenancies already hold, and the total if it is
approved against the tier's department-wide cap (the same holdings the submit check counts)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from dcops.tenancy.department_caps import CAPPED, held_totals
from dcops.tenancy.model import TenancyRequest

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from dcops.core.site import Site
    from dcops.tenancy.records import RequestRecord


@dataclass(frozen=True)
class UsageLine:
    """One resource: the request's cost, the department's other holdings, the tier's caps."""

    resource: str
    unit: str
    requested: Decimal
    held: Decimal
    cap: int
    department_cap: int | None

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
        """Whether the request alone, or the department with it, is above a cap."""
        whole = self.department_cap is not None and self.after > self.department_cap
        return self.requested > self.cap or whole


@dataclass(frozen=True)
class QuotaUsage:
    """A request's cost against its department's tier."""

    department: str
    tier: str
    lines: list[UsageLine]


def quota_usage(session: Session, site: Site, record: RequestRecord) -> QuotaUsage | None:
    """The usage for one stored request, or None when its department has no tier."""
    tier = site.tier_of(record.department)
    department = site.department(record.department)
    if tier is None or department is None:
        return None
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    mine = TenancyRequest.model_validate(record.spec).totals(flavors)
    held = held_totals(session, site, record.department, leaving_out=record.name)
    whole = tier.department_caps.model_dump(exclude_none=True)
    lines = [
        UsageLine(
            resource=_title(zh, en),
            unit=unit.strip(),
            requested=Decimal(getattr(mine, key)),
            held=held[key],
            cap=int(getattr(tier, key)),
            department_cap=whole.get(key),
        )
        for key, (zh, en, _, unit) in CAPPED.items()
    ]
    return QuotaUsage(department.code, tier.title, lines)


def _title(zh: str, en: str) -> str:
    """One name in both languages without saying a shared word twice: 内存 RAM, Kubernetes CPU."""
    if en.startswith(zh):
        return zh
    common = "Kubernetes "
    if zh.startswith(common) and en.startswith(common):
        return common + _title(zh[len(common) :], en[len(common) :])
    return f"{zh} {en}"
