"""Tenant networks: one network and subnet per allocation, a router out to the external network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import NetworkSpec

DNS = ("10.10.0.53", "10.10.0.54")


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of TenantNetwork."""

    tenancy: str
    networks: tuple[NetworkSpec, ...]
    external_network_id: pulumi.Input[str]
    tags: list[str]


class TenantNetwork(Component):
    """Networks, subnets and a router with a gateway and one interface per subnet."""

    networks: dict[str, openstack.networking.Network]
    subnets: dict[str, openstack.networking.Subnet]
    interfaces: list[openstack.networking.RouterInterface]
    router: openstack.networking.Router

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Network", name, opts)
        self.router = openstack.networking.Router(
            f"{name}-router",
            name=f"{name}-router",
            external_network_id=args.external_network_id,
            admin_state_up=True,
            tags=args.tags,
            opts=self.child_opts,
        )
        self.networks, self.subnets, self.interfaces = {}, {}, []
        for spec in args.networks:
            self._add(name, spec, args.tags)
        self.register_outputs({"router_id": self.router.id})

    def _add(self, name: str, spec: NetworkSpec, tags: list[str]) -> None:
        base = f"{name}-{spec.name}"
        network = openstack.networking.Network(
            base, name=base, admin_state_up=True, tags=tags, opts=self.child_opts
        )
        subnet = openstack.networking.Subnet(
            f"{base}-subnet",
            name=f"{base}-subnet",
            network_id=network.id,
            cidr=spec.cidr,
            ip_version=4,
            enable_dhcp=True,
            dns_nameservers=list(DNS),
            tags=tags,
            opts=self.child_opts,
        )
        interface = openstack.networking.RouterInterface(
            f"{base}-router-interface",
            router_id=self.router.id,
            subnet_id=subnet.id,
            opts=self.child_opts,
        )
        self.networks[spec.name], self.subnets[spec.name] = network, subnet
        self.interfaces.append(interface)
