"""Tenant networks: one network and subnet per allocation, a router out to the external network."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.spec import NetworkSpec

DNS = ("10.10.0.53", "10.10.0.54")


@dataclass(frozen=True)
class NetworkArgs:
    """Inputs of TenantNetwork."""

    tenancy: str
    networks: tuple[NetworkSpec, ...]
    external_network_id: pulumi.Input[str]
    tags: list[str]


class TenantNetwork(pulumi.ComponentResource):
    """Networks, subnets and a router with a gateway and one interface per subnet."""

    networks: dict[str, openstack.networking.Network]
    subnets: dict[str, openstack.networking.Subnet]
    interfaces: list[openstack.networking.RouterInterface]
    router: openstack.networking.Router

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.router = openstack.networking.Router(
            f"{name}-router",
            name=f"{name}-router",
            external_network_id=args.external_network_id,
            admin_state_up=True,
            tags=args.tags,
            opts=child,
        )
        self.networks, self.subnets, self.interfaces = {}, {}, []
        for spec in args.networks:
            self._add(name, spec, args.tags, child)
        self.register_outputs({"router_id": self.router.id})

    def _add(
        self, name: str, spec: NetworkSpec, tags: list[str], child: pulumi.ResourceOptions
    ) -> None:
        base = f"{name}-{spec.name}"
        network = openstack.networking.Network(
            base, name=base, admin_state_up=True, tags=tags, opts=child
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
            opts=child,
        )
        interface = openstack.networking.RouterInterface(
            f"{base}-router-interface",
            router_id=self.router.id,
            subnet_id=subnet.id,
            opts=child,
        )
        self.networks[spec.name], self.subnets[spec.name] = network, subnet
        self.interfaces.append(interface)
