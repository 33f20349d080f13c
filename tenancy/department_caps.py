"""Department-wide caps: what all of a department's tenancies hold together, checked at submit."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcops.core.errors import InvalidInput, Problem
from dcops.core.site import Flavor, Site
from dcops.tenancy import states
from dcops.tenancy.model import TenancyRequest, Totals
from dcops.tenancy.records import RequestRecord

HOLDING = (*states.PENDING, *states.LIVE, states.OFFBOARDING)
"""States whose requests count against the department: not yet built, built, or not yet torn down."""

CAPPED = {
    "vcpus": ("vCPU", "vCPUs", ("compute",), ""),
    "ram_gb": ("内存", "RAM", ("compute",), " GB"),
    "volume_gb": ("云硬盘", "volume", ("compute",), " GB"),
    "instances": ("云主机数", "instances", ("compute",), ""),
    "load_balancers": ("负载均衡数", "load balancers", ("load_balancers",), ""),
    "k8s_cpu": ("Kubernetes CPU", "Kubernetes CPU", ("kubernetes", "quota", "cpu"), ""),
    "k8s_memory_gb": (
        "Kubernetes 内存",
        "Kubernetes memory",
        ("kubernetes", "quota", "memory"),
        " GiB",
    ),
    "k8s_pods": ("Kubernetes Pod 数", "Kubernetes pods", ("kubernetes", "quota", "pods"), ""),
}
"""Each capped total: its names in 中文 and English, the request field it comes from, its unit."""


def held_totals(
    session: Session, site: Site, department: str, leaving_out: str
) -> dict[str, Decimal]:
    """What the department's pending, live and offboarding tenancies hold, but tenancy leaving_out."""
    flavors = _flavors(site)
    held = dict.fromkeys(CAPPED, Decimal(0))
    specs = session.scalars(
        select(RequestRecord.spec)
        .where(RequestRecord.department == department)
        .where(RequestRecord.state.in_(HOLDING))
        .where(RequestRecord.name != leaving_out)
    )
    for spec in specs:
        _add(held, TenancyRequest.model_validate(spec).totals(flavors))
    return held


def check_department_caps(session: Session, site: Site, request: TenancyRequest) -> None:
    """Refuse a request that would take its department over a department-wide cap of its tier.

    A change replaces its live tenancy, so that tenancy's own holdings are left out.
    """
    code = request.department.code
    department, tier = site.department(code), site.tier_of(code)
    if department is None or tier is None:
        return
    caps = tier.department_caps.model_dump(exclude_none=True)
    if not caps:
        return
    held = held_totals(session, site, code, leaving_out=request.name)
    wanted = dict.fromkeys(CAPPED, Decimal(0))
    _add(wanted, request.totals(_flavors(site)))
    problems = list(_over(code, department.tier, caps, held, wanted))
    if problems:
        raise InvalidInput(f"tenancy request {request.name} is not valid", problems)


def _over(
    code: str,
    tier: str,
    caps: Mapping[str, int],
    held: Mapping[str, Decimal],
    wanted: Mapping[str, Decimal],
) -> Iterable[Problem]:
    for key, cap in caps.items():
        if not wanted[key] or held[key] + wanted[key] <= cap:
            continue
        zh, what, loc, unit = CAPPED[key]
        room = max(Decimal(cap) - held[key], Decimal(0))
        message = (
            f"部门 {code} 的{zh}总量将超过 {tier} 级别的部门上限：已占用 {_n(held[key])}{unit}，"
            f"本申请 {_n(wanted[key])}{unit}，上限 {cap}{unit} / department {code} would go over "
            f"the department-wide {what} cap of tier {tier!r}: in use {_n(held[key])}{unit} "
            f"(its pending and live tenancies), this request {_n(wanted[key])}{unit}, "
            f"limit {cap}{unit}; allowed: at most {_n(room)}{unit} more, or shrink or offboard "
            "another tenancy first"
        )
        yield Problem("request", ".".join(str(p) for p in loc), message)


def _add(into: dict[str, Decimal], totals: Totals) -> None:
    for key in CAPPED:
        into[key] += Decimal(getattr(totals, key))


def _flavors(site: Site) -> dict[str, Flavor]:
    return {f.name: f for f in site.config.catalogue.flavors}


def _n(value: Decimal) -> str:
    return format(value.normalize(), "f")
