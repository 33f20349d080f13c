"""The compliance scan over a crafted inventory: each breach found once, nothing clean flagged."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from dcops.cloud.findings import RULES, SEVERITIES
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.cloud.scan import scan
from dcops.core.loader import load_site
from dcops.core.site import Site

TODAY = datetime.date(2027, 1, 15)


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def rule(rid: str, port: int, prefix: str, description: str = "", group: str = "app") -> Resource:
    return Resource(
        "security_group_rule",
        rid,
        description,
        "p1",
        {
            "group": group,
            "direction": "ingress",
            "ethertype": "IPv4",
            "protocol": "tcp",
            "port_min": port,
            "port_max": port,
            "remote_ip_prefix": prefix,
            "remote_group": "",
            "description": description,
        },
    )


def owned_project() -> Scope:
    scope = Scope("openstack", "fgw-truth", "p1", "fgw-truth", "fgw")
    scope.resources = [
        Resource("server", "s1", "app-0", "p1", {"tags": ["department:fgw"]}),
        Resource("server", "s2", "debug-box", "p1", {"tags": []}),
        Resource("volume", "v1", "data", "p1", {"metadata": {"department": "fgw"}}),
        Resource("floating_ip", "f1", "198.51.100.7", "p1", {"port": ""}),
        Resource("floating_ip", "f2", "198.51.100.8", "p1", {"port": "port-1"}),
        rule("r1", 443, "10.10.0.0/16", "ops HTTPS"),
        rule("r2", 22, "0.0.0.0/0"),
        rule("r3", 3389, "10.10.0.0/16", "ops RDP"),
        Resource(
            "security_group_rule",
            "r4",
            "",
            "p1",
            {"group": "default", "direction": "ingress", "remote_group": "g-default"},
        ),
        Resource(
            "ike_policy",
            "ike1",
            "hq",
            "p1",
            {"encryption": "aes-128", "auth": "sha1", "pfs": "group5"},
        ),
        Resource(
            "ipsec_policy",
            "ipsec1",
            "hq",
            "p1",
            {"encryption": "aes-256", "auth": "sha256", "pfs": "group14"},
        ),
    ]
    return scope


def namespace(name: str, department: str, *fences: str) -> Scope:
    scope = Scope("kubernetes", name, f"u-{name}", name, department)
    scope.resources = [Resource("namespace", f"u-{name}", name, name, {})]
    if "quota" in fences:
        scope.resources.append(Resource("resource_quota", "q", "quota", name, {}))
    if "limits" in fences:
        scope.resources.append(Resource("limit_range", "l", "limits", name, {}))
    if "deny" in fences:
        scope.resources.append(
            Resource(
                "network_policy",
                "n",
                "default-deny",
                name,
                {"pod_selector": {}, "policy_types": ["Ingress", "Egress"], "ingress_rules": 0},
            )
        )
    return scope


def inventory(*scopes: Scope, expires: datetime.date = datetime.date(2027, 6, 30)) -> Inventory:
    tenancy = Tenancy("fgw-truth", "fgw", "provisioned", expires, "fgw-truth", 1)
    return Inventory(list(scopes), [], [tenancy], {}, 0.0)


def found(site: Site, inv: Inventory) -> set[tuple[str, str]]:
    return {(f.rule, f.resource_id) for f in scan(site, inv, TODAY)}


def test_each_breach_is_found_once_and_nothing_clean(site: Site) -> None:
    shadow = Scope("openstack", "shadow-it", "p2")
    inv = inventory(
        owned_project(),
        shadow,
        namespace("fgw-truth", "fgw", "quota", "limits", "deny"),
        namespace("shadow-ns", "unowned"),
        namespace("kube-system", "platform"),
    )
    assert found(site, inv) == {
        ("department-tag", "s2"),
        ("floating-ip-unattached", "f1"),
        ("no-admin-port-to-world", "r2"),
        ("sg-rule-description", "r2"),
        ("vpn-crypto-minimum", "ike1"),
        ("scope-without-tenancy", "p2"),
        ("scope-without-tenancy", "u-shadow-ns"),
        ("namespace-fenced", "u-shadow-ns"),
    }


def test_findings_come_most_severe_first_with_bilingual_text(site: Site) -> None:
    findings = scan(site, inventory(owned_project(), Scope("openstack", "shadow-it", "p2")), TODAY)
    ranks = [SEVERITIES.index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
    assert findings[0].rule == "no-admin-port-to-world"
    for f in findings:
        assert " / " in f.message and " / " in f.fix
        assert f.message.split(" / ")[0] != f.message.split(" / ")[1]


def test_a_namespace_missing_only_its_limit_range_is_named(site: Site) -> None:
    findings = scan(site, inventory(namespace("fgw-truth", "fgw", "quota", "deny")), TODAY)
    assert [(f.rule, f.scope) for f in findings] == [("namespace-fenced", "fgw-truth")]
    assert "LimitRange" in findings[0].message and "ResourceQuota" not in findings[0].message


def test_an_expired_tenancy_still_holding_servers(site: Site) -> None:
    project = owned_project()
    project.resources = project.resources[:1]
    inv = inventory(project, expires=datetime.date(2027, 1, 1))
    assert found(site, inv) == {("tenancy-expired", "p1")}
    inv = inventory(project, expires=datetime.date(2027, 1, 15))
    assert found(site, inv) == set()


def test_admin_ports_are_checked_in_platform_projects_too(site: Site) -> None:
    admin = Scope("openstack", "admin", "p0", "platform", "platform")
    admin.resources = [rule("r9", 6443, "0.0.0.0/0"), rule("r10", 443, "0.0.0.0/0")]
    assert found(site, inventory(admin)) == {("no-admin-port-to-world", "r9")}


def test_every_rule_has_a_known_severity() -> None:
    assert {r.severity for r in RULES.values()} <= set(SEVERITIES)


def grant(
    holder_kind: str, holder: str, role: str, holder_id: str = "", domain: str = "Default"
) -> Resource:
    return Resource(
        "role_assignment",
        f"{holder_kind}:{holder_id or holder}:{role}",
        f"{holder_kind} {holder}: {role}",
        "p1",
        {
            "holder_kind": holder_kind,
            "holder": holder,
            "holder_id": holder_id or f"id-{holder}",
            "holder_domain": domain,
            "role": role,
            "inherited": False,
        },
    )


def test_only_role_assignments_outside_the_declared_people_are_found(site: Site) -> None:
    project = owned_project()
    project.resources = [
        grant("group", "dcops-dept-fgw", "member"),  # declared: the department's group
        grant("user", "admin", "admin", holder_id="u-dcops"),  # dcops' own account
        grant("user", "lina", "member"),  # by hand: another department's person
        grant("group", "dcops-dept-fgw", "admin"),  # the group, with a role not declared
        grant("user", "someone", "admin"),  # an admin that is not dcops' account
        grant("group", "dcops-dept-wjw", "member"),  # another department's group
        # The department's group name, made in another domain: not the department's group.
        grant("group", "dcops-dept-fgw", "member", holder_id="g-rogue", domain="shadow"),
    ]
    shadow = Scope("openstack", "shadow-it", "p2")
    shadow.resources = [grant("user", "lina", "member")]  # unowned: found as such, not here
    inv = inventory(project, shadow)
    inv.accounts = ("u-dcops",)
    findings = [f for f in scan(site, inv, TODAY) if f.rule == "access-undeclared"]
    assert sorted(f.resource_name for f in findings) == [
        "group dcops-dept-fgw: admin",
        "group dcops-dept-fgw: member",
        "group dcops-dept-wjw: member",
        "user lina: member",
        "user someone: admin",
    ]
    assert all(f.scope == "fgw-truth" and f.severity == "high" for f in findings)
    assert "dcops.toml" in findings[0].message and "dcops access sync" in findings[0].fix
    # Read as another account, dcops' own admin role is not recognised as its own.
    inv.accounts = ()
    assert "user admin: admin" in {
        f.resource_name for f in scan(site, inv, TODAY) if f.rule == "access-undeclared"
    }
