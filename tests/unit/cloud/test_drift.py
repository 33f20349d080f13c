"""Drift between a tenancy's request, its stack's applied state and the live clouds."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from dcops.cloud.drift import drift
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.core.errors import InputError

SPEC = {
    "compute": [
        {"name": "app", "flavor": "c2.m4", "count": 2},
        {"name": "db", "flavor": "c4.m16", "count": 0},
    ],
    "ingress": [
        {"to": "app", "port": 443, "from": "10.10.0.0/16", "description": "ops HTTPS"},
        {"to": "db", "port": 5432, "from": "app", "description": "app to db"},
    ],
    "kubernetes": {"namespace": "fgw-truth", "quota": {"cpu": "2", "memory": "4Gi", "pods": 10}},
}
TENANCY = Tenancy(
    "fgw-truth", "fgw", "provisioned", datetime.date(2027, 6, 30), "fgw-truth", 1, SPEC
)
WHEN = "2027-01-01T02:00:00Z"


def rule(rid: str, group: str, port: int | None, prefix: str = "", **more: Any) -> Resource:
    details: dict[str, Any] = {
        "group": group,
        "direction": "ingress" if port else "egress",
        "ethertype": "IPv4",
        "protocol": "tcp" if port else "",
        "port_min": port,
        "port_max": port,
        "remote_ip_prefix": prefix,
        "remote_group": "",
        "description": "",
        "updated": WHEN,
    }
    return Resource("security_group_rule", rid, "", "p1", details | more)


def cloud_resources() -> list[Resource]:
    """The project as the program makes it from SPEC."""
    return [
        Resource("server", "s1", "fgw-truth-vm-app-1", "p1", {"flavor": "c2.m4"}),
        Resource("server", "s2", "fgw-truth-vm-app-2", "p1", {"flavor": "c2.m4"}),
        Resource("security_group", "g1", "fgw-truth-sg-app", "p1", {}),
        Resource("security_group", "g2", "fgw-truth-sg-db", "p1", {}),
        Resource("security_group", "g0", "default", "p1", {}),
        rule("e1", "fgw-truth-sg-app", None, "0.0.0.0/0"),
        rule("e2", "fgw-truth-sg-db", None, "0.0.0.0/0"),
        rule("r1", "fgw-truth-sg-app", 443, "10.10.0.0/16", description="ops HTTPS"),
        rule("r2", "fgw-truth-sg-db", 5432, remote_group="g1", description="app to db"),
        rule("d1", "default", 22, "0.0.0.0/0"),  # Neutron's own group: never compared
    ]


def inventory(resources: list[Resource], hard: dict[str, str] | None = None) -> Inventory:
    project = Scope("openstack", "fgw-truth", "p1", "fgw-truth", "fgw", resources)
    scopes = [project]
    if hard is not None:
        namespace = Scope("kubernetes", "fgw-truth", "n1", "fgw-truth", "fgw")
        namespace.resources = [
            Resource("namespace", "n1", "fgw-truth", "fgw-truth", {}),
            Resource("resource_quota", "q1", "quota", "fgw-truth", {"hard": hard}),
        ]
        scopes.append(namespace)
    return Inventory(scopes, [], [TENANCY], {}, 0.0)


GRANTED = {"limits.cpu": "2", "limits.memory": "4Gi", "pods": "10"}


def never_applied(stack: str) -> None:
    return None


def found(findings: list[Any]) -> set[tuple[str, str, str]]:
    return {(f.rule, f.kind, f.resource_id) for f in findings}


def test_a_cloud_made_as_requested_has_no_drift() -> None:
    assert drift(inventory(cloud_resources(), GRANTED), never_applied) == []


def test_without_state_the_request_is_compared_with_the_cloud() -> None:
    resources = [r for r in cloud_resources() if r.id != "s2"]
    resources.append(Resource("server", "s9", "debug-box", "p1", {"created": WHEN}))
    resources.append(rule("r9", "fgw-truth-sg-app", 22, "0.0.0.0/0"))
    resources[0] = Resource("server", "s1", "fgw-truth-vm-app-1", "p1", {"flavor": "c4.m16"})
    findings = drift(inventory(resources, {**GRANTED, "limits.cpu": "3"}), never_applied)
    assert found(findings) == {
        ("drift-missing", "server", ""),
        ("drift-extra", "server", "s9"),
        ("drift-extra", "security_group_rule", "r9"),
        ("drift-changed", "server", "s1"),
        ("drift-changed", "resource_quota", "q1"),
    }
    text = {f.resource_id: f.message for f in findings}
    assert "flavor c2.m4 → c4.m16" in text["s1"]
    assert "hard limits.cpu 2 → 3" in text["q1"]
    assert WHEN in text["s9"] and "not in the approved request" in text["s9"]
    missing = next(f for f in findings if f.rule == "drift-missing")
    assert missing.resource_name == "fgw-truth-vm-app-2"


def applied_state() -> list[Resource]:
    """What the stack applied: the same project, without the `default` group or timestamps."""
    state = [r for r in cloud_resources() if r.details.get("group") != "default" and r.id != "g0"]
    kubernetes = [
        Resource("namespace", "n1", "fgw-truth", "", {}),
        Resource("resource_quota", "q1", "quota", "fgw-truth", {"hard": GRANTED}),
    ]
    return [Resource("project", "p1", "fgw-truth", "", {}), *state, *kubernetes]


def test_a_rule_replaced_out_of_band_is_one_changed_rule_against_the_applied_state() -> None:
    resources = [r for r in cloud_resources() if r.id != "r1"]
    resources.append(rule("r7", "fgw-truth-sg-app", 8443, "0.0.0.0/0"))
    state = applied_state()
    findings = drift(
        inventory(resources, GRANTED), lambda stack: state if stack == "fgw-truth" else None
    )
    assert found(findings) == {("drift-changed", "security_group_rule", "r7")}
    [changed] = findings
    assert "ports 443 → 8443" in changed.message
    assert "remote 10.10.0.0/16 → 0.0.0.0/0" in changed.message
    assert "rule r1 replaced by r7" in changed.message
    assert "stack's applied state" in changed.message and WHEN in changed.message
    assert changed.severity == "medium"


def test_state_and_cloud_are_compared_by_id_field_by_field() -> None:
    resources = cloud_resources()
    resources[0] = Resource("server", "s1", "renamed", "p1", {"flavor": "c8.m32"})
    resources.remove(next(r for r in resources if r.id == "s2"))
    findings = drift(inventory(resources, GRANTED), lambda stack: applied_state())
    assert found(findings) == {("drift-changed", "server", "s1"), ("drift-missing", "server", "s2")}
    changed = next(f for f in findings if f.resource_id == "s1")
    assert "name fgw-truth-vm-app-1 → renamed" in changed.message
    assert "flavor c2.m4 → c8.m32" in changed.message
    missing = next(f for f in findings if f.resource_id == "s2")
    assert "is in the stack's applied state, not in the cloud" in missing.message


def test_the_request_is_compared_with_the_applied_state() -> None:
    state = applied_state()
    state[1] = Resource("server", "s1", "fgw-truth-vm-app-1", "", {"flavor": "c4.m16"})
    state = [r for r in state if r.id != "s2"]
    resources = [r for r in cloud_resources() if r.id != "s2"]
    resources[0] = state[1]
    findings = drift(inventory(resources, GRANTED), lambda stack: state)
    assert found(findings) == {("drift-changed", "server", "s1"), ("drift-missing", "server", "")}
    changed = next(f for f in findings if f.rule == "drift-changed")
    assert "differs from the approved request: flavor c2.m4 → c4.m16" in changed.message
    missing = next(f for f in findings if f.rule == "drift-missing")
    assert "is in the approved request, not in the stack's applied state" in missing.message


def test_a_project_or_namespace_that_is_gone_is_one_finding_each() -> None:
    gone = Inventory([], [], [TENANCY], {}, 0.0)
    assert {(f.rule, f.kind, f.resource_name) for f in drift(gone, never_applied)} == {
        ("drift-missing", "project", "fgw-truth"),
        ("drift-missing", "namespace", "fgw-truth"),
    }


def test_an_unknown_tenancy_is_bad_input() -> None:
    with pytest.raises(InputError, match="no approved or live tenancy 'nope'"):
        drift(inventory(cloud_resources()), never_applied, "nope")
