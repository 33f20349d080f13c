"""Octavia load balancers: listener, pool of a service's servers, health monitor, floating IP."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import LoadBalancerSpec


@dataclass(frozen=True)
class LoadBalancerArgs:
    """Inputs of LoadBalancer."""

    spec: LoadBalancerSpec
    subnet_id: pulumi.Input[str]
    members: list[openstack.compute.Instance]
    external_network: str
    tags: list[str]


class LoadBalancer(Component):
    """One load balancer in front of the servers of one service."""

    balancer: openstack.loadbalancer.LoadBalancer
    floating_ip: openstack.networking.FloatingIp | None = None

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:LoadBalancer", name, opts)
        spec = args.spec
        self.balancer = openstack.loadbalancer.LoadBalancer(
            name, name=name, vip_subnet_id=args.subnet_id, tags=args.tags, opts=self.child_opts
        )
        listener = openstack.loadbalancer.Listener(
            f"{name}-listener",
            name=f"{name}-listener",
            loadbalancer_id=self.balancer.id,
            protocol=spec.protocol,
            protocol_port=spec.port,
            tags=args.tags,
            opts=self.child_opts,
        )
        pool = openstack.loadbalancer.Pool(
            f"{name}-pool",
            name=f"{name}-pool",
            listener_id=listener.id,
            protocol=spec.protocol,
            lb_method="ROUND_ROBIN",
            tags=args.tags,
            opts=self.child_opts,
        )
        for index, server in enumerate(args.members, start=1):
            openstack.loadbalancer.Member(
                f"{name}-member-{index}",
                name=f"{name}-member-{index}",
                pool_id=pool.id,
                address=server.access_ip_v4,
                protocol_port=spec.member_port or spec.port,
                subnet_id=args.subnet_id,
                tags=args.tags,
                opts=self.child_opts,
            )
        health = spec.health
        openstack.loadbalancer.Monitor(
            f"{name}-health",
            name=f"{name}-health",
            pool_id=pool.id,
            type=health.type,
            delay=health.interval,
            timeout=health.timeout,
            max_retries=health.retries,
            url_path=health.url_path if health.type in ("HTTP", "HTTPS") else None,
            opts=self.child_opts,
        )
        if spec.floating_ip:
            self.floating_ip = openstack.networking.FloatingIp(
                f"{name}-fip",
                pool=args.external_network,
                port_id=self.balancer.vip_port_id,
                description=f"public address of {name}",
                tags=args.tags,
                opts=self.child_opts,
            )
        self.register_outputs({"vip_address": self.balancer.vip_address})
