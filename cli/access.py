"""`dcops access`: department people's Keystone groups and roles in their projects (show, sync)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import Session, session

if TYPE_CHECKING:
    from dcops.cloud.access_vending import SiteAccess
    from dcops.core.identity import Actor

app = typer.Typer(
    help="Department people's access to their projects in Keystone: show, sync.",
    no_args_is_help=True,
)

_DEPARTMENT = typer.Option(
    None, "--department", "-d", help="One department's code (default: every department)."
)


@app.command("show")
def show(ctx: typer.Context, department: str | None = _DEPARTMENT) -> None:
    """Each department's group, people, projects and roles, and what Keystone lacks; exit 1 if any."""
    from dcops.cli.views import output
    from dcops.cloud.access_vending import read_site_access

    state = session(ctx)
    state.require("ops", "auditor", action="dcops access show")
    with output.error_console().status("access: 读取 Keystone reading Keystone"):
        found = read_site_access(state.site, [department] if department else [])
    if state.json:
        output.print_json(_as_dict(found))
    else:
        _show(found)
    if found.planned.changes:
        raise typer.Exit(1)


@app.command("sync")
def sync(
    ctx: typer.Context,
    department: str | None = _DEPARTMENT,
    yes: bool = typer.Option(False, "--yes", "-y", help="Make the changes without asking."),
) -> None:
    """Create or update each department's group and its roles; remove what is no longer declared."""
    state = session(ctx)
    actor = state.require("ops", action="dcops access sync")
    vend(state, actor, [department] if department else [], ask=not yes)


def vend(state: Session, actor: Actor, departments: Iterable[str], ask: bool = False) -> None:
    """Bring Keystone to the declared access of the departments, showing each change (audited)."""
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.cloud.access_vending import apply, read_site_access

    with output.error_console().status("access: 读取 Keystone reading Keystone"):
        found = read_site_access(state.site, departments)
    planned = found.planned
    for note in planned.notes:
        output.show(f"note: {output.inline(note)}")
    if not planned.changes:
        output.show("access: 无需变更 nothing to change")
        return
    for change in planned.changes:
        output.show(f"  {output.inline(change.text())}")
    if ask:
        confirm_change(
            f"在 Keystone 中执行以上 {len(planned.changes)} 项变更？"
            f"Make these {len(planned.changes)} changes in Keystone?",
            "dcops access sync",
        )
    apply(state.site, actor, found.identity, planned)
    output.show(f"access: {len(planned.changes)} changes made (recorded in the audit journal)")


def _show(found: SiteAccess) -> None:
    from dcops.cli.views import output

    rows = [
        (
            a.department,
            a.group,
            ", ".join(a.members) or "—",
            ", ".join(a.projects) or "—",
            ", ".join(a.roles),
        )
        for a in found.declared
    ]
    output.show(
        output.table(
            "部门访问权限 department access",
            ["dept", "group", "people", "projects", "roles"],
            rows,
        )
    )
    for note in found.planned.notes:
        output.show(f"note: {output.inline(note)}")
    if not found.planned.changes:
        output.show("Keystone 与声明一致 / Keystone matches dcops.toml: nothing to change")
        return
    output.show(f"待执行 {len(found.planned.changes)} 项 / pending (dcops access sync):")
    for change in found.planned.changes:
        output.show(f"  {output.inline(change.text())}")


def _as_dict(found: SiteAccess) -> dict[str, object]:
    return {
        "domain": found.planned.domain,
        "departments": [
            {
                "department": a.department,
                "group": a.group,
                "people": list(a.members),
                "projects": list(a.projects),
                "roles": list(a.roles),
            }
            for a in found.declared
        ],
        "changes": [c.as_dict() for c in found.planned.changes],
        "notes": found.planned.notes,
    }
