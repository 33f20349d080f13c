"""Drift between what a tenancy's approved request says and what is live in the clouds.

Compared: the servers the request's compute groups make (`<tenancy>-<service>-<n>`), the
ingress rules it opens from CIDRs, the project and namespace themselves, and the namespace's
quota. The applied Pulumi state is not compared here (see docs/commands/cloud.md).
"""

from __future__ import annotations

from typing import Any

from dcops.cloud.findings import Finding, ordered
from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.core.errors import InputError


def drift(inventory: Inventory, name: str | None = None) -> list[Finding]:
    """Every difference between each (or one) tenancy's request and the live clouds."""
    tenancies = [t for t in inventory.tenancies if name is None or t.name == name]
    if name is not None and not tenancies:
        known = ", ".join(t.name for t in inventory.tenancies) or "none"
        raise InputError(
            f"no approved or live tenancy {name!r}; tenancies that own cloud resources: {known}"
        )
    found: list[Finding] = []
    for tenancy in tenancies:
        found += _tenancy_drift(inventory, tenancy)
    return ordered(found)


def _scope(inventory: Inventory, cloud: str, name: str) -> Scope | None:
    return next((s for s in inventory.scopes if s.cloud == cloud and s.name == name), None)


def _missing(tenancy: Tenancy, cloud: str, kind: str, name: str, what: str) -> Finding:
    return Finding("drift-missing", cloud, tenancy.name, tenancy.department, kind, "", name, what)


def _about(rule: str, tenancy: Tenancy, scope: Scope, resource: Resource, what: str) -> Finding:
    return Finding(
        rule,
        scope.cloud,
        scope.name,
        tenancy.department,
        resource.kind,
        resource.id,
        resource.name,
        what,
    )


def _tenancy_drift(inventory: Inventory, tenancy: Tenancy) -> list[Finding]:
    spec = tenancy.spec
    found: list[Finding] = []
    project = _scope(inventory, "openstack", tenancy.name)
    if project is None:
        found.append(
            _missing(
                tenancy,
                "openstack",
                "project",
                tenancy.name,
                f"项目 {tenancy.name} 不存在 / project {tenancy.name!r} of the request is not in "
                "the cloud",
            )
        )
    else:
        found += _servers(tenancy, project, spec)
        found += _rules(tenancy, project, spec)
    if tenancy.namespace:
        namespace = _scope(inventory, "kubernetes", tenancy.namespace)
        if namespace is None:
            found.append(
                _missing(
                    tenancy,
                    "kubernetes",
                    "namespace",
                    tenancy.namespace,
                    f"命名空间 {tenancy.namespace} 不存在 / namespace {tenancy.namespace!r} of the "
                    "request is not in the cluster",
                )
            )
        else:
            found += _quota(tenancy, namespace, spec)
    return found


def _servers(tenancy: Tenancy, project: Scope, spec: dict[str, Any]) -> list[Finding]:
    expected = {
        f"{tenancy.name}-{group['name']}-{i}"
        for group in spec.get("compute") or []
        for i in range(1, int(group.get("count") or 0) + 1)
    }
    live = {s.name: s for s in project.of_kind("server")}
    found = [
        _missing(
            tenancy,
            "openstack",
            "server",
            name,
            f"云主机 {name} 缺失 / server {name!r} of the request is missing",
        )
        for name in sorted(expected - set(live))
    ]
    found += [
        _about(
            "drift-extra",
            tenancy,
            project,
            live[name],
            f"云主机 {name} 不在申请中（创建于 {live[name].details.get('created') or '?'}）/ "
            f"server {name!r} is not in the request (created {live[name].details.get('created') or '?'})",
        )
        for name in sorted(set(live) - expected)
    ]
    return found


def _rules(tenancy: Tenancy, project: Scope, spec: dict[str, Any]) -> list[Finding]:
    """Ingress rules from CIDRs: each in the request exactly, no others in the tenancy's groups."""
    groups = {f"{tenancy.name}-{group['name']}" for group in spec.get("compute") or []}
    expected = {
        (f"{tenancy.name}-{rule['to']}", int(rule["port"]), str(rule["from"]))
        for rule in spec.get("ingress") or []
        if "/" in str(rule.get("from") or "")
    }
    live: dict[tuple[str, int, str], Resource] = {}
    for rule in project.of_kind("security_group_rule"):
        d = rule.details
        if (
            d.get("group") in groups
            and d.get("direction") == "ingress"
            and d.get("remote_ip_prefix")
        ):
            key = (str(d["group"]), int(d.get("port_min") or 0), str(d["remote_ip_prefix"]))
            live[key] = rule
    found = [
        _missing(
            tenancy,
            "openstack",
            "security_group_rule",
            f"{group} {port} {cidr}",
            f"安全组 {group} 缺少端口 {port} 来自 {cidr} 的规则 / group {group!r} lacks the rule "
            f"for port {port} from {cidr}",
        )
        for group, port, cidr in sorted(expected - set(live))
    ]
    for key in sorted(set(live) - expected):
        group, port, cidr = key
        when = live[key].details.get("updated") or "?"
        found.append(
            _about(
                "drift-extra",
                tenancy,
                project,
                live[key],
                f"安全组 {group} 多出端口 {port} 来自 {cidr} 的规则（{when}）/ group {group!r} has a "
                f"rule for port {port} from {cidr} that the request does not (changed {when})",
            )
        )
    return found


def _quota(tenancy: Tenancy, namespace: Scope, spec: dict[str, Any]) -> list[Finding]:
    """The namespace's quota holds the request's CPU, memory and pods."""
    wanted = (spec.get("kubernetes") or {}).get("quota") or {}
    expected = {
        "limits.cpu": str(wanted.get("cpu")),
        "limits.memory": str(wanted.get("memory")),
        "pods": str(wanted.get("pods")),
    }
    quotas = namespace.of_kind("resource_quota")
    if not quotas:
        return [
            _missing(
                tenancy,
                "kubernetes",
                "resource_quota",
                namespace.name,
                f"命名空间 {namespace.name} 没有配额 / namespace {namespace.name!r} has no "
                "ResourceQuota",
            )
        ]
    found = []
    for quota in quotas:
        hard = quota.details.get("hard") or {}
        changed = {k: (v, hard.get(k)) for k, v in expected.items() if hard.get(k) != v}
        if changed:
            text = ", ".join(f"{k} {want} → {have}" for k, (want, have) in changed.items())
            found.append(
                _about(
                    "drift-changed",
                    tenancy,
                    namespace,
                    quota,
                    f"配额与申请不符：{text} / quota differs from the request: {text}",
                )
            )
    return found
