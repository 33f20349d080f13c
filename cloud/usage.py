"""Usage against quotas: per department, what is used, what the clouds' quotas allow, what its
tenancies were granted and what its tier allows."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import PLATFORM, UNOWNED, Scope, ServiceFailure
from dcops.core.site import Site

METRICS = (
    ("vcpus", "vCPU"),
    ("ram_gb", "GiB"),
    ("instances", "servers"),
    ("floating_ips", "IPs"),
    ("load_balancers", "LBs"),
    ("k8s_cpu", "cores"),
    ("k8s_memory_gb", "GiB"),
    ("k8s_pods", "pods"),
)
"""What is measured, in the units of the tier caps."""
PARALLEL_READS = 4
DEFAULT_THRESHOLD = 90.0
"""Use at or above this percentage of what was granted is flagged (the alert rules use it too)."""


@dataclass
class UsageLine:
    """One department's use of one metric against its quota, its grants and its tier."""

    department: str
    metric: str
    unit: str
    used: float = 0.0
    quota: float | None = 0.0
    """Sum of the live quotas; None when one of them is unlimited or could not be read."""
    granted: float = 0.0
    tier: float | None = None
    department_cap: float | None = None
    """The tier's department-wide cap; None when the tier declares none for this metric."""

    @property
    def percent(self) -> float | None:
        """Use as a percentage of what was granted, else of the live quota."""
        limit = self.granted or self.quota
        return None if not limit else 100.0 * self.used / limit

    def over(self, threshold: float) -> bool:
        """Whether use reached the threshold, or exceeds the tier's cap."""
        percent = self.percent
        beyond_tier = self.tier is not None and self.used > self.tier
        return beyond_tier or (percent is not None and percent >= threshold)

    def as_dict(self, threshold: float) -> dict[str, Any]:
        """The line as plain data."""
        percent = self.percent
        return {
            "department": self.department,
            "metric": self.metric,
            "unit": self.unit,
            "used": self.used,
            "quota": self.quota,
            "granted": self.granted,
            "tier": self.tier,
            "department_cap": self.department_cap,
            "percent": None if percent is None else round(percent, 1),
            "over": self.over(threshold),
        }


@dataclass
class Usage:
    """Every department's lines, and the quota reads that failed."""

    lines: list[UsageLine]
    failures: list[ServiceFailure] = field(default_factory=list)


def quantity(text: str, memory: bool = False) -> float:
    """A Kubernetes quantity in cores or GiB ("500m" → 0.5, "4Gi" → 4)."""
    from dcops.stacks.policies import parse_cpu, parse_memory_gib

    return parse_memory_gib(text) if memory else parse_cpu(text)


def _k8s(hard_or_used: dict[str, str], metric: str) -> float:
    keys = {
        "k8s_cpu": ("limits.cpu", "requests.cpu", "cpu"),
        "k8s_memory_gb": ("limits.memory", "requests.memory", "memory"),
        "k8s_pods": ("pods",),
    }[metric]
    for key in keys:
        if key in hard_or_used:
            return quantity(hard_or_used[key], memory=metric == "k8s_memory_gb")
    return 0.0


def openstack_quotas(connection: Any, project_id: str) -> dict[str, float | None]:
    """A project's quotas and use from Nova, Neutron and Octavia (-1, unlimited, is None)."""

    def limit(value: Any) -> float | None:
        return None if value is None or int(value) < 0 else float(value)

    compute = connection.compute.get_quota_set(project_id, usage=True)
    network = connection.network.get_quota(project_id, details=True)
    found: dict[str, float | None] = {
        "vcpus": limit(compute.cores),
        "ram_gb": None if limit(compute.ram) is None else float(compute.ram) / 1024,
        "instances": limit(compute.instances),
        "floating_ips": limit((network.floating_ips or {}).get("limit")),
        "used.vcpus": float((compute.usage or {}).get("cores") or 0),
        "used.ram_gb": float((compute.usage or {}).get("ram") or 0) / 1024,
        "used.instances": float((compute.usage or {}).get("instances") or 0),
        "used.floating_ips": float((network.floating_ips or {}).get("used") or 0),
    }
    if connection.has_service("load-balancer"):
        found["load_balancers"] = limit(
            connection.load_balancer.get_quota(project_id).load_balancers
        )
    return found


QuotaReader = Callable[[str], dict[str, float | None]]


def measure(
    site: Site,
    inventory: Inventory,
    read_quotas: QuotaReader | None,
) -> Usage:
    """Each department's use against the live quotas of its projects, its grants and its tier."""
    usage = Usage([])
    departments = sorted({s.department for s in inventory.scopes} - {PLATFORM, UNOWNED})
    lines = {
        (d, metric): UsageLine(
            d, metric, unit, tier=_tier(site, d, metric), department_cap=_cap(site, d, metric)
        )
        for d in departments
        for metric, unit in METRICS
    }
    projects = [
        s for s in inventory.scopes if s.cloud == "openstack" and s.department in departments
    ]
    quotas = _read_all(projects, read_quotas, usage.failures)
    for scope in inventory.scopes:
        if scope.department in departments:
            _add_scope(lines, scope, quotas.get(scope.id))
    for tenancy in inventory.tenancies:
        _add_grant(site, lines, tenancy)
    usage.lines = list(lines.values())
    return usage


def _read_all(
    projects: list[Scope], read_quotas: QuotaReader | None, failures: list[ServiceFailure]
) -> dict[str, dict[str, float | None]]:
    if read_quotas is None:
        return {}

    def one(scope: Scope) -> tuple[Scope, dict[str, float | None] | None, str]:
        try:
            return scope, read_quotas(scope.id), ""
        except Exception as error:
            return scope, None, f"{type(error).__name__}: {' '.join(str(error).split())[:300]}"

    with ThreadPoolExecutor(max_workers=PARALLEL_READS) as pool:
        results = list(pool.map(one, projects))
    found = {}
    for scope, quotas, error in results:
        if quotas is None:
            failures.append(ServiceFailure("openstack", f"quotas/{scope.name}", error))
        else:
            found[scope.id] = quotas
    return found


def _add_scope(
    lines: dict[tuple[str, str], UsageLine], scope: Scope, quotas: dict[str, float | None] | None
) -> None:
    d = scope.department
    if scope.cloud == "kubernetes":
        for quota in scope.of_kind("resource_quota"):
            for metric in ("k8s_cpu", "k8s_memory_gb", "k8s_pods"):
                line = lines[(d, metric)]
                line.used += _k8s(quota.details.get("used") or {}, metric)
                if line.quota is not None:
                    line.quota += _k8s(quota.details.get("hard") or {}, metric)
        return
    lines[(d, "load_balancers")].used += len(scope.of_kind("load_balancer"))
    for metric in ("vcpus", "ram_gb", "instances", "floating_ips", "load_balancers"):
        line = lines[(d, metric)]
        if quotas is None:
            line.quota = None
            continue
        if metric != "load_balancers":
            line.used += quotas.get(f"used.{metric}") or 0.0
        value = quotas.get(metric)
        line.quota = None if value is None or line.quota is None else line.quota + value


def _add_grant(site: Site, lines: dict[tuple[str, str], UsageLine], tenancy: Tenancy) -> None:
    from dcops.tenancy.model import TenancyRequest

    request = TenancyRequest.model_validate(tenancy.spec)
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    totals = request.totals(flavors)
    k8s = request.kubernetes
    granted: dict[str, int | Decimal] = {
        "vcpus": totals.vcpus,
        "ram_gb": totals.ram_gb,
        "instances": totals.instances,
        "floating_ips": sum(1 for lb in request.load_balancers if lb.floating_ip),
        "load_balancers": totals.load_balancers,
        "k8s_cpu": totals.k8s_cpu,
        "k8s_memory_gb": totals.k8s_memory_gb,
        "k8s_pods": totals.k8s_pods if k8s else 0,
    }
    for metric, value in granted.items():
        if (tenancy.department, metric) in lines:
            lines[(tenancy.department, metric)].granted += float(Decimal(value))


def _tier(site: Site, department: str, metric: str) -> float | None:
    tier = site.tier_of(department)
    if tier is None or metric == "floating_ips":
        return None
    return float(getattr(tier, metric))


def _cap(site: Site, department: str, metric: str) -> float | None:
    tier = site.tier_of(department)
    value = getattr(tier.department_caps, metric, None) if tier else None
    return None if value is None else float(value)
