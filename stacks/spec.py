"""What one tenancy is made of, as plain data: the inputs of the stack's components."""

from __future__ import annotations

from dataclasses import dataclass, field

ADMIN_PORTS = (22, 3389, 3306, 5432, 6379, 9200, 27017, 2379, 6443, 10250)
WORLD = ("0.0.0.0/0", "::/0")


@dataclass(frozen=True)
class NetworkSpec:
    """A tenant network with the subnet allocated to it."""

    name: str
    cidr: str


@dataclass(frozen=True)
class ServerSpec:
    """A group of identical servers (a service): flavor, image, count and data volume."""

    name: str
    flavor: str
    image: str
    count: int
    volume_gb: int = 0
    network: str = ""
    user_data: str = ""
    keypair: str | None = None


@dataclass(frozen=True)
class IngressSpec:
    """Traffic allowed into a service: from a CIDR or from another service, on one port."""

    to: str
    port: int
    description: str
    cidr: str | None = None
    from_service: str | None = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class HealthSpec:
    """How a load balancer checks its members."""

    type: str = "TCP"
    interval: int = 5
    timeout: int = 3
    retries: int = 3
    url_path: str = "/"


@dataclass(frozen=True)
class LoadBalancerSpec:
    """An Octavia load balancer in front of one service."""

    name: str
    port: int
    protocol: str
    members: str
    member_port: int | None = None
    health: HealthSpec = field(default_factory=HealthSpec)
    floating_ip: bool = False


@dataclass(frozen=True)
class CryptoSpec:
    """IKE and IPsec algorithms of a site-to-site VPN."""

    encryption: str = "aes-256"
    auth: str = "sha256"
    pfs: str = "group14"
    ike_version: str = "v2"


@dataclass(frozen=True)
class VpnSpec:
    """A site-to-site VPN to the department's own site; the PSK stays in secret config."""

    name: str
    peer_address: str
    peer_cidrs: tuple[str, ...]
    psk_secret: str
    crypto: CryptoSpec = field(default_factory=CryptoSpec)


@dataclass(frozen=True)
class QuotaSpec:
    """Project quotas derived from what the tenancy asks for."""

    instances: int
    cores: int
    ram_mb: int
    volume_gb: int
    networks: int
    subnets: int
    ports: int
    routers: int
    security_groups: int
    security_group_rules: int
    floating_ips: int
    load_balancers: int
    listeners: int
    pools: int
    members: int
    health_monitors: int


@dataclass(frozen=True)
class NetworkAllowSpec:
    """Traffic let through the namespace's default deny: from/to a CIDR or a namespace."""

    name: str
    direction: str = "Ingress"
    port: int | None = None
    protocol: str = "TCP"
    cidr: str | None = None
    namespace: str | None = None


@dataclass(frozen=True)
class KubernetesSpec:
    """The tenancy's Kubernetes namespace, quota, default limits and access."""

    namespace: str
    cpu: str
    memory: str
    pods: int
    group: str
    allows: tuple[NetworkAllowSpec, ...] = ()
    default_cpu: str = "500m"
    default_memory: str = "512Mi"


@dataclass(frozen=True)
class TenancySpec:
    """Everything one tenancy stack builds, named after department and environment."""

    name: str
    department: str
    environment: str
    tier: str
    external_network: str
    networks: tuple[NetworkSpec, ...]
    servers: tuple[ServerSpec, ...]
    ingress: tuple[IngressSpec, ...]
    load_balancers: tuple[LoadBalancerSpec, ...]
    vpns: tuple[VpnSpec, ...]
    quota: QuotaSpec
    kubernetes: KubernetesSpec | None = None
    public_key: str = ""
    allocation: str = "offline"
    description: str = ""

    @property
    def tags(self) -> list[str]:
        """Tags every taggable resource of the tenancy carries."""
        return [f"department:{self.department}", f"tenancy:{self.name}", "managed-by:dcops"]
