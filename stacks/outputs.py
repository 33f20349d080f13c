"""A tenancy stack's outputs: what ops need once it is up (project, CIDRs, addresses, endpoints)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pulumi_openstack as openstack

    from dcops.stacks.components.compute import Servers
    from dcops.stacks.components.loadbalancer import LoadBalancer
    from dcops.stacks.components.network import TenantNetwork
    from dcops.stacks.components.vpn import SiteVpn
    from dcops.stacks.spec import TenancySpec

SECRET = "[secret]"
# How the top-level outputs are shown (the engine returns them sorted by name).
ORDER = ("project_id", "networks", "servers", "load_balancers", "vpns", "kubernetes")


def openstack_outputs(
    project: openstack.identity.Project,
    net: TenantNetwork,
    servers: Servers,
    balancers: Mapping[str, LoadBalancer],
    vpns: Mapping[str, SiteVpn],
    spec: TenancySpec,
) -> dict[str, Any]:
    """The OpenStack part's outputs, each a Pulumi input resolved by the engine."""
    outputs: dict[str, Any] = {
        "project_id": project.id,
        "networks": {
            name: {"cidr": subnet.cidr, "id": net.networks[name].id}
            for name, subnet in net.subnets.items()
        },
        # By the name within the tenancy (web-1): the cloud's is <tenancy>-vm-web-1.
        "servers": {
            name.removeprefix(f"{spec.name}-vm-"): _server(
                server.access_ip_v4, servers.volumes.get(name)
            )
            for name, server in servers.named.items()
        },
    }
    if balancers:
        outputs["load_balancers"] = {
            name: _balancer(lb.balancer.vip_address, lb.floating_ip)
            for name, lb in balancers.items()
        }
    peers = {vpn.name: vpn for vpn in spec.vpns}
    if vpns:
        outputs["vpns"] = {
            name: {
                "local_endpoint": vpn.service.external_v4_ip,
                "peer": peers[name].peer_address,
                "peer_cidrs": list(peers[name].peer_cidrs),
            }
            for name, vpn in vpns.items()
        }
    return outputs


def _rank(item: tuple[str, Any]) -> tuple[int, str]:
    return (ORDER.index(item[0]) if item[0] in ORDER else len(ORDER), item[0])


def _name(item: tuple[str, Any]) -> str:
    return item[0]


def _server(address: Any, volume: Any) -> dict[str, Any]:
    found = {"address": address}
    if volume is not None:
        found |= {"volume_id": volume.id, "volume_gb": volume.size}
    return found


def _balancer(vip: Any, floating_ip: Any) -> dict[str, Any]:
    found = {"vip": vip}
    if floating_ip is not None:
        found["floating_ip"] = floating_ip.address
    return found


def flat(outputs: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested outputs as (dotted key, text) pairs, the project first; lists comma-joined."""
    pairs: list[tuple[str, str]] = []
    for key, value in sorted(outputs.items(), key=_rank if not prefix else _name):
        path = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs += flat(value, f"{path}.")
        elif isinstance(value, list | tuple):
            pairs.append((path, ", ".join(str(v) for v in value)))
        elif isinstance(value, float) and value.is_integer():
            pairs.append((path, str(int(value))))  # the engine's numbers come back as floats
        else:
            pairs.append((path, "-" if value is None or value == "" else str(value)))
    return pairs
