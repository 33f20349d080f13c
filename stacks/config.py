"""Map an approved (or planned) tenancy request, and the site's catalogue, to the stacks' inputs."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import TYPE_CHECKING

from dcops.core.site import Site
from dcops.stacks.allocation import OfflineAllocation
from dcops.stacks.spec import (
    HealthSpec,
    IngressSpec,
    KubernetesSpec,
    LoadBalancerSpec,
    NetworkAllowSpec,
    NetworkSpec,
    QuotaSpec,
    ServerSpec,
    TenancySpec,
    VpnSpec,
)
from dcops.tenancy.model import LoadBalancer as LoadBalancerRequest
from dcops.tenancy.model import TenancyRequest

if TYPE_CHECKING:
    from dcops.stacks.components.platform import PlatformArgs

OPS_KEY = Path("keys") / "ops.pub"
ALLOWS = (
    NetworkAllowSpec(name="same-namespace"),
    NetworkAllowSpec(
        name="dns", direction="Egress", port=53, protocol="UDP", namespace="kube-system"
    ),
)


def tenancy_spec(
    request: TenancyRequest,
    site: Site,
    allocation: OfflineAllocation,
    cidrs: dict[str, str] | None = None,
) -> TenancySpec:
    """The stack inputs of a request; cidrs (network → CIDR) from the store win over allocation."""
    code = request.department.code
    department = site.department(code)
    networks = tuple(
        NetworkSpec(
            n.name,
            (cidrs or {}).get(n.name)
            or allocation.allocate(request.name, request.environment, n.name, n.size),
        )
        for n in request.networks
    )
    default_network = networks[0].name if networks else ""
    servers = tuple(
        ServerSpec(
            name=c.name,
            flavor=c.flavor,
            image=c.image,
            count=c.count,
            volume_gb=c.volume_gb,
            network=c.network or default_network,
            user_data=c.user_data or "",
            keypair=c.keypair,
        )
        for c in request.compute
    )
    return TenancySpec(
        name=request.name,
        department=code,
        environment=request.environment,
        tier=department.tier if department else "",
        external_network=site.config.catalogue.external_network,
        networks=networks,
        servers=servers,
        ingress=tuple(
            _ingress(i.to, i.port, i.source, i.description, i.protocol) for i in request.ingress
        ),
        load_balancers=tuple(_load_balancer(lb) for lb in request.load_balancers),
        vpns=tuple(
            VpnSpec(v.name, v.peer_address, tuple(v.peer_cidrs), v.psk_secret) for v in request.vpn
        ),
        quota=_quota(request, site),
        kubernetes=_kubernetes(request),
        public_key=_ops_key(site),
        allocation="store" if cidrs else allocation.source,
        description=f"{request.department.name} {request.purpose}",
    )


def _ingress(to: str, port: int, source: str, description: str, protocol: str) -> IngressSpec:
    try:
        ipaddress.ip_network(source)
    except ValueError:
        return IngressSpec(to, port, description, from_service=source, protocol=protocol)
    return IngressSpec(to, port, description, cidr=source, protocol=protocol)


def _load_balancer(lb: LoadBalancerRequest) -> LoadBalancerSpec:
    h = lb.health
    return LoadBalancerSpec(
        name=lb.name,
        port=lb.port,
        protocol=lb.protocol,
        members=lb.members,
        health=HealthSpec(h.type, h.interval, h.timeout, h.retries, h.url_path or "/"),
        floating_ip=lb.floating_ip,
    )


def _quota(request: TenancyRequest, site: Site) -> QuotaSpec:
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    totals = request.totals(flavors)
    services = len(request.compute)
    lbs = request.load_balancers
    members = sum(c.count for lb in lbs for c in request.compute if c.name == lb.members)
    return QuotaSpec(
        instances=totals.instances,
        cores=totals.vcpus,
        ram_mb=totals.ram_gb * 1024,
        volume_gb=totals.volume_gb,
        networks=totals.networks,
        subnets=totals.networks,
        ports=totals.instances + 2 * len(lbs) + 2 * totals.networks + 4,
        routers=1,
        security_groups=services + 1,
        # Declared ingress, one egress per group, the 4 of Neutron's default group, and room for
        # the 2 egress rules Neutron gives each new group before the provider deletes them: an
        # update cut short (Keystone down) can leave them, and the next one met OverQuota.
        security_group_rules=len(request.ingress) + 3 * services + 4,
        floating_ips=sum(1 for lb in lbs if lb.floating_ip),
        load_balancers=len(lbs),
        listeners=len(lbs),
        pools=len(lbs),
        members=members,
        health_monitors=len(lbs),
    )


def _kubernetes(request: TenancyRequest) -> KubernetesSpec | None:
    k8s = request.kubernetes
    if k8s is None:
        return None
    return KubernetesSpec(
        namespace=k8s.namespace,
        cpu=str(k8s.quota.cpu),
        memory=str(k8s.quota.memory),
        pods=k8s.quota.pods,
        group=k8s.group or f"dept-{request.department.code}",
        allows=ALLOWS,
    )


def _ops_key(site: Site) -> str:
    path = site.paths.inventory / OPS_KEY
    return path.read_text(encoding="utf-8").strip() if path.is_file() else ""


def platform_args(site: Site) -> PlatformArgs:
    """The platform stack's inputs from the site's catalogue: external network, flavors, images."""
    from dcops.stacks.components.platform import FlavorSpec, PlatformArgs

    catalogue = site.config.catalogue
    return PlatformArgs(
        external_network=catalogue.external_network,
        flavors=tuple(FlavorSpec(f.name, f.vcpus, f.ram_gb, f.disk_gb) for f in catalogue.flavors),
        images=tuple(i.name for i in catalogue.images),
    )
