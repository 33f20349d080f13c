"""Who should reach which project: each department's people of dcops.toml, through one group.

A department's people (role `department:<code>`) are the members of the Keystone group
`dcops-dept-<code>`; the group holds the site's department roles in every project of the
department's approved and live tenancies. Offboarding, expired-and-destroyed and rejected
tenancies give no access. One group per department rather than per tenancy: it is shared by
the department's tenancy stacks, which is why no one stack (Pulumi) can own it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from dcops.cloud.ownership import Tenancy
from dcops.core.site import Site

GROUP_PREFIX = "dcops-dept-"
VENDING_STATES = ("approved", "provisioned", "expiring")
"""Tenancy states whose project the department's people may reach (not offboarding)."""


@dataclass(frozen=True)
class DepartmentAccess:
    """One department's declared access: its group, the people in it, its projects and roles."""

    department: str
    title: str
    members: tuple[str, ...]
    projects: tuple[str, ...]
    roles: tuple[str, ...]

    @property
    def group(self) -> str:
        """The Keystone group's name."""
        return group_name(self.department)


def group_name(department: str) -> str:
    """The Keystone group of a department's people."""
    return f"{GROUP_PREFIX}{department}"


def declared_access(
    site: Site,
    tenancies: Iterable[Tenancy],
    roles: Iterable[str],
    departments: Collection[str] = (),
) -> list[DepartmentAccess]:
    """Every department's access (or those named), from its tenancies that give access."""
    held = [t for t in tenancies if t.state in VENDING_STATES]
    granted = tuple(dict.fromkeys(roles))
    found = []
    for department in site.config.departments:
        if departments and department.code not in departments:
            continue
        role = f"department:{department.code}"
        found.append(
            DepartmentAccess(
                department.code,
                department.name,
                tuple(sorted(p.user for p in site.config.people if role in p.roles)),
                tuple(sorted(t.name for t in held if t.department == department.code)),
                granted,
            )
        )
    return found
