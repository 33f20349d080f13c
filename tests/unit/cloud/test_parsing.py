"""The parsers of OpenStack and Kubernetes records, against responses recorded from the lab clouds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dcops.cloud import kubernetes_parsing, openstack_parsing

RECORDED = Path(__file__).parent / "recorded"


def recorded(name: str) -> Any:
    return json.loads((RECORDED / f"{name}.json").read_text(encoding="utf-8"))


def test_servers_carry_their_flavor_size_tags_and_project() -> None:
    servers = {s.name: s for s in map(openstack_parsing.server, recorded("openstack-servers"))}
    assert set(servers) == {"fgw-truth-app-0", "debug-box"}
    tagged, hand_made = servers["fgw-truth-app-0"], servers["debug-box"]
    assert (tagged.details["vcpus"], tagged.details["ram_mb"]) == (2, 4096)
    assert tagged.details["flavor"] == "c2.m4"
    assert tagged.details["tags"] == ["department:fgw"]
    assert hand_made.details["tags"] == []
    assert tagged.scope == hand_made.scope != ""


def test_a_floating_ip_without_a_port_is_unattached() -> None:
    (ip,) = map(openstack_parsing.floating_ip, recorded("openstack-floating_ips"))
    assert ip.details["port"] == ""
    assert ip.name.startswith("198.51.100.")


def test_a_security_group_brings_its_rules_with_the_policy_fields() -> None:
    (group,) = recorded("openstack-security_groups")
    parsed = openstack_parsing.security_group(group)
    assert parsed[0].kind == "security_group"
    rules = {(r.details["port_min"], r.details["remote_ip_prefix"]): r for r in parsed[1:]}
    assert set(rules) == {(443, "10.10.0.0/16"), (22, "0.0.0.0/0")}
    assert rules[(443, "10.10.0.0/16")].details["description"] == "ops HTTPS"
    assert rules[(22, "0.0.0.0/0")].details["description"] == ""
    assert all(r.details["group"] == "fgw-truth-app" for r in parsed[1:])
    assert all(r.details["group_id"] == group["id"] for r in parsed[1:])


def test_a_rule_added_from_another_project_belongs_to_its_groups_project() -> None:
    (group,) = recorded("openstack-security_groups")
    # An admin adds a rule to the department's group while scoped to the admin project.
    by_admin = {**group["security_group_rules"][0], "project_id": "admin-project"}
    parsed = openstack_parsing.security_group({**group, "security_group_rules": [by_admin]})
    assert parsed[1].scope == parsed[0].scope == group["project_id"] != "admin-project"


def test_networks_and_routers() -> None:
    networks = {n.name: n for n in map(openstack_parsing.network, recorded("openstack-networks"))}
    assert networks["public-gov"].details["external"] is True
    assert networks["fgw-truth-app"].details["tags"] == ["department:fgw"]
    (router,) = map(openstack_parsing.router, recorded("openstack-routers"))
    assert router.details["external_network"] == networks["public-gov"].id


def test_namespaces_keep_their_labels() -> None:
    items = recorded("kubernetes-namespaces")["items"]
    spaces = {n.name: n for n in map(kubernetes_parsing.namespace, items)}
    assert spaces["fgw-truth"].details["labels"]["dcops.gov.cn/tenancy"] == "fgw-truth"
    assert spaces["shadow-ns"].details["labels"] == {"kubernetes.io/metadata.name": "shadow-ns"}


def test_a_quota_shows_what_it_grants_and_what_is_used() -> None:
    (quota,) = map(
        kubernetes_parsing.resource_quota, recorded("kubernetes-resourcequotas")["items"]
    )
    assert quota.scope == "fgw-truth"
    assert quota.details["hard"]["limits.cpu"] == "3"
    assert quota.details["used"]["pods"] == "0"


def test_a_network_policy_keeps_what_the_default_deny_check_reads() -> None:
    (policy,) = map(
        kubernetes_parsing.network_policy, recorded("kubernetes-networkpolicies")["items"]
    )
    assert policy.details["pod_selector"] == {}
    assert policy.details["policy_types"] == ["Ingress", "Egress"]
    assert policy.details["ingress_rules"] == 0


def test_role_assignments_on_projects_name_their_holder_and_role() -> None:
    records = recorded("openstack-role_assignments")
    parsed = [r for record in records for r in openstack_parsing.role_assignment(record)]
    # The system-scoped assignment of the lab's admin is nobody's project: left out.
    assert len(parsed) == len(records) - 1
    names = {r.name: r for r in parsed}
    assert set(names) == {
        "user admin: admin",
        "group dcops-dept-fgw: member",
        "group dcops-dept-wjw: member",
    }
    fgw = names["group dcops-dept-fgw: member"]
    assert (fgw.details["holder_kind"], fgw.details["holder"], fgw.details["role"]) == (
        "group",
        "dcops-dept-fgw",
        "member",
    )
    assert fgw.scope and fgw.scope != names["group dcops-dept-wjw: member"].scope
    assert names["user admin: admin"].details["holder_id"] != ""
    assert fgw.details["holder_domain"] == "Default"
