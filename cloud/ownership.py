"""Who owns each project and namespace: the tenancy store's approved and live tenancies."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from dcops.cloud.records import PLATFORM, Scope
from dcops.core.site import Site

OWNING_STATES = ("approved", "provisioned", "expiring", "offboarding")
"""States in which a tenancy holds (or is about to hold) its project and namespace."""
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
"""Namespaces a cluster makes for itself: they belong to the platform, not to a department."""


@dataclass(frozen=True)
class Tenancy:
    """What the store says about one tenancy: its department, state, expiry and namespace."""

    name: str
    department: str
    state: str
    expires: datetime.date
    namespace: str
    request_id: int
    spec: dict[str, Any] = field(default_factory=dict, compare=False)
    """The request as stored, for what was granted."""


@dataclass(frozen=True)
class Owners:
    """Tenancies by their OpenStack project name (the tenancy name) and by namespace."""

    by_project: dict[str, Tenancy]
    by_namespace: dict[str, Tenancy]
    platform_projects: tuple[str, ...]

    @classmethod
    def of(cls, tenancies: Iterable[Tenancy], platform_projects: tuple[str, ...]) -> Owners:
        """Index tenancies by project and namespace."""
        listed = list(tenancies)
        return cls(
            {t.name: t for t in listed},
            {t.namespace: t for t in listed if t.namespace},
            platform_projects,
        )

    def claim(self, scope: Scope) -> Tenancy | None:
        """Set the scope's tenancy and department; the tenancy that owns it, if any."""
        if scope.cloud == "openstack":
            owner = self.by_project.get(scope.name)
            platform = scope.name in self.platform_projects
        else:
            owner = self.by_namespace.get(scope.name)
            platform = scope.name in SYSTEM_NAMESPACES
        if owner is not None:
            scope.tenancy, scope.department = owner.name, owner.department
        elif platform:
            scope.tenancy = scope.department = PLATFORM
        return owner


def tenancies(site: Site) -> list[Tenancy]:
    """The newest approved or live request of each tenancy in the site's store."""
    from sqlalchemy import select

    from dcops.tenancy.records import RequestRecord
    from dcops.tenancy.store import open_store

    newest: dict[str, Tenancy] = {}
    with open_store(site).reading() as session:
        query = (
            select(RequestRecord)
            .where(RequestRecord.state.in_(OWNING_STATES))
            .order_by(RequestRecord.id)
        )
        for record in session.scalars(query):
            k8s = record.spec.get("kubernetes")
            namespace = str(k8s.get("namespace") or "") if isinstance(k8s, dict) else ""
            newest[record.name] = Tenancy(
                record.name,
                record.department,
                record.state,
                record.expires,
                namespace,
                record.id,
                dict(record.spec),
            )
    return sorted(newest.values(), key=lambda t: t.name)
