"""What an approved request asks for, as the resources the tenancy's stack program makes.

Names follow the program's (stacks/components): servers `<tenancy>-vm-<service>-<n>`, one
security group `<tenancy>-sg-<service>` per service holding one egress rule and the declared
ingress, the project named after the tenancy, the namespace and its quota.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource

EGRESS_PREFIX = "0.0.0.0/0"


def server_name(tenancy: str, service: str, index: int) -> str:
    """The name the program gives a service's n-th server."""
    return f"{tenancy}-vm-{service}-{index}"


def group_name(tenancy: str, service: str) -> str:
    """The name the program gives a service's security group."""
    return f"{tenancy}-sg-{service}"


def prefix(text: str) -> str:
    """A CIDR as Neutron stores it (host bits cleared); other text as it is."""
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        return text


def requested(tenancy: Tenancy) -> list[Resource]:
    """The project, servers, groups, rules and quota the tenancy's request asks for."""
    spec = tenancy.spec
    name = tenancy.name
    services = [c for c in spec.get("compute") or [] if isinstance(c, Mapping)]
    found = [Resource("project", "", name, "", {})]
    for service in services:
        found += [
            Resource(
                "server",
                "",
                server_name(name, service["name"], i),
                "",
                {"flavor": str(service.get("flavor") or "")},
            )
            for i in range(1, int(service.get("count") or 0) + 1)
        ]
    groups = [group_name(name, str(s["name"])) for s in services]
    found += [Resource("security_group", "", group, "", {}) for group in groups]
    found += [_rule(group, "egress", "IPv4", "", None, EGRESS_PREFIX, "") for group in groups]
    found += [
        _ingress(name, rule) for rule in spec.get("ingress") or [] if isinstance(rule, Mapping)
    ]
    if tenancy.namespace:
        found.append(Resource("namespace", "", tenancy.namespace, "", {}))
        found.append(_quota(tenancy))
    return found


def _rule(
    group: str,
    direction: str,
    ethertype: str,
    protocol: str,
    port: int | None,
    remote_prefix: str,
    remote_group: str,
) -> Resource:
    details: dict[str, Any] = {
        "group": group,
        "direction": direction,
        "ethertype": ethertype,
        "protocol": protocol,
        "port_min": port,
        "port_max": port,
        "remote_ip_prefix": remote_prefix,
        "remote_group_name": remote_group,
    }
    return Resource("security_group_rule", "", "", "", details)


def _ingress(tenancy: str, rule: Mapping[str, Any]) -> Resource:
    source = str(rule.get("from") or "")
    group = group_name(tenancy, str(rule.get("to")))
    protocol = str(rule.get("protocol") or "tcp")
    port = int(rule.get("port") or 0) or None
    if "/" in source:
        ethertype = "IPv6" if ":" in source else "IPv4"
        return _rule(group, "ingress", ethertype, protocol, port, prefix(source), "")
    return _rule(group, "ingress", "IPv4", protocol, port, "", group_name(tenancy, source))


def _quota(tenancy: Tenancy) -> Resource:
    wanted = (tenancy.spec.get("kubernetes") or {}).get("quota") or {}
    hard = {
        "limits.cpu": str(wanted.get("cpu")),
        "limits.memory": str(wanted.get("memory")),
        "pods": str(wanted.get("pods")),
    }
    return Resource("resource_quota", "", "", tenancy.namespace, {"hard": hard})
