"""An OpenStack tenancy: project and quotas (admin), then everything inside the project."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.components.compute import ComputeArgs, Servers
from dcops.stacks.components.loadbalancer import LoadBalancer, LoadBalancerArgs
from dcops.stacks.components.network import NetworkArgs, TenantNetwork
from dcops.stacks.components.quotas import ProjectQuotas, QuotaArgs
from dcops.stacks.components.security import SecurityArgs, SecurityGroups
from dcops.stacks.components.vpn import SiteVpn, VpnArgs
from dcops.stacks.outputs import openstack_outputs
from dcops.stacks.spec import TenancySpec


@dataclass(frozen=True)
class OpenStackTenancyArgs:
    """Inputs of OpenStackTenancy: the spec, the admin provider and the external network."""

    spec: TenancySpec
    admin: openstack.Provider
    cloud: str
    external_network_id: pulumi.Input[str]
    psks: dict[str, pulumi.Input[str]]
    login: Mapping[str, str] = field(default_factory=dict)


class OpenStackTenancy(Component):
    """A department's project with its networks, security groups, servers, LBs and VPNs."""

    project: openstack.identity.Project
    outputs: dict[str, Any]
    """What ops need once it is up (stacks/outputs.py): the stack exports it."""

    def __init__(
        self, name: str, args: OpenStackTenancyArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Tenancy", name, opts)
        spec = args.spec
        admin = pulumi.ResourceOptions(parent=self, provider=args.admin)
        self.project = openstack.identity.Project(
            name,
            name=name,
            description=spec.description or f"{spec.department} {spec.environment} tenancy",
            tags=spec.tags,
            opts=admin,
        )
        ProjectQuotas(
            f"{name}-quotas",
            QuotaArgs(project_id=self.project.id, quota=spec.quota),
            pulumi.ResourceOptions(parent=self, providers={"openstack": args.admin}),
        )
        access = self._admin_access(name, args.admin)
        # A provider scoped to the new project can log in only once its user has a role there.
        scoped = openstack.Provider(
            f"{name}-project",
            tenant_id=self.project.id,
            **_login(args),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[access]),
        )
        inside = pulumi.ResourceOptions(
            parent=self, providers={"openstack": scoped}, depends_on=[access]
        )
        self.outputs = self._inside(name, args, inside)
        self.register_outputs({"project_id": self.project.id})

    def _admin_access(
        self, name: str, admin: openstack.Provider
    ) -> openstack.identity.RoleAssignment:
        """The provisioning user's admin role in the new project."""
        lookup = pulumi.InvokeOutputOptions(parent=self, provider=admin)
        scope = openstack.identity.get_auth_scope_output(name="provisioner", opts=lookup)
        role = openstack.identity.get_role_output(name="admin", opts=lookup)
        return openstack.identity.RoleAssignment(
            f"{name}-admin-access",
            project_id=self.project.id,
            user_id=scope.user_id,
            role_id=role.id,
            opts=pulumi.ResourceOptions(parent=self, provider=admin),
        )

    def _inside(
        self, name: str, args: OpenStackTenancyArgs, inside: pulumi.ResourceOptions
    ) -> dict[str, Any]:
        spec = args.spec
        net = TenantNetwork(
            f"{name}-net",
            NetworkArgs(name, spec.networks, args.external_network_id, spec.tags),
            inside,
        )
        services = tuple(s.name for s in spec.servers)
        security = SecurityGroups(
            f"{name}-sg", SecurityArgs(name, services, spec.ingress, spec.tags), inside
        )
        servers = Servers(
            f"{name}-vm",
            ComputeArgs(
                tenancy=name,
                department=spec.department,
                servers=spec.servers,
                network_ids={k: n.id for k, n in net.networks.items()},
                security_groups={k: g.name for k, g in security.groups.items()},
                public_key=spec.public_key,
                tags=spec.tags,
                depends_on=[*net.subnets.values(), *net.interfaces],
            ),
            inside,
        )
        network_of = {s.name: s.network for s in spec.servers}
        balancers, vpns = {}, {}
        for lb in spec.load_balancers:
            balancers[lb.name] = LoadBalancer(
                f"{name}-lb-{lb.name}",
                LoadBalancerArgs(
                    spec=lb,
                    subnet_id=net.subnets[network_of[lb.members]].id,
                    members=servers.instances[lb.members],
                    external_network=spec.external_network,
                    tags=spec.tags,
                ),
                inside,
            )
        subnet_ids = [s.id for s in net.subnets.values()]
        for vpn in spec.vpns:
            vpns[vpn.name] = SiteVpn(
                f"{name}-vpn-{vpn.name}",
                VpnArgs(vpn, net.router.id, subnet_ids, args.psks[vpn.name], net.interfaces),
                inside,
            )
        return openstack_outputs(self.project, net, servers, balancers, vpns, spec)


def _login(args: OpenStackTenancyArgs) -> dict[str, Any]:
    """The scoped provider's login: the user by hand (a `cloud` would override the project).

    Without a login (offline plans), the clouds.yaml entry's name stands in for it."""
    if not args.login:
        return {"cloud": args.cloud}
    # An empty `cloud`, not a missing one: the SDK would fill a missing one from $OS_CLOUD.
    login: dict[str, Any] = {"cloud": "", **args.login}
    if "password" in login:
        login["password"] = pulumi.Output.secret(login["password"])
    if "insecure" in login:
        login["insecure"] = login["insecure"] == "true"
    return login
