"""Department access against an in-memory Keystone: planned from its records, made, then settled."""

from __future__ import annotations

import datetime
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from dcops.cloud.access_vending import apply, plan
from dcops.cloud.ownership import Tenancy
from dcops.cloud.people_access import DepartmentAccess, declared_access
from dcops.core.errors import InputError, OperationFailed
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site

EXPIRES = datetime.date(2027, 6, 30)


@dataclass
class Keystone:
    """The part of openstacksdk's identity proxy that vending uses, over plain dicts."""

    users: dict[str, str] = field(default_factory=dict)  # name → id
    projects: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=lambda: {"member": "r-m", "admin": "r-a"})
    named_groups: dict[str, str] = field(default_factory=dict)  # name → id, people's domain
    foreign_groups: dict[str, str] = field(default_factory=dict)  # name → id, another domain
    members: set[tuple[str, str]] = field(default_factory=set)  # (group id, user id)
    grants: set[tuple[str, str, str]] = field(default_factory=set)  # (group, project, role)
    calls: list[str] = field(default_factory=list)
    ids: Any = field(default_factory=lambda: itertools.count(1))

    def find_domain(self, name: str) -> Any:
        return SimpleNamespace(id="default") if name == "Default" else None

    def find_role(self, name: str) -> Any:
        return SimpleNamespace(id=self.roles[name]) if name in self.roles else None

    def find_user(self, name: str, domain_id: str) -> Any:
        found = self.users.get(name)
        return SimpleNamespace(id=found, name=name) if found else None

    def find_project(self, name: str) -> Any:
        found = self.projects.get(name)
        return SimpleNamespace(id=found, name=name) if found else None

    def find_group(self, name: str, domain_id: str) -> Any:
        found = self.named_groups.get(name)
        return SimpleNamespace(id=found, name=name) if found else None

    def groups(self, domain_id: str) -> list[Any]:
        listed = {"default": self.named_groups, "gov": self.foreign_groups}.get(domain_id, {})
        return [SimpleNamespace(id=i, name=n, domain_id=domain_id) for n, i in listed.items()]

    def group_users(self, group: Any) -> list[Any]:
        names = {v: k for k, v in self.users.items()}
        return [SimpleNamespace(id=u, name=names[u]) for g, u in self.members if g == group.id]

    def role_assignments(self, group_id: str, include_names: bool) -> list[Any]:
        projects = {v: k for k, v in self.projects.items()}
        roles = {v: k for k, v in self.roles.items()}
        return [
            SimpleNamespace(
                scope={"project": {"id": p, "name": projects.get(p, p)}},
                role={"id": r, "name": roles[r]},
            )
            for g, p, r in sorted(self.grants)
            if g == group_id
        ]

    def create_group(self, name: str, domain_id: str, description: str) -> Any:
        self.calls.append(f"create {name}")
        self.named_groups[name] = f"g{next(self.ids)}"
        return SimpleNamespace(id=self.named_groups[name])

    def add_user_to_group(self, user: str, group: str) -> None:
        self.members.add((group, user))

    def remove_user_from_group(self, user: str, group: str) -> None:
        self.members.discard((group, user))

    def assign_project_role_to_group(self, project: str, group: str, role: str) -> None:
        self.grants.add((group, project, role))

    def unassign_project_role_from_group(self, project: str, group: str, role: str) -> None:
        self.grants.discard((group, project, role))

    def delete_group(self, group: str) -> None:
        self.calls.append(f"delete {group}")
        self.named_groups = {k: v for k, v in self.named_groups.items() if v != group}
        self.members = {m for m in self.members if m[0] != group}
        self.grants = {g for g in self.grants if g[0] != group}


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def tenancy(name: str, department: str, state: str = "provisioned") -> Tenancy:
    return Tenancy(name, department, state, EXPIRES, "", 1)


OPS = Actor("zhangwei", "张伟", "ops-host", frozenset({"ops"}))


def settle(site: Site, keystone: Keystone, declared: list[DepartmentAccess]) -> list[str]:
    """Plan, apply, and return the planned changes' texts; a second plan must find nothing."""
    planned = plan(keystone, declared, "Default")
    apply(site, OPS, keystone, planned)
    assert plan(keystone, declared, "Default").changes == []
    return [c.text().split(" / ")[1] for c in planned.changes]


def test_declared_access_follows_people_roles_and_tenancy_states(site: Site) -> None:
    held = [
        tenancy("fgw-staging", "fgw"),
        tenancy("fgw-new", "fgw", "approved"),
        tenancy("fgw-gone", "fgw", "offboarding"),
        tenancy("wjw-prod", "wjw", "expiring"),
    ]
    declared = {a.department: a for a in declared_access(site, held, ["member", "member"])}
    assert set(declared) == {d.code for d in site.config.departments}
    fgw = declared["fgw"]
    assert (fgw.group, fgw.members, fgw.projects) == (
        "dcops-dept-fgw",
        ("wanglei",),
        ("fgw-new", "fgw-staging"),
    )
    assert fgw.roles == ("member",)
    assert declared["gaj"].members == () and declared["gaj"].projects == ()
    fgw_only = declared_access(site, held, ["member"], departments={"fgw"})
    assert [a.department for a in fgw_only] == ["fgw"]


def test_a_department_is_vended_then_settles(site: Site) -> None:
    keystone = Keystone(users={"wanglei": "u1"}, projects={"fgw-staging": "p1"})
    declared = declared_access(
        site, [tenancy("fgw-staging", "fgw")], ["member"], departments={"fgw"}
    )
    made = settle(site, keystone, declared)
    assert made == [
        "create group dcops-dept-fgw",
        "add user wanglei to group dcops-dept-fgw",
        "grant role member on project fgw-staging to group dcops-dept-fgw",
    ]
    group = keystone.named_groups["dcops-dept-fgw"]
    assert keystone.members == {(group, "u1")}
    assert keystone.grants == {(group, "p1", "r-m")}


def test_hand_made_members_and_roles_of_the_group_are_taken_back(site: Site) -> None:
    keystone = Keystone(
        users={"wanglei": "u1", "lina": "u2"},
        projects={"fgw-staging": "p1", "other": "p9"},
        named_groups={"dcops-dept-fgw": "g1"},
        members={("g1", "u1"), ("g1", "u2")},
        grants={("g1", "p1", "r-m"), ("g1", "p1", "r-a"), ("g1", "p9", "r-m")},
    )
    declared = declared_access(
        site, [tenancy("fgw-staging", "fgw")], ["member"], departments={"fgw"}
    )
    assert settle(site, keystone, declared) == [
        "remove user lina from group dcops-dept-fgw",
        "revoke role admin on project fgw-staging from group dcops-dept-fgw",
        "revoke role member on project other from group dcops-dept-fgw",
    ]
    assert keystone.grants == {("g1", "p1", "r-m")}


def test_a_department_left_without_projects_loses_its_group(site: Site) -> None:
    keystone = Keystone(
        users={"wanglei": "u1"},
        projects={"fgw-staging": "p1"},
        named_groups={"dcops-dept-fgw": "g1"},
        members={("g1", "u1")},
        grants={("g1", "p1", "r-m")},
    )
    held = [tenancy("fgw-staging", "fgw", "offboarding")]
    declared = declared_access(site, held, ["member"], departments={"fgw"})
    assert settle(site, keystone, declared) == [
        "revoke role member on project fgw-staging from group dcops-dept-fgw",
        "delete group dcops-dept-fgw",
    ]
    assert keystone.named_groups == {} and keystone.grants == set()
    # A department that never had a project has no group to make or remove.
    gaj = declared_access(site, held, ["member"], departments={"gaj"})
    assert plan(keystone, gaj, "Default").changes == []


def test_the_group_of_a_department_removed_from_the_site_is_taken_away(site: Site) -> None:
    keystone = Keystone(
        users={"wanglei": "u1", "lina": "u2"},
        projects={"fgw-staging": "p1", "jxw-prod": "p7"},
        named_groups={"dcops-dept-fgw": "g1", "dcops-dept-jxw": "g7", "ops-admins": "g8"},
        foreign_groups={"dcops-dept-old": "g9"},
        members={("g1", "u1"), ("g7", "u1"), ("g7", "u2"), ("g8", "u2"), ("g9", "u2")},
        grants={("g1", "p1", "r-m"), ("g7", "p7", "r-m"), ("g7", "p1", "r-a"), ("g9", "p7", "r-m")},
    )
    declared = declared_access(site, [tenancy("fgw-staging", "fgw")], ["member"])
    codes = [d.code for d in site.config.departments]
    planned = plan(keystone, declared, "Default", site_departments=codes)
    assert [c.text().split(" / ")[1] for c in planned.changes if c.department == "jxw"] == [
        "remove user lina from group dcops-dept-jxw",
        "remove user wanglei from group dcops-dept-jxw",
        "revoke role admin on project fgw-staging from group dcops-dept-jxw",
        "revoke role member on project jxw-prod from group dcops-dept-jxw",
        "delete group dcops-dept-jxw",
    ]
    assert any("jxw" in note and "no longer in dcops.toml" in note for note in planned.notes)
    apply(site, OPS, keystone, planned)
    # Only dcops' groups of the people's domain are touched: fgw's stays, the others are not dcops'.
    assert keystone.named_groups == {"dcops-dept-fgw": "g1", "ops-admins": "g8"}
    assert keystone.foreign_groups == {"dcops-dept-old": "g9"}
    assert keystone.members == {("g1", "u1"), ("g8", "u2"), ("g9", "u2")}
    assert keystone.grants == {("g1", "p1", "r-m"), ("g9", "p7", "r-m")}
    assert plan(keystone, declared, "Default", site_departments=codes).changes == []
    journal = site.paths.state / "audit" / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    [result] = [
        e
        for e in events
        if e["phase"] == "result" and e["object"] == {"type": "department", "id": "jxw"}
    ]
    assert result["action"] == "access.sync" and result["result"]["status"] == "success"
    assert "delete group dcops-dept-jxw" in result["diff"]


def test_a_run_for_named_departments_leaves_other_groups_alone(site: Site) -> None:
    keystone = Keystone(
        users={"wanglei": "u1"},
        named_groups={"dcops-dept-jxw": "g7"},
        members={("g7", "u1")},
    )
    declared = declared_access(site, [], ["member"], departments={"fgw"})
    assert plan(keystone, declared, "Default").changes == []
    assert keystone.named_groups == {"dcops-dept-jxw": "g7"}


def test_people_without_users_and_projects_not_made_are_notes_not_changes(site: Site) -> None:
    keystone = Keystone()
    declared = declared_access(
        site, [tenancy("fgw-staging", "fgw")], ["member"], departments={"fgw"}
    )
    planned = plan(keystone, declared, "Default")
    assert [c.action for c in planned.changes] == ["create-group"]
    assert any("'wanglei'" in note and "no Keystone user" in note for note in planned.notes)
    assert any("'fgw-staging'" in note and "not made yet" in note for note in planned.notes)


def test_an_unknown_role_or_domain_names_the_setting(site: Site) -> None:
    keystone = Keystone(users={"wanglei": "u1"}, projects={"fgw-staging": "p1"})
    held = [tenancy("fgw-staging", "fgw")]
    with pytest.raises(InputError, match=r"no role 'operator'.*department_roles"):
        plan(keystone, declared_access(site, held, ["operator"]), "Default")
    with pytest.raises(InputError, match=r"no domain 'gov'.*people_domain"):
        plan(keystone, declared_access(site, held, ["member"]), "gov")


def test_keystone_refusing_a_change_fails_the_audited_operation(site: Site) -> None:
    keystone = Keystone(users={"wanglei": "u1"}, projects={"fgw-staging": "p1"})

    def refuse(*_: Any, **__: Any) -> None:
        raise RuntimeError("403 Forbidden: You are not authorized")

    keystone.assign_project_role_to_group = refuse  # type: ignore[method-assign]
    declared = declared_access(
        site, [tenancy("fgw-staging", "fgw")], ["member"], departments={"fgw"}
    )
    planned = plan(keystone, declared, "Default")
    with pytest.raises(OperationFailed, match=r"department fgw.*403 Forbidden"):
        apply(site, OPS, keystone, planned)
    journal = site.paths.state / "audit" / "journal.jsonl"
    events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    [result] = [e for e in events if e["action"] == "access.sync" and e["phase"] == "result"]
    assert result["object"] == {"type": "department", "id": "fgw"}
    assert result["result"]["status"] == "failure"
    assert "grant role member on project fgw-staging" in result["diff"]
