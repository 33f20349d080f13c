"""The tenancy request: what a department asks for, as validated pydantic types."""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    model_validator,
)

from dcops.core.site import NAME_PATTERN, NAME_RULE, Cidr, Email, Flavor

PLATFORM_STACK = "platform"  # the stack every tenancy shares; no tenancy may take its name


def audit_object(stack: str) -> str:
    """The one object id the audit journal uses for a stack: tenancy/NAME, or stack/platform."""
    return f"stack/{stack}" if stack == PLATFORM_STACK else f"tenancy/{stack}"


PART_RULE = "lowercase a-z, 0-9 and '-', starting with a letter, at most 32 characters"
SECRET_RULE = f"the NAME of a secret ({NAME_RULE}), never the key itself"
_PART = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)([A-Za-z]*)$")
_MEMORY_UNITS = {
    "": Decimal(1),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
}
GIB = Decimal(2) ** 30
Environment = Literal["production", "staging", "development"]
Classification = Literal["level-1", "level-2", "level-3", "level-4"]


def _part(value: str) -> str:
    if not _PART.match(value):
        raise ValueError(f"{value!r} is not a valid name; allowed: {PART_RULE}")
    return value


def _secret_name(value: str) -> str:
    if not NAME_PATTERN.match(value):
        raise ValueError(f"{value!r} is not allowed; psk_secret is {SECRET_RULE}")
    return value


def _address(value: str) -> str:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        raise ValueError(
            f"{value!r} is not an IP address; allowed: an address such as 203.0.113.10"
        ) from None
    return value


MIN_MEMORY = Decimal(2) ** 20  # 1Mi: anything smaller is a typo, not a quota
MIN_CPU = Decimal("0.001")  # 1m, the smallest CPU quantity Kubernetes accepts


def _memory(value: str | int) -> str | int:
    memory_bytes(value)
    return value


def _cpu(value: str | int | float) -> str | int | float:
    cpu_cores(value)
    return value


def _not_bool(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a quantity; allowed: a number, such as 16 or 64Gi")
    return value


def _calendar_date(value: object) -> object:
    """Only a date or YYYY-MM-DD text; a bare number is not a date."""
    if isinstance(value, datetime.datetime):
        raise ValueError(f"{value.isoformat()} has a time; allowed: a date, YYYY-MM-DD")
    if isinstance(value, datetime.date):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; allowed: YYYY-MM-DD, such as 2027-12-31")


def memory_bytes(value: str | int) -> Decimal:
    """A Kubernetes memory quantity (64Gi, 512Mi, 1G) in bytes."""
    match = _QUANTITY.match(str(value))
    if not match or match.group(2) not in _MEMORY_UNITS:
        units = ", ".join(u for u in _MEMORY_UNITS if u)
        raise ValueError(
            f"{value!r} is not a memory quantity; allowed: a number with a unit ({units}), such as 64Gi"
        )
    amount = Decimal(match.group(1)) * _MEMORY_UNITS[match.group(2)]
    if amount < MIN_MEMORY:
        raise ValueError(f"{value!r} is less than 1Mi; allowed: at least 1Mi, such as 64Gi")
    return amount


def cpu_cores(value: str | int | float) -> Decimal:
    """A Kubernetes CPU quantity (16, 0.5, 500m) in cores."""
    text = str(value)
    try:
        cores = Decimal(text[:-1]) / 1000 if text.endswith("m") else Decimal(text)
    except InvalidOperation:
        cores = Decimal(-1)
    if isinstance(value, bool) or not cores.is_finite() or cores < MIN_CPU:
        raise ValueError(
            f"{value!r} is not a CPU quantity; allowed: cores (16, 0.5) or millicores (500m), "
            "at least 1m"
        )
    return cores


PartName = Annotated[str, AfterValidator(_part)]
Address = Annotated[str, AfterValidator(_address)]
SecretName = Annotated[str, AfterValidator(_secret_name)]
MemoryQuantity = Annotated[str | int, BeforeValidator(_not_bool), AfterValidator(_memory)]
CpuQuantity = Annotated[str | int | float, BeforeValidator(_not_bool), AfterValidator(_cpu)]
Port = Annotated[StrictInt, Field(ge=1, le=65535)]
Count = Annotated[StrictInt, Field(gt=0)]
CalendarDate = Annotated[datetime.date, BeforeValidator(_calendar_date)]
# Lengths of free text: enough for what people write, never a file's worth.
Line = Annotated[str, Field(min_length=1, max_length=200)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class Part(BaseModel):
    """Base of request types: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class DepartmentRef(Part):
    """The department (委办局) asking: its code in dcops.toml and its name."""

    code: str = Field(
        max_length=32, description="department code as listed in dcops.toml, e.g. fgw"
    )
    name: Line = Field(description="the department's name, e.g. 市发展和改革委员会")


class Contact(Part):
    """Someone at the department to ask about the tenancy."""

    name: Line
    email: Email
    phone: str | None = Field(default=None, max_length=40)


class Compute(Part):
    """A group of identical servers."""

    name: PartName = Field(description="service name, also used by ingress and load balancers")
    flavor: str = Field(max_length=64, description="a flavor from the site catalogue, e.g. c2.m4")
    image: str = Field(
        max_length=64, description="an image from the site catalogue, e.g. kylin-v10-sp3"
    )
    count: Count = Field(default=1, le=1000)
    volume_gb: StrictInt = Field(
        default=0, ge=0, le=16384, description="data volume per server, GB"
    )
    network: PartName | None = Field(
        default=None, description="network the servers attach to; default the first network"
    )
    keypair: str | None = Field(
        default=None, max_length=64, description="name of an SSH keypair to inject"
    )
    user_data: str | None = Field(
        default=None, max_length=65535, description="cloud-init user data (at most 64 KiB)"
    )


class NetworkRequest(Part):
    """A private network; its address block is allocated from the site's pools on approval."""

    name: PartName
    size: StrictInt = Field(
        ge=16, le=28, description="prefix length of the subnet, e.g. 24 for a /24"
    )


class Ingress(Part):
    """One allowed inbound flow to a service; everything else is denied."""

    to: PartName = Field(description="the compute service that receives the traffic")
    port: Port
    source: str = Field(alias="from", max_length=64, description="a compute service name or a CIDR")
    description: Line
    protocol: Literal["tcp", "udp"] = "tcp"


class HealthCheck(Part):
    """How a load balancer decides a member is healthy."""

    type: Literal["TCP", "HTTP", "HTTPS", "PING", "UDP-CONNECT"] = "TCP"
    interval: StrictInt = Field(default=5, ge=1, le=300, description="seconds between checks")
    timeout: StrictInt = Field(default=3, ge=1, le=300, description="seconds to wait for a reply")
    retries: StrictInt = Field(default=3, ge=1, le=10)
    url_path: str | None = Field(
        default=None, max_length=200, description="for HTTP(S) checks, e.g. /healthz"
    )


class LoadBalancer(Part):
    """A load balancer in front of one compute service."""

    name: PartName
    port: Port
    protocol: Literal["TCP", "UDP", "HTTP", "HTTPS"] = "TCP"
    members: PartName = Field(description="the compute service whose servers are the members")
    health: HealthCheck = HealthCheck()
    floating_ip: bool = Field(
        default=False, strict=True, description="give it an address on the external net"
    )


class VpnPeer(Part):
    """A site-to-site VPN to the department's own site."""

    name: PartName
    peer_address: Address = Field(description="public address of the department's VPN gateway")
    peer_cidrs: list[Cidr] = Field(
        min_length=1, max_length=32, description="networks behind the peer"
    )
    psk_secret: SecretName = Field(description=SECRET_RULE)


class KubernetesQuota(Part):
    """What the namespace may use in total."""

    cpu: CpuQuantity
    memory: MemoryQuantity
    pods: Count


class Kubernetes(Part):
    """A Kubernetes namespace with a quota."""

    namespace: PartName
    quota: KubernetesQuota
    group: str | None = Field(
        default=None,
        max_length=64,
        description="directory group bound to the namespace; default dept-<code>",
    )


@dataclass(frozen=True)
class Totals:
    """What a request adds up to, in the units of the tier caps."""

    vcpus: int
    ram_gb: int
    volume_gb: int
    instances: int
    networks: int
    load_balancers: int
    vpn_peers: int
    k8s_cpu: Decimal
    k8s_memory_gb: Decimal
    k8s_pods: int


class TenancyRequest(Part):
    """A department's request for a cloud tenancy (云资源申请)."""

    name: str = Field(
        default="",
        max_length=64,
        description="tenancy name; default <department code>-<environment>",
    )
    department: DepartmentRef
    contacts: list[Contact] = Field(min_length=1, max_length=20)
    purpose: Text = Field(description="what the tenancy is for (at most 2000 characters)")
    environment: Environment
    classification: Classification = Field(description="等保 level of the system it hosts")
    expires: CalendarDate = Field(description="when the tenancy ends, YYYY-MM-DD")
    compute: list[Compute] = Field(default=[], max_length=100)
    networks: list[NetworkRequest] = Field(default=[], max_length=32)
    ingress: list[Ingress] = Field(default=[], max_length=500)
    load_balancers: list[LoadBalancer] = Field(default=[], max_length=32)
    vpn: list[VpnPeer] = Field(default=[], max_length=16)
    kubernetes: Kubernetes | None = None

    @model_validator(mode="after")
    def _default_name(self) -> TenancyRequest:
        if not self.name:
            self.name = f"{self.department.code}-{self.environment}"
        return self

    def totals(self, flavors: Mapping[str, Flavor]) -> Totals:
        """Sum the request up; compute whose flavor is unknown counts as zero vCPUs and RAM."""
        vcpus = ram = 0
        for group in self.compute:
            flavor = flavors.get(group.flavor)
            if flavor is not None:
                vcpus += flavor.vcpus * group.count
                ram += flavor.ram_gb * group.count
        k8s = self.kubernetes
        return Totals(
            vcpus=vcpus,
            ram_gb=ram,
            volume_gb=sum(g.volume_gb * g.count for g in self.compute),
            instances=sum(g.count for g in self.compute),
            networks=len(self.networks),
            load_balancers=len(self.load_balancers),
            vpn_peers=len(self.vpn),
            k8s_cpu=cpu_cores(k8s.quota.cpu) if k8s else Decimal(0),
            k8s_memory_gb=memory_bytes(k8s.quota.memory) / GIB if k8s else Decimal(0),
            k8s_pods=k8s.quota.pods if k8s else 0,
        )
