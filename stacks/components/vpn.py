"""Site-to-site VPNaaS to a department's own site, with strong IKE and IPsec policies."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_openstack as openstack

from dcops.stacks.components import Component
from dcops.stacks.spec import VpnSpec

LIFETIME_IKE_S = 28800
LIFETIME_IPSEC_S = 3600


@dataclass(frozen=True)
class VpnArgs:
    """Inputs of SiteVpn; psk is a secret Output read from stack config."""

    spec: VpnSpec
    router_id: pulumi.Input[str]
    local_subnet_ids: Sequence[pulumi.Input[str]]
    psk: pulumi.Input[str]
    router_interfaces: Sequence[pulumi.Resource] = ()


class SiteVpn(Component):
    """IKE policy, IPsec policy, VPN service, endpoint groups and the site connection."""

    service: openstack.vpnaas.Service
    """The VPN service on the tenancy's router: its external address is the local endpoint."""

    def __init__(
        self, name: str, args: VpnArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("dcops:openstack:Vpn", name, opts)
        crypto = args.spec.crypto
        ike = openstack.vpnaas.IkePolicy(
            f"{name}-ike",
            name=f"{name}-ike",
            encryption_algorithm=crypto.encryption,
            auth_algorithm=crypto.auth,
            pfs=crypto.pfs,
            ike_version=crypto.ike_version,
            lifetimes=[
                openstack.vpnaas.IkePolicyLifetimeArgs(units="seconds", value=LIFETIME_IKE_S)
            ],
            opts=self.child_opts,
        )
        ipsec = openstack.vpnaas.IpSecPolicy(
            f"{name}-ipsec",
            name=f"{name}-ipsec",
            encryption_algorithm=crypto.encryption,
            auth_algorithm=crypto.auth,
            pfs=crypto.pfs,
            transform_protocol="esp",
            encapsulation_mode="tunnel",
            lifetimes=[
                openstack.vpnaas.IpSecPolicyLifetimeArgs(units="seconds", value=LIFETIME_IPSEC_S)
            ],
            opts=self.child_opts,
        )
        service = self.service = openstack.vpnaas.Service(
            f"{name}-service",
            name=f"{name}-service",
            router_id=args.router_id,
            opts=self.child_opts,
        )
        local = openstack.vpnaas.EndpointGroup(
            f"{name}-local",
            name=f"{name}-local",
            type="subnet",
            endpoints=list(args.local_subnet_ids),
            opts=self.child_opts,
        )
        peer = openstack.vpnaas.EndpointGroup(
            f"{name}-peer",
            name=f"{name}-peer",
            type="cidr",
            endpoints=list(args.spec.peer_cidrs),
            opts=self.child_opts,
        )
        openstack.vpnaas.SiteConnection(
            f"{name}-connection",
            name=f"{name}-connection",
            ikepolicy_id=ike.id,
            ipsecpolicy_id=ipsec.id,
            vpnservice_id=service.id,
            local_ep_group_id=local.id,
            peer_ep_group_id=peer.id,
            peer_address=args.spec.peer_address,
            peer_id=args.spec.peer_address,
            psk=args.psk,
            initiator="bi-directional",
            # Neutron refuses a connection whose local subnets are not yet on the router.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.router_interfaces)),
        )
        self.register_outputs({})
