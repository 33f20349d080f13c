"""Which departments' requests a person may see: their own, or all for ops, approvers, auditors."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dcops.core.errors import AccessDenied, InputError

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site

SEES_ALL = ("ops", "approver", "auditor")


def visible_departments(site: Site, actor: Actor, department: str | None) -> list[str] | None:
    """The departments the actor may see (None: all), narrowed to the one asked for."""
    if department is not None and site.department(department) is None:
        codes = ", ".join(d.code for d in site.config.departments)
        raise InputError(f"unknown department {department!r}; allowed: {codes}")
    if any(actor.has(r) for r in SEES_ALL):
        return [department] if department else None
    own = actor.departments
    if not own:
        raise AccessDenied(
            f"无权查看 / user {actor.user!r} has no department or ops role; tenancy requests are "
            "visible to their department, ops, approvers and auditors"
        )
    if department and department not in own:
        raise AccessDenied(
            f"无权查看其他委办局 / user {actor.user!r} may only see department {', '.join(own)}"
        )
    return [department] if department else own


def check_visible(visible: list[str] | None, request_id: int, department: str) -> None:
    """Refuse a request of a department the actor may not see."""
    if visible is not None and department not in visible:
        raise AccessDenied(
            f"无权查看其他委办局的申请 / request #{request_id} belongs to another department; "
            "a department sees only its own requests"
        )
