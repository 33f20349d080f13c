"""Security groups: one per service, default rules deleted, only the declared ingress."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import IngressSpec


@dataclass(frozen=True)
class SecurityArgs:
    """Inputs of SecurityGroups."""

    tenancy: str
    services: tuple[str, ...]
    ingress: tuple[IngressSpec, ...]
    tags: list[str]


class SecurityGroups(Component):
    """A security group per service with described ingress rules and one described egress rule."""

    groups: dict[str, openstack.networking.SecGroup]

    def __init__(
        self, name: str, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:SecurityGroups", name, opts)
        self.groups = {
            service: openstack.networking.SecGroup(
                f"{name}-{service}",
                name=f"{name}-{service}",
                description=f"{args.tenancy} {service}: declared ingress only",
                delete_default_rules=True,
                tags=args.tags,
                opts=self.child_opts,
            )
            for service in args.services
        }
        for service, group in self.groups.items():
            openstack.networking.SecGroupRule(
                f"{name}-{service}-egress",
                direction="egress",
                ethertype="IPv4",
                remote_ip_prefix="0.0.0.0/0",
                security_group_id=group.id,
                description="outbound traffic (updates, DNS, NTP)",
                opts=self.child_opts,
            )
        for rule in args.ingress:
            self._ingress(name, rule)
        self.register_outputs({})

    def _ingress(self, name: str, rule: IngressSpec) -> None:
        source = rule.from_service or (rule.cidr or "any").replace("/", "-").replace(":", "-")
        remote_group = self.groups[rule.from_service].id if rule.from_service else None
        ethertype = "IPv6" if rule.cidr and ":" in rule.cidr else "IPv4"
        openstack.networking.SecGroupRule(
            f"{name}-{rule.to}-in-{rule.protocol}{rule.port}-from-{source}",
            direction="ingress",
            ethertype=ethertype,
            protocol=rule.protocol,
            port_range_min=rule.port,
            port_range_max=rule.port,
            remote_ip_prefix=rule.cidr,
            remote_group_id=remote_group,
            security_group_id=self.groups[rule.to].id,
            description=rule.description,
            opts=self.child_opts,
        )
