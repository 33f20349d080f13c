"""Project quotas: compute, network and load balancer, sized from the request."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import QuotaSpec


@dataclass(frozen=True)
class QuotaArgs:
    """Inputs of ProjectQuotas."""

    project_id: pulumi.Input[str]
    quota: QuotaSpec


class ProjectQuotas(Component):
    """The three quota sets of one project."""

    def __init__(
        self, name: str, args: QuotaArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Quotas", name, opts)
        q = args.quota
        openstack.compute.QuotaSetV2(
            f"{name}-compute",
            project_id=args.project_id,
            instances=q.instances,
            cores=q.cores,
            ram=q.ram_mb,
            # Nova counts key pairs per user, across every project: the one provisioning
            # account holds a key pair per tenancy, so any bound here would refuse the
            # tenancy after that number (10 at once: 8 refused, "too many key pairs").
            key_pairs=-1,
            server_groups=max(q.instances, 1),
            server_group_members=max(q.instances, 1),
            opts=self.child_opts,
        )
        openstack.networking.QuotaV2(
            f"{name}-network",
            project_id=args.project_id,
            network=q.networks,
            subnet=q.subnets,
            port=q.ports,
            router=q.routers,
            security_group=q.security_groups,
            security_group_rule=q.security_group_rules,
            floatingip=q.floating_ips,
            opts=self.child_opts,
        )
        openstack.loadbalancer.Quota(
            f"{name}-loadbalancer",
            project_id=args.project_id,
            loadbalancer=q.load_balancers,
            listener=q.listeners,
            pool=q.pools,
            member=q.members,
            health_monitor=q.health_monitors,
            opts=self.child_opts,
        )
        self.register_outputs({})
