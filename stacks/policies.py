"""The site's CrossGuard policies, as plain functions that run without starting a policy pack."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as default_field
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from dcops.core.site import Site
from dcops.stacks.spec import ADMIN_PORTS, WORLD

SG_RULE = "openstack:networking/secGroupRule:SecGroupRule"
IKE = "openstack:vpnaas/ikePolicy:IkePolicy"
IPSEC = "openstack:vpnaas/ipSecPolicy:IpSecPolicy"
NAMESPACE = "kubernetes:core/v1:Namespace"
QUOTA = "kubernetes:core/v1:ResourceQuota"
LIMITS = "kubernetes:core/v1:LimitRange"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
PROJECT = "openstack:identity/project:Project"

STRONG_ENCRYPTION = {"aes-256", "aes-256-ctr", "aes-256-gcm-16", "aes-256-ccm-16"}
STRONG_AUTH = {"sha256", "sha384", "sha512"}
STRONG_PFS = {
    "group14",
    "group15",
    "group16",
    "group17",
    "group18",
    "group19",
    "group20",
    "group21",
}

TAGGED = {
    "openstack:identity/project:Project",
    "openstack:networking/network:Network",
    "openstack:networking/subnet:Subnet",
    "openstack:networking/router:Router",
    "openstack:networking/secGroup:SecGroup",
    "openstack:networking/floatingIp:FloatingIp",
    "openstack:compute/instance:Instance",
    "openstack:loadbalancer/loadBalancer:LoadBalancer",
    "openstack:loadbalancer/listener:Listener",
    "openstack:loadbalancer/pool:Pool",
    "openstack:loadbalancer/member:Member",
}
WITH_METADATA = {"openstack:blockstorage/volume:Volume"}
DEPARTMENT_LABEL = "dcops.gov.cn/department"


@dataclass(frozen=True)
class Caps:
    """A tier's caps, as the quota policy needs them."""

    vcpus: int
    ram_gb: int
    volume_gb: int
    instances: int
    networks: int
    load_balancers: int
    vpn_peers: int
    k8s_cpu: int
    k8s_memory_gb: int
    k8s_pods: int


@dataclass(frozen=True)
class PolicyContext:
    """What the policies know: each department's tier caps, and who holds each namespace."""

    caps: Mapping[str, Caps]
    namespaces: Mapping[str, tuple[str, ...]] = default_field(default_factory=dict)

    def department_of(self, urn: str) -> str | None:
        """The department whose code starts the stack name in a URN (stacks are <code>-<env>)."""
        stack = urn.split("::")[0].removeprefix("urn:pulumi:")
        codes = sorted((c for c in self.caps if stack == c or stack.startswith(f"{c}-")), key=len)
        return codes[-1] if codes else None


def _ports(props: Mapping[str, Any]) -> range:
    low, high = props.get("portRangeMin"), props.get("portRangeMax")
    if low is None and high is None:
        return range(1, 65536)
    return range(int(low or high or 0), int(high or low or 0) + 1)


def _from_world(props: Mapping[str, Any]) -> bool:
    prefix = props.get("remoteIpPrefix")
    if props.get("remoteGroupId") or props.get("remoteAddressGroupId"):
        return False
    return not prefix or str(prefix) in WORLD or ipaddress.ip_network(str(prefix)).prefixlen == 0


def no_admin_port_to_world(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Ingress rules must not open administrative ports to 0.0.0.0/0 or ::/0."""
    if args.resource_type != SG_RULE or args.props.get("direction") != "ingress":
        return
    if not _from_world(args.props):
        return
    if str(args.props.get("protocol") or "any") not in ("tcp", "udp", "any", ""):
        return
    exposed = [p for p in ADMIN_PORTS if p in _ports(args.props)]
    if exposed:
        report(
            f"管理端口 {exposed} 向全网开放 / administrative port(s) {exposed} open to the world "
            f"({args.props.get('remoteIpPrefix') or 'any address'}); allow a bastion or ops CIDR instead",
            None,
        )


def rule_has_description(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """Every security-group rule says why it exists."""
    if args.resource_type == SG_RULE and not str(args.props.get("description") or "").strip():
        report("安全组规则缺少说明 / security-group rule without a description", None)


def vpn_crypto_minimum(args: ResourceValidationArgs, report: ReportViolation) -> None:
    """IKE and IPsec policies use AES-256, SHA-256 or stronger and PFS with DH group 14 or above."""
    if args.resource_type not in (IKE, IPSEC):
        return
    props = args.props
    weak = []
    if str(props.get("encryptionAlgorithm") or "aes-128") not in STRONG_ENCRYPTION:
        weak.append(f"encryption {props.get('encryptionAlgorithm') or 'aes-128 (default)'}")
    if str(props.get("authAlgorithm") or "sha1") not in STRONG_AUTH:
        weak.append(f"auth {props.get('authAlgorithm') or 'sha1 (default)'}")
    if str(props.get("pfs") or "group5") not in STRONG_PFS:
        weak.append(f"pfs {props.get('pfs') or 'group5 (default)'}")
    if weak:
        allowed = "AES-256, SHA-256/384/512, PFS DH group 14 or stronger"
        report(f"VPN 加密强度不足 / weak VPN crypto: {', '.join(weak)}; allowed: {allowed}", None)


def named_and_tagged(
    context: PolicyContext,
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Every resource's name starts with the department code, and it carries the department tag."""

    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        code = context.department_of(args.urn)
        if code is None:
            report(f"stack of {args.urn} does not start with a known department code", None)
            return
        if args.resource_type.startswith("pulumi:providers:"):
            return
        for problem in _naming_problems(code, args.resource_type, args.name, args.props):
            report(problem, None)

    return validate


def _naming_problems(code: str, kind: str, name: str, props: Mapping[str, Any]) -> list[str]:
    problems = []
    if not name.startswith(f"{code}-") and name != code:
        problems.append(f"resource name {name!r} does not start with the department code {code!r}")
    cloud_name = props.get("name")
    if kind.startswith("openstack:") and cloud_name and not str(cloud_name).startswith(f"{code}"):
        problems.append(f"OpenStack name {cloud_name!r} does not start with {code!r}")
    tag = f"department:{code}"
    if kind in TAGGED and tag not in (props.get("tags") or []):
        problems.append(f"missing tag {tag!r} (tags: {props.get('tags') or []})")
    if kind in WITH_METADATA and (props.get("metadata") or {}).get("department") != code:
        problems.append(f"missing metadata department={code}")
    if kind.startswith("kubernetes:") and not kind.startswith("pulumi:"):
        labels = (props.get("metadata") or {}).get("labels") or {}
        if labels.get(DEPARTMENT_LABEL) != code:
            problems.append(f"missing label {DEPARTMENT_LABEL}={code}")
    return problems


def namespaces_fenced(args: StackValidationArgs, report: ReportViolation) -> None:
    """Every namespace has a ResourceQuota, a LimitRange and a default-deny NetworkPolicy."""
    namespaces = {
        str((r.props.get("metadata") or {}).get("name")): r.urn
        for r in args.resources
        if r.resource_type == NAMESPACE
    }
    found: dict[str, set[str]] = {ns: set() for ns in namespaces}
    for r in args.resources:
        ns = str((r.props.get("metadata") or {}).get("namespace"))
        if ns not in found:
            continue
        if r.resource_type in (QUOTA, LIMITS):
            found[ns].add(r.resource_type)
        elif r.resource_type == NETPOL and _denies_all(r.props.get("spec") or {}):
            found[ns].add("default-deny")
    for ns, kinds in found.items():
        missing = [
            label
            for label, kind in (
                ("ResourceQuota", QUOTA),
                ("LimitRange", LIMITS),
                ("default-deny NetworkPolicy", "default-deny"),
            )
            if kind not in kinds
        ]
        if missing:
            report(
                f"命名空间缺少防护 / namespace {ns!r} lacks {', '.join(missing)}", namespaces[ns]
            )


def namespace_one_tenancy(
    context: PolicyContext,
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A Kubernetes namespace belongs to one tenancy: no other pending, live or planned one has it."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for r in args.resources:
            if r.resource_type != NAMESPACE:
                continue
            name = str((r.props.get("metadata") or {}).get("name"))
            tenancy = r.urn.split("::")[0].removeprefix("urn:pulumi:")
            others = [t for t in context.namespaces.get(name, ()) if t != tenancy]
            if others:
                report(
                    f"命名空间已被占用 / namespace {name!r} also belongs to tenancy "
                    f"{', '.join(others)}; one namespace, one tenancy",
                    r.urn,
                )

    return validate


def _denies_all(spec: Mapping[str, Any]) -> bool:
    selector = spec.get("podSelector") or {}
    selects_all = not selector.get("matchLabels") and not selector.get("matchExpressions")
    return selects_all and "Ingress" in (spec.get("policyTypes") or []) and not spec.get("ingress")


def quotas_within_tier(
    context: PolicyContext,
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """Project quotas, volumes, VPN peers and namespace quotas stay within the department tier."""

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        if not args.resources:
            return
        code = context.department_of(args.resources[0].urn)
        caps = context.caps.get(code or "")
        if caps is None:
            report(f"no tier caps for the department of {args.resources[0].urn}", None)
            return
        for urn, message in _over_caps(caps, args.resources):
            report(f"超出等级配额 / over the tier cap: {message}", urn)

    return validate


def _over_caps(caps: Caps, resources: list[Any]) -> list[tuple[str | None, str]]:
    found: list[tuple[str | None, str]] = []
    total_volume, peers = 0, 0
    checks = {
        "openstack:compute/quotaSetV2:QuotaSetV2": (
            ("cores", caps.vcpus, 1),
            ("ram", caps.ram_gb * 1024, 1),
            ("instances", caps.instances, 1),
        ),
        "openstack:networking/quotaV2:QuotaV2": (("network", caps.networks, 1),),
        "openstack:loadbalancer/quota:Quota": (("loadbalancer", caps.load_balancers, 1),),
    }
    for r in resources:
        for field, cap, _ in checks.get(r.resource_type, ()):
            value = r.props.get(field)
            if value is not None and value > cap:
                found.append((r.urn, f"{r.name} {field}={value:g} > {cap}"))
        if r.resource_type == "openstack:blockstorage/volume:Volume":
            total_volume += int(r.props.get("size") or 0)
        if r.resource_type == "openstack:vpnaas/siteConnection:SiteConnection":
            peers += 1
        if r.resource_type == QUOTA:
            found.extend((r.urn, m) for m in _k8s_over(caps, r.name, r.props))
    if total_volume > caps.volume_gb:
        found.append((None, f"volumes total {total_volume} GB > {caps.volume_gb} GB"))
    if peers > caps.vpn_peers:
        found.append((None, f"{peers} VPN peers > {caps.vpn_peers}"))
    return found


def _k8s_over(caps: Caps, name: str, props: Mapping[str, Any]) -> list[str]:
    hard = ((props.get("spec") or {}).get("hard")) or {}
    problems = []
    cpu = parse_cpu(str(hard.get("limits.cpu") or hard.get("requests.cpu") or "0"))
    if cpu > caps.k8s_cpu:
        problems.append(f"{name} cpu={cpu:g} > {caps.k8s_cpu}")
    memory = parse_memory_gib(str(hard.get("limits.memory") or hard.get("requests.memory") or "0"))
    if memory > caps.k8s_memory_gb:
        problems.append(f"{name} memory={memory:g}Gi > {caps.k8s_memory_gb}Gi")
    pods = int(str(hard.get("pods") or "0"))
    if pods > caps.k8s_pods:
        problems.append(f"{name} pods={pods} > {caps.k8s_pods}")
    return problems


def parse_cpu(text: str) -> float:
    """Kubernetes CPU quantity in cores ("500m" → 0.5)."""
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


_MEMORY = {
    "Ki": 2**-20,
    "Mi": 2**-10,
    "Gi": 1,
    "Ti": 2**10,
    "K": 1e3 / 2**30,
    "M": 1e6 / 2**30,
    "G": 1e9 / 2**30,
}


def parse_memory_gib(text: str) -> float:
    """Kubernetes memory quantity in GiB ("64Gi" → 64)."""
    for suffix, factor in _MEMORY.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text) / 2**30


def build_policies(context: PolicyContext) -> list[Policy]:
    """Every policy of the pack, mandatory, in the order they are reported."""
    mandatory = EnforcementLevel.MANDATORY
    return [
        ResourceValidationPolicy(
            "no-admin-port-to-world",
            "administrative ports (22, 3389, 3306, 5432, ...) never open to 0.0.0.0/0 or ::/0",
            no_admin_port_to_world,
            mandatory,
        ),
        ResourceValidationPolicy(
            "sg-rule-description",
            "every security-group rule has a description",
            rule_has_description,
            mandatory,
        ),
        ResourceValidationPolicy(
            "vpn-crypto-minimum",
            "IKE/IPsec: AES-256, SHA-256 or stronger, PFS with DH group 14 or stronger",
            vpn_crypto_minimum,
            mandatory,
        ),
        ResourceValidationPolicy(
            "named-and-tagged",
            "every resource is named after and tagged with the department code",
            named_and_tagged(context),
            mandatory,
        ),
        StackValidationPolicy(
            "quotas-within-tier",
            "quotas within the department tier's caps from dcops.toml",
            quotas_within_tier(context),
            mandatory,
        ),
        StackValidationPolicy(
            "namespace-one-tenancy",
            "a Kubernetes namespace belongs to one tenancy only",
            namespace_one_tenancy(context),
            mandatory,
        ),
        StackValidationPolicy(
            "namespace-fenced",
            "every namespace has a ResourceQuota, a LimitRange and a default-deny NetworkPolicy",
            namespaces_fenced,
            mandatory,
        ),
    ]


def context_from_site(
    site: Site, namespaces: Mapping[str, tuple[str, ...]] | None = None
) -> PolicyContext:
    """The policy context of a loaded site: tier caps per department, namespaces' holders."""
    caps = {}
    for department in site.config.departments:
        tier = site.config.tiers.get(department.tier)
        if tier is not None:
            caps[department.code] = Caps(
                vcpus=tier.vcpus,
                ram_gb=tier.ram_gb,
                volume_gb=tier.volume_gb,
                instances=tier.instances,
                networks=tier.networks,
                load_balancers=tier.load_balancers,
                vpn_peers=tier.vpn_peers,
                k8s_cpu=tier.k8s_cpu,
                k8s_memory_gb=tier.k8s_memory_gb,
                k8s_pods=tier.k8s_pods,
            )
    return PolicyContext(caps, dict(namespaces or {}))
