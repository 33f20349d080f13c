"""The inventory: both clouds read, every scope given its owner, totals per department."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from dcops.cloud.ownership import Owners, Tenancy, tenancies
from dcops.cloud.records import PLATFORM, UNOWNED, Reading, Scope, ServiceFailure
from dcops.core.errors import InputError
from dcops.core.site import Site

COUNTED = (
    "server",
    "volume",
    "network",
    "router",
    "floating_ip",
    "security_group",
    "security_group_rule",
    "load_balancer",
    "vpn_connection",
    "resource_quota",
    "workload",
    "pod",
)
"""The kinds an inventory counts, in the order it shows them."""


@dataclass
class DepartmentTotals:
    """What one department (or `unowned`, or `platform`) holds across both clouds."""

    department: str
    projects: int = 0
    namespaces: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    vcpus: int = 0
    ram_mb: int = 0
    volume_gb: int = 0

    def add(self, scope: Scope) -> None:
        """Count one scope's resources into the totals."""
        if scope.cloud == "openstack":
            self.projects += 1
        else:
            self.namespaces += 1
        self.counts.update(r.kind for r in scope.resources if r.kind in COUNTED)
        for server in scope.of_kind("server"):
            self.vcpus += int(server.details.get("vcpus") or 0)
            self.ram_mb += int(server.details.get("ram_mb") or 0)
        self.volume_gb += sum(int(v.details.get("size_gb") or 0) for v in scope.of_kind("volume"))

    def as_dict(self) -> dict[str, Any]:
        """The totals as plain data."""
        return {
            "department": self.department,
            "projects": self.projects,
            "namespaces": self.namespaces,
            "counts": {kind: self.counts.get(kind, 0) for kind in COUNTED},
            "vcpus": self.vcpus,
            "ram_mb": self.ram_mb,
            "volume_gb": self.volume_gb,
        }


@dataclass
class Inventory:
    """Every scope of both clouds with its owner; failures of services that could not be read."""

    scopes: list[Scope]
    failures: list[ServiceFailure]
    tenancies: list[Tenancy]
    calls: dict[str, int]
    seconds: float
    accounts: tuple[str, ...] = ()
    """The accounts the clouds were read as: dcops' own, whose admin role in each project the
    stack gives it."""

    def totals(self) -> list[DepartmentTotals]:
        """Totals per department, departments first, then unowned and platform."""
        found: dict[str, DepartmentTotals] = {}
        for scope in self.scopes:
            found.setdefault(scope.department, DepartmentTotals(scope.department)).add(scope)
        last = {UNOWNED: 1, PLATFORM: 2}
        return sorted(found.values(), key=lambda t: (last.get(t.department, 0), t.department))

    def as_dict(self) -> dict[str, Any]:
        """The whole inventory as plain data for `--output json`."""
        return {
            "scopes": [
                {
                    "cloud": s.cloud,
                    "name": s.name,
                    "id": s.id,
                    "tenancy": s.tenancy,
                    "department": s.department,
                    "counts": dict(sorted(s.counts().items())),
                    "resources": [r.as_dict() for r in s.resources],
                }
                for s in self.scopes
            ],
            "departments": [t.as_dict() for t in self.totals()],
            "unreachable": [f.as_dict() for f in self.failures],
            "api_calls": self.calls,
            "seconds": round(self.seconds, 3),
        }


def read_clouds(site: Site, clouds: tuple[str, ...] = ("openstack", "kubernetes")) -> list[Reading]:
    """Read the site's clouds; a cloud that cannot be reached at all is one failure, not an error."""
    from dcops.core.clusters import kubernetes_target, openstack_target

    readings = []
    if "openstack" in clouds:
        from dcops.cloud import openstack_reading

        connection = openstack_reading.connect(openstack_target(site))
        readings.append(openstack_reading.read(connection))
    if "kubernetes" in clouds:
        from dcops.cloud import kubernetes_reading

        cluster = kubernetes_reading.connect(kubernetes_target(site))
        readings.append(kubernetes_reading.read(cluster))
    return readings


def assemble(
    readings: list[Reading], owned: list[Tenancy], platform_projects: tuple[str, ...]
) -> list[Scope]:
    """Every scope of the readings with its owner claimed."""
    owners = Owners.of(owned, platform_projects)
    scopes = [scope for reading in readings for scope in reading.scopes]
    for scope in scopes:
        owners.claim(scope)
    return scopes


def take_inventory(
    site: Site, department: str | None = None, clouds: tuple[str, ...] = ("openstack", "kubernetes")
) -> Inventory:
    """The site's clouds as they are, optionally narrowed to one department (or `unowned`)."""
    from dcops.core.clusters import openstack_target

    if department is not None:
        known = {d.code for d in site.config.departments} | {UNOWNED, PLATFORM}
        if department not in known:
            raise InputError(
                f"--department {department!r} is not a department of dcops.toml; allowed: "
                f"{', '.join(sorted(known))}"
            )
    started = time.monotonic()
    owned = tenancies(site)
    readings = read_clouds(site, clouds)
    scopes = assemble(readings, owned, openstack_target(site).platform_projects)
    if department is not None:
        scopes = [s for s in scopes if s.department == department]
    return Inventory(
        scopes,
        [f for r in readings for f in r.failures],
        owned,
        {r.cloud: r.calls for r in readings},
        time.monotonic() - started,
        tuple(r.account for r in readings if r.account),
    )
