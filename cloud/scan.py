"""The compliance scan: the stacks' own policies run over what is live, plus what only the cloud shows."""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from dcops.cloud.findings import Finding, ordered
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import PLATFORM, UNOWNED, Resource, Scope
from dcops.core.site import Site

POLICIES = (
    "no-admin-port-to-world",
    "sg-rule-description",
    "vpn-crypto-minimum",
    "namespace-fenced",
)
"""The policies of stacks/policies.py that mean the same on a live cloud as in a plan."""
NEUTRON_DEFAULT_GROUP = "default"
"""The group Neutron makes in every project; its rules are Neutron's, not anyone's to describe."""
SG_RULE = "openstack:networking/secGroupRule:SecGroupRule"
IKE = "openstack:vpnaas/ikePolicy:IkePolicy"
IPSEC = "openstack:vpnaas/ipSecPolicy:IpSecPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
KUBE_TYPES = {
    "namespace": NAMESPACE,
    "resource_quota": "kubernetes:core/v1:ResourceQuota",
    "limit_range": "kubernetes:core/v1:LimitRange",
    "network_policy": "kubernetes:networking.k8s.io/v1:NetworkPolicy",
}
HOLDINGS = {"server", "volume", "floating_ip", "load_balancer", "vpn_connection", "workload", "pod"}
"""What counts as still holding resources after expiry."""


def scan(site: Site, inventory: Inventory, today: datetime.date | None = None) -> list[Finding]:
    """Every finding on the inventory's scopes, most severe first."""
    today = today or datetime.date.today()
    scopes = [s for s in inventory.scopes if s.department != PLATFORM]
    found: list[Finding] = []
    found += _policy_findings(site, inventory.scopes)
    found += _unowned(scopes)
    found += _untagged(scopes)
    found += _unattached(scopes)
    found += _expired(scopes, inventory.tenancies, today)
    found += _undeclared_access(site, scopes, inventory.accounts)
    return ordered(found)


def _finding(rule: str, scope: Scope, resource: Resource | None, message: str) -> Finding:
    return Finding(
        rule,
        scope.cloud,
        scope.name,
        scope.department,
        resource.kind if resource else ("project" if scope.cloud == "openstack" else "namespace"),
        resource.id if resource else scope.id,
        resource.name if resource else scope.name,
        message,
    )


def _unowned(scopes: Iterable[Scope]) -> list[Finding]:
    return [
        _finding(
            "scope-without-tenancy",
            scope,
            None,
            f"{'项目' if scope.cloud == 'openstack' else '命名空间'} {scope.name} 不属于任何租户 / "
            f"{'project' if scope.cloud == 'openstack' else 'namespace'} {scope.name!r} belongs "
            "to no approved or live tenancy",
        )
        for scope in scopes
        if scope.department == UNOWNED
    ]


def _untagged(scopes: Iterable[Scope]) -> list[Finding]:
    found = []
    for scope in scopes:
        if scope.department == UNOWNED:
            continue
        tag = f"department:{scope.department}"
        for server in scope.of_kind("server"):
            if tag not in (server.details.get("tags") or []):
                found.append(
                    _finding(
                        "department-tag",
                        scope,
                        server,
                        f"云主机 {server.name} 缺少标签 {tag} / server {server.name!r} lacks tag "
                        f"{tag!r} (tags: {server.details.get('tags') or []})",
                    )
                )
        for volume in scope.of_kind("volume"):
            if (volume.details.get("metadata") or {}).get("department") != scope.department:
                found.append(
                    _finding(
                        "department-tag",
                        scope,
                        volume,
                        f"云硬盘 {volume.name} 缺少元数据 department={scope.department} / volume "
                        f"{volume.name!r} lacks metadata department={scope.department}",
                    )
                )
    return found


def _unattached(scopes: Iterable[Scope]) -> list[Finding]:
    return [
        _finding(
            "floating-ip-unattached",
            scope,
            ip,
            f"浮动 IP {ip.name} 未绑定 / floating IP {ip.name} is attached to no port",
        )
        for scope in scopes
        for ip in scope.of_kind("floating_ip")
        if not ip.details.get("port")
    ]


def _expired(
    scopes: Iterable[Scope], tenancies: Iterable[Tenancy], today: datetime.date
) -> list[Finding]:
    expiry = {t.name: t.expires for t in tenancies}
    found = []
    for scope in scopes:
        ended = expiry.get(scope.tenancy)
        held = [r for r in scope.resources if r.kind in HOLDINGS]
        if ended is not None and ended < today and held:
            found.append(
                _finding(
                    "tenancy-expired",
                    scope,
                    None,
                    f"租户 {scope.tenancy} 已于 {ended} 到期，仍占用 {len(held)} 项资源 / tenancy "
                    f"{scope.tenancy!r} expired on {ended} and still holds {len(held)} resources",
                )
            )
    return found


def _policy_findings(site: Site, scopes: list[Scope]) -> list[Finding]:
    """The stacks' policies, fed each live resource in the shape Pulumi would give it."""
    from dcops.stacks.evaluation import PlannedResource
    from dcops.stacks.policies import build_policies, context_from_site
    from dcops.stacks.verdicts import judge

    planned: list[PlannedResource] = []
    origin: dict[str, tuple[Scope, Resource]] = {}
    for scope in scopes:
        for resource in scope.resources:
            shaped = _as_planned(scope, resource)
            if shaped is not None:
                urn = f"urn:pulumi:{scope.cloud}.{scope.name}::dcops::{shaped[0]}::{resource.id}"
                planned.append(
                    PlannedResource(urn, shaped[0], resource.id, "", True, "", shaped[1], {})
                )
                origin[urn] = (scope, resource)
    policies = [p for p in build_policies(context_from_site(site)) if p.name in POLICIES]
    found = []
    for verdict in judge(policies, planned):
        for violation in verdict.violations:
            if violation.urn not in origin:
                continue
            scope, resource = origin[violation.urn]
            if _applies(verdict.policy, scope, resource):
                subject = None if resource.kind == "namespace" else resource
                found.append(_finding(verdict.policy, scope, subject, violation.message))
    return found


def _applies(policy: str, scope: Scope, resource: Resource) -> bool:
    """Admin ports are checked everywhere; the rest only where a department or nobody owns it."""
    if policy == "no-admin-port-to-world":
        return True
    if scope.department == PLATFORM:
        return False
    return not (
        policy == "sg-rule-description" and resource.details.get("group") == NEUTRON_DEFAULT_GROUP
    )


def _as_planned(scope: Scope, resource: Resource) -> tuple[str, dict[str, Any]] | None:
    """The resource's Pulumi type and inputs, for the kinds the policies judge."""
    d = resource.details
    if resource.kind == "security_group_rule":
        return SG_RULE, {
            "direction": d.get("direction"),
            "protocol": d.get("protocol") or None,
            "portRangeMin": d.get("port_min"),
            "portRangeMax": d.get("port_max"),
            "remoteIpPrefix": d.get("remote_ip_prefix") or _any(d.get("ethertype")),
            "remoteGroupId": d.get("remote_group") or None,
            "description": d.get("description"),
        }
    if resource.kind in ("ike_policy", "ipsec_policy"):
        return IKE if resource.kind == "ike_policy" else IPSEC, {
            "encryptionAlgorithm": d.get("encryption") or None,
            "authAlgorithm": d.get("auth") or None,
            "pfs": d.get("pfs") or None,
        }
    if resource.kind not in KUBE_TYPES:
        return None
    meta = {"name": resource.name, "namespace": scope.name}
    if resource.kind == "network_policy":
        spec: dict[str, Any] = {
            "podSelector": d.get("pod_selector") or {},
            "policyTypes": d.get("policy_types") or [],
            "ingress": [{}] * int(d.get("ingress_rules") or 0),
        }
        return KUBE_TYPES["network_policy"], {"metadata": meta, "spec": spec}
    return KUBE_TYPES[resource.kind], {"metadata": meta}


def _any(ethertype: Any) -> str | None:
    """Neutron's empty remote prefix means every address of the rule's family."""
    if not ethertype:
        return None
    return "::/0" if str(ethertype) == "IPv6" else "0.0.0.0/0"


def _undeclared_access(
    site: Site, scopes: Iterable[Scope], accounts: tuple[str, ...]
) -> list[Finding]:
    """Role assignments on a department's project other than its group's declared roles and
    dcops' own account's admin role (made by hand in Horizon or with the CLI)."""
    from dcops.cloud.people_access import group_name
    from dcops.core.clusters import openstack_target

    target = openstack_target(site)
    roles = set(target.department_roles)
    found = []
    for scope in scopes:
        if scope.department == UNOWNED or scope.cloud != "openstack":
            continue
        group = group_name(scope.department)
        for grant in scope.of_kind("role_assignment"):
            d = grant.details
            # A group is the department's by its name in the people domain: the same name made
            # in another domain (anyone may create groups there) declares nothing.
            declared = (d["holder_kind"], d["holder"], d.get("holder_domain")) == (
                "group",
                group,
                target.people_domain,
            ) and d["role"] in roles
            own = d["holder_kind"] == "user" and d["holder_id"] in accounts and d["role"] == "admin"
            if declared or own:
                continue
            found.append(
                _finding(
                    "access-undeclared",
                    scope,
                    grant,
                    f"项目 {scope.name} 中 {d['holder_kind']} {d['holder']} 持有角色 {d['role']}，"
                    f"不在 dcops.toml 声明之内 / {d['holder_kind']} {d['holder']!r} holds role "
                    f"{d['role']!r} on project {scope.name!r}, outside what dcops.toml declares "
                    f"for {scope.department} (group {group}: {', '.join(sorted(roles))})",
                )
            )
    return found
