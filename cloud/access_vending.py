"""Department people's access in Keystone: read what is there, plan the changes, make them.

The one thing `dcops.cloud` writes. Every change is planned from Keystone's own records first
(so a run that finds everything in place changes nothing), shown, then made and audited one
department at a time.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dcops.cloud.people_access import GROUP_PREFIX, DepartmentAccess
from dcops.core.errors import InputError, OperationFailed

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site

ACTIONS = ("create-group", "add-member", "remove-member", "grant", "revoke", "delete-group")
"""What a change does, in the order the changes are made."""


@dataclass(frozen=True)
class AccessChange:
    """One change to a department's group: its members or its roles in a project."""

    action: str
    department: str
    group: str
    subject: str = ""
    """The user (add/remove-member) or the project (grant/revoke)."""
    subject_id: str = ""
    role: str = ""
    role_id: str = ""

    def text(self) -> str:
        """The change as people read it, 中文 first."""
        g, s, r = self.group, self.subject, self.role
        return {
            "create-group": f"新建用户组 {g} / create group {g}",
            "add-member": f"将 {s} 加入 {g} / add user {s} to group {g}",
            "remove-member": f"将 {s} 移出 {g} / remove user {s} from group {g}",
            "grant": f"授予 {g} 项目 {s} 的角色 {r} / grant role {r} on project {s} to group {g}",
            "revoke": f"收回 {g} 项目 {s} 的角色 {r} / revoke role {r} on project {s} from group {g}",
            "delete-group": f"删除用户组 {g} / delete group {g}",
        }[self.action]

    def as_dict(self) -> dict[str, str]:
        """The change as plain data."""
        return {
            "action": self.action,
            "department": self.department,
            "group": self.group,
            "subject": self.subject,
            "role": self.role,
        }


@dataclass
class AccessPlan:
    """The changes that bring Keystone to the declared access, and what cannot be done yet."""

    domain: str
    domain_id: str
    changes: list[AccessChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    groups: dict[str, str] = field(default_factory=dict)
    """Group name → ID of the groups that exist (filled in as they are made)."""

    def by_department(self) -> dict[str, list[AccessChange]]:
        """The changes of each department, in the order they are made."""
        found: dict[str, list[AccessChange]] = {}
        for change in self.changes:
            found.setdefault(change.department, []).append(change)
        return found


def plan(
    identity: Any,
    declared: Iterable[DepartmentAccess],
    domain: str,
    site_departments: Collection[str] | None = None,
) -> AccessPlan:
    """Compare each department's declared access with Keystone's records; given the site's
    departments (a run over all of them), also remove the groups of departments gone from it."""
    with _keystone("read the departments' access"):
        found = identity.find_domain(domain)
        if found is None:
            raise InputError(
                f"Keystone has no domain {domain!r} ([clusters.openstack] people_domain in "
                "dcops.toml); name the domain the people's users live in"
            )
        result = AccessPlan(domain, str(found.id))
        roles: dict[str, str] = {}
        for access in declared:
            _plan_department(identity, access, result, roles)
        if site_departments is not None:
            _plan_removed_departments(identity, set(site_departments), result)
    result.changes.sort(key=lambda c: (c.department, ACTIONS.index(c.action), c.subject, c.role))
    return result


def _plan_department(
    identity: Any, access: DepartmentAccess, result: AccessPlan, roles: dict[str, str]
) -> None:
    group = identity.find_group(access.group, domain_id=result.domain_id)
    change = _changer(access)
    held = _assignments(identity, group) if group is not None else {}
    if group is not None:
        result.groups[access.group] = str(group.id)
    if not access.projects:
        if group is not None:  # nothing left to reach: the group goes, and what it held
            result.changes += [
                change("revoke", project, project_id, role, role_id)
                for (project_id, role_id), (project, role) in sorted(held.items())
            ]
            result.changes.append(change("delete-group"))
        return
    if group is None:
        result.changes.append(change("create-group"))
    _plan_members(identity, access, group, result)
    wanted = _wanted_grants(identity, access, result, roles)
    names = {v: k for k, v in roles.items()}
    for (project_id, role_id), (project, role) in sorted(held.items()):
        if (project_id, role_id) not in wanted:
            result.changes.append(change("revoke", project, project_id, role, role_id))
    for (project_id, role_id), project in sorted(wanted.items()):
        if (project_id, role_id) not in held:
            result.changes.append(change("grant", project, project_id, names[role_id], role_id))


def _plan_removed_departments(identity: Any, codes: set[str], result: AccessPlan) -> None:
    """Take away the groups dcops made (its prefix, the people's domain) for departments that
    dcops.toml no longer has: their members, their roles, then the group."""
    for group in identity.groups(domain_id=result.domain_id):
        name = str(group.name)
        code = name.removeprefix(GROUP_PREFIX)
        if name == code or code in codes or str(group.domain_id) != result.domain_id:
            continue
        result.groups[name] = str(group.id)
        result.notes.append(
            f"部门 {code} 已不在 dcops.toml 中，删除其用户组 {name} 及其成员和角色 / department "
            f"{code!r} is no longer in dcops.toml: its group {name} goes, with its members and roles"
        )
        removed = [
            AccessChange("remove-member", code, name, str(user.name), str(user.id))
            for user in identity.group_users(group)
        ]
        removed += [
            AccessChange("revoke", code, name, project, project_id, role, role_id)
            for (project_id, role_id), (project, role) in sorted(
                _assignments(identity, group).items()
            )
        ]
        result.changes += [*removed, AccessChange("delete-group", code, name)]


def _plan_members(identity: Any, access: DepartmentAccess, group: Any, result: AccessPlan) -> None:
    """Add the department's people who have a Keystone user; remove every other member."""
    change = _changer(access)
    current = {str(u.id): str(u.name) for u in identity.group_users(group)} if group else {}
    wanted: dict[str, str] = {}
    for user in access.members:
        found = identity.find_user(user, domain_id=result.domain_id)
        if found is None:
            result.notes.append(
                f"{user}（{access.department}）在 Keystone 域 {result.domain} 中没有用户，暂无访问权限 / "
                f"person {user!r} of {access.department} has no Keystone user in domain "
                f"{result.domain}: no access until one exists"
            )
        else:
            wanted[str(found.id)] = user
    result.changes += [change("add-member", n, i) for i, n in wanted.items() if i not in current]
    result.changes += [change("remove-member", n, i) for i, n in current.items() if i not in wanted]


def _wanted_grants(
    identity: Any, access: DepartmentAccess, result: AccessPlan, roles: dict[str, str]
) -> dict[tuple[str, str], str]:
    """(project ID, role ID) → project name for every declared role in each existing project."""
    wanted = {}
    for name in access.projects:
        project = identity.find_project(name)
        if project is None:
            result.notes.append(
                f"项目 {name} 尚未创建（由 dcops provision 创建） / project {name!r} of "
                f"{access.department} is not made yet (dcops provision makes it)"
            )
            continue
        for role in access.roles:
            wanted[(str(project.id), _role_id(identity, role, roles))] = name
    return wanted


def _changer(access: DepartmentAccess) -> Any:
    def change(
        action: str, subject: str = "", subject_id: str = "", role: str = "", role_id: str = ""
    ) -> AccessChange:
        return AccessChange(
            action, access.department, access.group, subject, subject_id, role, role_id
        )

    return change


def _role_id(identity: Any, name: str, roles: dict[str, str]) -> str:
    if name not in roles:
        role = identity.find_role(name)
        if role is None:
            raise InputError(
                f"Keystone has no role {name!r} ([clusters.openstack] department_roles in "
                "dcops.toml); name roles the cloud has, such as member or reader"
            )
        roles[name] = str(role.id)
    return roles[name]


def _assignments(identity: Any, group: Any) -> dict[tuple[str, str], tuple[str, str]]:
    """The group's project roles: (project ID, role ID) → (project name, role name)."""
    held = {}
    for item in identity.role_assignments(group_id=group.id, include_names=True):
        project = (item.scope or {}).get("project")
        if not project:
            continue
        role = item.role or {}
        held[(str(project["id"]), str(role["id"]))] = (
            str(project.get("name") or project["id"]),
            str(role.get("name") or role["id"]),
        )
    return held


def apply(site: Site, actor: Actor, identity: Any, planned: AccessPlan) -> None:
    """Make the planned changes, one audited operation per department."""
    from dcops.audit.recorder import audited

    for department, changes in planned.by_department().items():
        parameters = {"changes": len(changes), "domain": planned.domain_id}
        with audited(site, actor, "access.sync", f"department/{department}", parameters) as op:
            op.attach(
                diff="\n".join(c.text() for c in changes),
                details={"changes": [c.as_dict() for c in changes]},
            )
            with _keystone(f"change the access of department {department}"):
                for change in changes:
                    _make(identity, planned, change)


def _make(identity: Any, planned: AccessPlan, change: AccessChange) -> None:
    if change.action == "create-group":
        group = identity.create_group(
            name=change.group,
            domain_id=planned.domain_id,
            description=f"dcops: people of department {change.department} (dcops.toml)",
        )
        planned.groups[change.group] = str(group.id)
        return
    group_id = planned.groups[change.group]
    if change.action == "add-member":
        identity.add_user_to_group(change.subject_id, group_id)
    elif change.action == "remove-member":
        identity.remove_user_from_group(change.subject_id, group_id)
    elif change.action == "grant":
        identity.assign_project_role_to_group(change.subject_id, group_id, change.role_id)
    elif change.action == "revoke":
        identity.unassign_project_role_from_group(change.subject_id, group_id, change.role_id)
    else:
        identity.delete_group(group_id)
        del planned.groups[change.group]


@contextmanager
def _keystone(doing: str) -> Iterator[None]:
    """Turn what Keystone answers with into dcops' errors, naming what was being done."""
    try:
        yield
    except (InputError, OperationFailed):
        raise
    except Exception as error:
        text = " ".join(str(error).split())[:300]
        raise OperationFailed(
            f"Keystone 拒绝或无法访问 / could not {doing}: {type(error).__name__}: {text}"
        ) from error


@dataclass
class SiteAccess:
    """The declared access of a site's departments, Keystone's plan for it, and the connection."""

    declared: list[DepartmentAccess]
    planned: AccessPlan
    identity: Any


def read_site_access(site: Site, departments: Iterable[str] = ()) -> SiteAccess:
    """Read Keystone for the site's departments (or those named) and plan their access."""
    from dcops.cloud.openstack_reading import connect
    from dcops.cloud.ownership import tenancies
    from dcops.cloud.people_access import declared_access
    from dcops.core.clusters import openstack_target

    named = set(departments)
    codes = [d.code for d in site.config.departments]
    unknown = sorted(named - set(codes))
    if unknown:
        raise InputError(
            f"--department {unknown[0]!r} is not a department of dcops.toml; "
            f"allowed: {', '.join(sorted(codes))}"
        )
    target = openstack_target(site)
    identity = connect(target).identity
    declared = declared_access(site, tenancies(site), target.department_roles, named)
    whole_site = None if named else codes
    planned = plan(identity, declared, target.people_domain, whole_site)
    return SiteAccess(declared, planned, identity)
