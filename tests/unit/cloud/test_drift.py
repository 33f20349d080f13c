"""Drift between a tenancy's request and the live clouds: missing, extra and changed."""

from __future__ import annotations

import datetime

import pytest

from dcops.cloud.drift import drift
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.core.errors import InputError

SPEC = {
    "compute": [{"name": "app", "count": 2}],
    "ingress": [
        {"to": "app", "port": 443, "from": "10.10.0.0/16"},
        {"to": "app", "port": 5432, "from": "db"},
    ],
    "kubernetes": {"namespace": "fgw-truth", "quota": {"cpu": "2", "memory": "4Gi", "pods": 10}},
}
TENANCY = Tenancy(
    "fgw-truth", "fgw", "provisioned", datetime.date(2027, 6, 30), "fgw-truth", 1, SPEC
)


def rule(rid: str, port: int, prefix: str) -> Resource:
    details = {"group": "fgw-truth-app", "direction": "ingress", "port_min": port, "port_max": port}
    details |= {"remote_ip_prefix": prefix, "updated": "2027-01-01T02:00:00Z"}
    return Resource("security_group_rule", rid, "", "p1", details)


def inventory(cpu: str = "2", with_namespace: bool = True) -> Inventory:
    project = Scope("openstack", "fgw-truth", "p1", "fgw-truth", "fgw")
    project.resources = [
        Resource("server", "s1", "fgw-truth-app-1", "p1", {}),
        Resource("server", "s9", "debug-box", "p1", {"created": "2027-01-01T02:00:00Z"}),
        rule("r1", 443, "10.10.0.0/16"),
        rule("r2", 22, "0.0.0.0/0"),
    ]
    scopes = [project]
    if with_namespace:
        namespace = Scope("kubernetes", "fgw-truth", "n1", "fgw-truth", "fgw")
        hard = {"limits.cpu": cpu, "limits.memory": "4Gi", "pods": "10"}
        namespace.resources = [
            Resource("resource_quota", "q1", "quota", "fgw-truth", {"hard": hard})
        ]
        scopes.append(namespace)
    return Inventory(scopes, [], [TENANCY], {}, 0.0)


def test_missing_extra_and_changed_are_each_named() -> None:
    found = {(f.rule, f.kind, f.resource_name) for f in drift(inventory(cpu="3"))}
    assert found == {
        ("drift-missing", "server", "fgw-truth-app-2"),
        ("drift-extra", "server", "debug-box"),
        ("drift-extra", "security_group_rule", ""),
        ("drift-changed", "resource_quota", "quota"),
    }
    changed = next(f for f in drift(inventory(cpu="3")) if f.rule == "drift-changed")
    assert "limits.cpu 2 → 3" in changed.message
    extra = next(f for f in drift(inventory()) if f.resource_id == "s9")
    assert "2027-01-01T02:00:00Z" in extra.message


def test_a_namespace_that_is_gone_is_missing() -> None:
    found = {(f.rule, f.kind) for f in drift(inventory(with_namespace=False))}
    assert ("drift-missing", "namespace") in found


def test_an_unknown_tenancy_is_bad_input() -> None:
    with pytest.raises(InputError, match="no approved or live tenancy 'nope'"):
        drift(inventory(), "nope")
