"""Security groups: one per service, default rules deleted, only the declared ingress."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import IngressSpec

R = TypeVar("R", bound=pulumi.Resource)


@dataclass(frozen=True)
class SecurityArgs:
    """Inputs of SecurityGroups."""

    tenancy: str
    services: tuple[str, ...]
    ingress: tuple[IngressSpec, ...]
    tags: list[str]


class SecurityGroups(Component):
    """A security group per service with described ingress rules and one described egress rule.

    Groups and rules are made one after another. Neutron counts a group or rule that was just
    made twice (itself and its reservation) while another create of the same kind runs, so
    concurrent creates under the tenancy's exact quota were refused with OverQuota.
    """

    groups: dict[str, openstack.networking.SecGroup]
    _last: pulumi.Resource | None = None

    def __init__(
        self, name: str, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:SecurityGroups", name, opts)
        self.groups = {}
        for service in args.services:
            self.groups[service] = self._made(
                openstack.networking.SecGroup(
                    f"{name}-{service}",
                    name=f"{name}-{service}",
                    description=f"{args.tenancy} {service}: declared ingress only",
                    delete_default_rules=True,
                    tags=args.tags,
                    opts=self._after_last(),
                )
            )
        for service, group in self.groups.items():
            self._made(
                openstack.networking.SecGroupRule(
                    f"{name}-{service}-egress",
                    direction="egress",
                    ethertype="IPv4",
                    remote_ip_prefix="0.0.0.0/0",
                    security_group_id=group.id,
                    description="outbound traffic (updates, DNS, NTP)",
                    opts=self._after_last(),
                )
            )
        for rule in args.ingress:
            self._ingress(name, rule)
        self.register_outputs({})

    def _after_last(self) -> pulumi.ResourceOptions:
        """Options that make the next group or rule wait for the one made before it."""
        if self._last is None:
            return self.child_opts
        return pulumi.ResourceOptions.merge(
            self.child_opts, pulumi.ResourceOptions(depends_on=[self._last])
        )

    def _made(self, resource: R) -> R:
        """Remember a group or rule as the one the next must wait for."""
        self._last = resource
        return resource

    def _ingress(self, name: str, rule: IngressSpec) -> None:
        source = rule.from_service or (rule.cidr or "any").replace("/", "-").replace(":", "-")
        remote_group = self.groups[rule.from_service].id if rule.from_service else None
        ethertype = "IPv6" if rule.cidr and ":" in rule.cidr else "IPv4"
        self._made(
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
                opts=self._after_last(),
            )
        )
