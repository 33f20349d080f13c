"""OpenStack API records (as openstacksdk's `to_dict()` gives them) → dcops' Resource records."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from dcops.cloud.records import Resource

Parser = Callable[[Mapping[str, Any]], Resource]


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _tags(record: Mapping[str, Any]) -> list[str]:
    return sorted(str(t) for t in record.get("tags") or [])


def _project(record: Mapping[str, Any]) -> str:
    return _text(record.get("project_id") or record.get("tenant_id"))


def server(record: Mapping[str, Any]) -> Resource:
    """A Nova server with its flavor's size (embedded since compute microversion 2.47)."""
    flavor = record.get("flavor") or {}
    return Resource(
        "server",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {
            "status": _text(record.get("status")),
            "flavor": _text(flavor.get("original_name") or flavor.get("name") or flavor.get("id")),
            "vcpus": int(flavor.get("vcpus") or 0),
            "ram_mb": int(flavor.get("ram") or 0),
            "tags": _tags(record),
            "created": _text(record.get("created_at")),
        },
    )


def volume(record: Mapping[str, Any]) -> Resource:
    """A Cinder volume with its size and metadata."""
    return Resource(
        "volume",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {
            "status": _text(record.get("status")),
            "size_gb": int(record.get("size") or 0),
            "metadata": {str(k): str(v) for k, v in (record.get("metadata") or {}).items()},
            "created": _text(record.get("created_at")),
        },
    )


def network(record: Mapping[str, Any]) -> Resource:
    """A Neutron network."""
    return Resource(
        "network",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {
            "external": bool(record.get("is_router_external")),
            "shared": bool(record.get("is_shared")),
            "tags": _tags(record),
        },
    )


def router(record: Mapping[str, Any]) -> Resource:
    """A Neutron router."""
    gateway = record.get("external_gateway_info") or {}
    return Resource(
        "router",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {"external_network": _text(gateway.get("network_id")), "tags": _tags(record)},
    )


def floating_ip(record: Mapping[str, Any]) -> Resource:
    """A floating IP, attached to a port or not."""
    return Resource(
        "floating_ip",
        _text(record.get("id")),
        _text(record.get("floating_ip_address")),
        _project(record),
        {
            "address": _text(record.get("floating_ip_address")),
            "port": _text(record.get("port_id")),
            "fixed_address": _text(record.get("fixed_ip_address")),
            "tags": _tags(record),
            "created": _text(record.get("created_at")),
        },
    )


def security_group_rule(record: Mapping[str, Any], group: str = "", owner: str = "") -> Resource:
    """A security-group rule, with the fields the policies read; it belongs where its group
    does (`owner`): an admin who adds a rule to a department's group from another project
    makes a rule of that project, which still opens the department's servers."""
    return Resource(
        "security_group_rule",
        _text(record.get("id")),
        _text(record.get("description")),
        owner or _project(record),
        {
            "group": group or _text(record.get("security_group_id")),
            "group_id": _text(record.get("security_group_id")),
            "direction": _text(record.get("direction")),
            "ethertype": _text(record.get("ether_type") or record.get("ethertype")),
            "protocol": _text(record.get("protocol")),
            "port_min": record.get("port_range_min"),
            "port_max": record.get("port_range_max"),
            "remote_ip_prefix": _text(record.get("remote_ip_prefix")),
            "remote_group": _text(record.get("remote_group_id")),
            "description": _text(record.get("description")),
            "updated": _text(record.get("updated_at")),
        },
    )


def security_group(record: Mapping[str, Any]) -> list[Resource]:
    """A security group and each of its rules (Neutron lists them inside the group)."""
    name = _text(record.get("name"))
    group = Resource(
        "security_group",
        _text(record.get("id")),
        name,
        _project(record),
        {"tags": _tags(record), "rules": len(record.get("security_group_rules") or [])},
    )
    rules = [
        security_group_rule(r, name, group.scope) for r in record.get("security_group_rules") or []
    ]
    return [group, *rules]


def load_balancer(record: Mapping[str, Any]) -> Resource:
    """An Octavia load balancer."""
    return Resource(
        "load_balancer",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {
            "vip": _text(record.get("vip_address")),
            "status": _text(record.get("provisioning_status")),
            "tags": _tags(record),
        },
    )


def vpn_connection(record: Mapping[str, Any]) -> Resource:
    """An IPsec site connection, with the IDs of the policies it uses."""
    return Resource(
        "vpn_connection",
        _text(record.get("id")),
        _text(record.get("name")),
        _project(record),
        {
            "peer_address": _text(record.get("peer_address")),
            "status": _text(record.get("status")),
            "ike_policy": _text(record.get("ikepolicy_id")),
            "ipsec_policy": _text(record.get("ipsecpolicy_id")),
        },
    )


def crypto_policy(kind: str) -> Parser:
    """An IKE or IPsec policy: algorithms and PFS group."""

    def parse(record: Mapping[str, Any]) -> Resource:
        return Resource(
            kind,
            _text(record.get("id")),
            _text(record.get("name")),
            _project(record),
            {
                "encryption": _text(record.get("encryption_algorithm")),
                "auth": _text(record.get("auth_algorithm")),
                "pfs": _text(record.get("pfs")),
            },
        )

    return parse


def role_assignment(record: Mapping[str, Any]) -> list[Resource]:
    """A Keystone role assignment on a project (listed with names); others are not a project's."""
    project = (record.get("scope") or {}).get("project")
    if not project:
        return []
    holder = record.get("group") or record.get("user") or {}
    holder_kind = "group" if record.get("group") else "user"
    role = record.get("role") or {}
    holder_name = _text(holder.get("name") or holder.get("id"))
    role_name = _text(role.get("name") or role.get("id"))
    return [
        Resource(
            "role_assignment",
            f"{holder_kind}:{_text(holder.get('id'))}:{_text(role.get('id'))}",
            f"{holder_kind} {holder_name}: {role_name}",
            _text(project.get("id")),
            {
                "holder_kind": holder_kind,
                "holder": holder_name,
                "holder_id": _text(holder.get("id")),
                "holder_domain": _text((holder.get("domain") or {}).get("name")),
                "role": role_name,
                "inherited": bool((record.get("scope") or {}).get("OS-INHERIT:inherited_to")),
            },
        )
    ]
