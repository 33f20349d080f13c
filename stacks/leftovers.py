"""What a destroyed tenancy stack leaves in OpenStack that the engine does not manage.

Neutron makes a `default` security group in each project on the project's first networking
call. No stack declares it, so `pulumi destroy` does not delete it, and deleting the project
does not either: without this, one is left behind per destroyed tenancy (seen on the lab
cloud). After the engine has destroyed a stack, dcops deletes the security groups still
owned by the projects the stack held, through openstacksdk with the same clouds.yaml entry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

PROJECT = "openstack:identity/project:Project"


def projects_in(deployment: Mapping[str, Any]) -> list[str]:
    """The IDs of the OpenStack projects a stack's exported state holds."""
    return [
        str(r["id"])
        for r in deployment.get("resources") or []
        if r.get("type") == PROJECT and r.get("id")
    ]


def remove_security_groups(cloud: str, projects: Iterable[str]) -> list[str]:
    """Delete the security groups left in these (deleted) projects; what was removed."""
    wanted = set(projects)
    if not wanted:
        return []
    import openstack

    conn = openstack.connect(cloud=cloud)
    removed = []
    for project in sorted(wanted):
        for group in conn.network.security_groups(project_id=project):
            if group.project_id != project:
                continue
            conn.network.delete_security_group(group, ignore_missing=True)
            removed.append(f"removed security group {group.name} left in project {project}")
    return removed


SECURITY_GROUP = "openstack:networking/secGroup:SecGroup"
RULE = "openstack:networking/secGroupRule:SecGroupRule"


def rule_text(rule: Any) -> str:
    """A security-group rule in one line: direction, protocol, ports, remote."""
    ports = (
        ""
        if rule.port_range_min is None
        else f" {rule.port_range_min}"
        + ("" if rule.port_range_max in (None, rule.port_range_min) else f"-{rule.port_range_max}")
    )
    remote = rule.remote_ip_prefix or (
        f"group {rule.remote_group_id}" if rule.remote_group_id else "any"
    )
    return f"{rule.direction} {rule.ether_type} {rule.protocol or 'any'}{ports} from {remote}"


def unmanaged_rules(cloud: str, deployment: Mapping[str, Any]) -> list[tuple[Any, str]]:
    """Rules in the stack's security groups that the stack does not hold (made out of band).

    The engine cannot see them: a security group's state has no rules, each declared rule is a
    resource of its own. Returns (rule, description) pairs."""
    resources = deployment.get("resources") or []
    groups = {str(r["id"]): r for r in resources if r.get("type") == SECURITY_GROUP and r.get("id")}
    if not groups:
        return []
    held = {str(r["id"]) for r in resources if r.get("type") == RULE and r.get("id")}
    import openstack

    conn = openstack.connect(cloud=cloud)
    found = []
    for group_id, group in sorted(groups.items()):
        name = (group.get("outputs") or {}).get("name", group_id)
        for rule in conn.network.security_group_rules(security_group_id=group_id):
            if rule.id not in held:
                found.append((rule, f"rule {rule.id} in security group {name}: {rule_text(rule)}"))
    return found


def remove_rules(cloud: str, rules: Iterable[Any]) -> list[str]:
    """Delete out-of-band rules; what was removed."""
    import openstack

    conn = openstack.connect(cloud=cloud)
    removed = []
    for rule in rules:
        conn.network.delete_security_group_rule(rule, ignore_missing=True)
        removed.append(f"removed {rule_text(rule)} ({rule.id}): not declared by the stack")
    return removed
