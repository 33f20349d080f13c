"""Site-level rules of a tenancy request: catalogue, department, tier caps, expiry, references."""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Iterable, Iterator, Sequence
from decimal import Decimal

from dcops.core.documents import Document
from dcops.core.errors import Problem
from dcops.core.site import Network, Site
from dcops.tenancy.model import PLATFORM_STACK, TenancyRequest

TENANCY_RULE = "lowercase a-z, 0-9 and '-', starting with a letter, at most 40 characters"
_TENANCY = re.compile(r"^[a-z][a-z0-9-]{0,39}$")

Loc = tuple[str | int, ...]


def check_request(
    request: TenancyRequest,
    site: Site,
    doc: Document,
    today: datetime.date,
    other_peers: Sequence[tuple[str, str]] = (),
    other_namespaces: Sequence[tuple[str, str]] = (),
) -> list[Problem]:
    """Every rule the site imposes on a request.

    other_peers are (tenancy, cidr) and other_namespaces (tenancy, namespace) held by others.
    """
    problems: list[Problem] = []
    for loc, message in _all_rules(request, site, today, other_peers):
        problems.append(doc.problem(loc, message))
    for loc, message in namespace_taken(request, other_namespaces):
        problems.append(doc.problem(loc, message))
    return problems


def namespace_taken(
    request: TenancyRequest, other_namespaces: Sequence[tuple[str, str]]
) -> list[tuple[Loc, str]]:
    """The request's Kubernetes namespace, if another tenancy already has it (one namespace, one tenancy)."""
    if request.kubernetes is None:
        return []
    wanted = request.kubernetes.namespace
    holders = sorted({t for t, ns in other_namespaces if ns == wanted and t != request.name})
    if not holders:
        return []
    return [
        (
            ("kubernetes", "namespace"),
            f"namespace {wanted!r} belongs to tenancy {', '.join(holders)}; allowed: a namespace "
            "no other tenancy uses, such as "
            f"{request.department.code}-{request.environment}",
        )
    ]


def _all_rules(
    request: TenancyRequest,
    site: Site,
    today: datetime.date,
    other_peers: Sequence[tuple[str, str]],
) -> Iterator[tuple[Loc, str]]:
    yield from _name_rule(request)
    yield from _department_rules(request, site)
    yield from _catalogue_rules(request, site)
    yield from _unique_names(request)
    yield from _reference_rules(request)
    yield from _environment_rule(request, site)
    yield from _cap_rules(request, site)
    yield from _expiry_rules(request, site, today)
    yield from _vpn_rules(request, site, other_peers)


def _name_rule(request: TenancyRequest) -> Iterator[tuple[Loc, str]]:
    if not _TENANCY.match(request.name):
        yield ("name",), f"{request.name!r} is not a valid tenancy name; allowed: {TENANCY_RULE}"
    elif request.name == PLATFORM_STACK:
        yield ("name",), f"{PLATFORM_STACK!r} is the shared platform stack's name; choose another"


def _department_rules(request: TenancyRequest, site: Site) -> Iterator[tuple[Loc, str]]:
    code = request.department.code
    department = site.department(code)
    if department is None:
        known = ", ".join(sorted(d.code for d in site.config.departments))
        yield ("department", "code"), f"unknown department {code!r}; allowed: {known}"
    elif request.department.name != department.name:
        yield (
            ("department", "name"),
            f"{request.department.name!r} is not the name of department {code!r}; "
            f"allowed: {department.name!r} as in dcops.toml",
        )


def _catalogue_rules(request: TenancyRequest, site: Site) -> Iterator[tuple[Loc, str]]:
    flavors = {f.name for f in site.config.catalogue.flavors}
    images = {i.name: i for i in site.config.catalogue.images}
    for i, group in enumerate(request.compute):
        if group.flavor not in flavors:
            yield (
                ("compute", i, "flavor"),
                f"unknown flavor {group.flavor!r}; allowed: {', '.join(sorted(flavors))}",
            )
        image = images.get(group.image)
        if image is None:
            yield (
                ("compute", i, "image"),
                f"unknown image {group.image!r}; allowed: {', '.join(sorted(images))}",
            )
        elif 0 < group.volume_gb < image.min_disk_gb:
            yield (
                ("compute", i, "volume_gb"),
                f"{group.volume_gb} GB is below image {image.name}'s minimum disk; "
                f"allowed: 0 (no volume) or at least {image.min_disk_gb}",
            )


def _unique_names(request: TenancyRequest) -> Iterator[tuple[Loc, str]]:
    groups: list[tuple[str, Sequence[str]]] = [
        ("compute", [c.name for c in request.compute]),
        ("networks", [n.name for n in request.networks]),
        ("load_balancers", [b.name for b in request.load_balancers]),
        ("vpn", [v.name for v in request.vpn]),
    ]
    for section, names in groups:
        seen: dict[str, int] = {}
        for i, name in enumerate(names):
            if name in seen:
                yield (
                    (section, i, "name"),
                    f"duplicate name {name!r} (first at {section}[{seen[name]}]); names must be unique",
                )
            seen.setdefault(name, i)


def _reference_rules(request: TenancyRequest) -> Iterator[tuple[Loc, str]]:
    services = list(dict.fromkeys(c.name for c in request.compute))
    allowed = ", ".join(services) or "(no compute defined)"
    networks = [n.name for n in request.networks]
    for i, group in enumerate(request.compute):
        if group.network is not None and group.network not in networks:
            yield (
                ("compute", i, "network"),
                f"unknown network {group.network!r}; allowed: {', '.join(networks) or '(no networks defined)'}",
            )
    if request.compute and not request.networks:
        yield (
            ("networks",),
            "compute needs at least one network; add one such as {name: app, size: 24}",
        )
    for i, rule in enumerate(request.ingress):
        if rule.to not in services:
            yield ("ingress", i, "to"), f"unknown service {rule.to!r}; allowed: {allowed}"
        if rule.source not in services and not _is_cidr(rule.source):
            yield (
                ("ingress", i, "from"),
                f"{rule.source!r} is neither a service nor a CIDR; allowed: {allowed}, "
                "or a network such as 10.10.0.0/16",
            )
    for i, balancer in enumerate(request.load_balancers):
        if balancer.members not in services:
            yield (
                ("load_balancers", i, "members"),
                f"unknown service {balancer.members!r}; allowed: {allowed}",
            )


def _is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        return False
    return True


def _environment_rule(request: TenancyRequest, site: Site) -> Iterator[tuple[Loc, str]]:
    if not request.networks:
        return
    envs = {p.environment for p in site.config.pools if p.use == "tenant" and p.environment}
    if request.environment not in envs:
        yield (
            ("environment",),
            f"the site has no tenant address pool for {request.environment!r}; "
            f"allowed: {', '.join(sorted(envs)) or '(no tenant pools in dcops.toml)'}",
        )


def _cap_rules(request: TenancyRequest, site: Site) -> Iterator[tuple[Loc, str]]:
    department = site.department(request.department.code)
    tier = site.tier_of(request.department.code)
    if department is None or tier is None:
        return
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    totals = request.totals(flavors)
    where = f"tier {department.tier!r} of {department.code}"
    caps: list[tuple[Loc, str, Decimal | int, int, str]] = [
        (("compute",), "vCPUs", totals.vcpus, tier.vcpus, ""),
        (("compute",), "RAM", totals.ram_gb, tier.ram_gb, " GB"),
        (("compute",), "volume", totals.volume_gb, tier.volume_gb, " GB"),
        (("compute",), "instances", totals.instances, tier.instances, ""),
        (("networks",), "networks", totals.networks, tier.networks, ""),
        (("load_balancers",), "load balancers", totals.load_balancers, tier.load_balancers, ""),
        (("vpn",), "VPN peers", totals.vpn_peers, tier.vpn_peers, ""),
        (("kubernetes", "quota", "cpu"), "Kubernetes CPU", totals.k8s_cpu, tier.k8s_cpu, ""),
        (
            ("kubernetes", "quota", "memory"),
            "Kubernetes memory",
            totals.k8s_memory_gb,
            tier.k8s_memory_gb,
            " GiB",
        ),
        (("kubernetes", "quota", "pods"), "Kubernetes pods", totals.k8s_pods, tier.k8s_pods, ""),
    ]
    for loc, what, total, cap, unit in caps:
        if total > cap:
            yield (
                loc,
                f"{what} total {_num(total)}{unit} exceeds the cap of {where}; allowed: at most {cap}{unit}",
            )


def _num(value: Decimal | int) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


def _expiry_rules(
    request: TenancyRequest, site: Site, today: datetime.date
) -> Iterator[tuple[Loc, str]]:
    if request.expires <= today:
        yield ("expires",), f"{request.expires} is not in the future; allowed: after {today}"
        return
    tier = site.tier_of(request.department.code)
    if tier is None:
        return
    latest = today + datetime.timedelta(days=tier.max_period_days)
    if request.expires > latest:
        yield (
            ("expires",),
            f"{request.expires} is more than {tier.max_period_days} days away (the tier's maximum period); "
            f"allowed: up to {latest}",
        )


def _vpn_rules(
    request: TenancyRequest, site: Site, other_peers: Sequence[tuple[str, str]]
) -> Iterator[tuple[Loc, str]]:
    for i, peer in enumerate(request.vpn):
        refused = _unroutable(ipaddress.ip_address(peer.peer_address))
        if refused:
            yield (
                ("vpn", i, "peer_address"),
                f"{peer.peer_address} is {refused}; allowed: the public (or extranet) address of "
                "the department's VPN gateway",
            )
    yield from peer_overlaps(request, site, other_peers)


def peer_overlaps(
    request: TenancyRequest, site: Site | None, other_peers: Sequence[tuple[str, str]]
) -> Iterator[tuple[Loc, str]]:
    """Peer networks that are too wide, special, or overlap the site's pools or others' peers.

    IPv4-mapped IPv6 networks (::ffff:10.20.0.0/120) are compared as the IPv4 networks they are.
    """
    pools = [(f"site pool {p.name}", p.network) for p in site.config.pools] if site else []
    others = [(f"tenancy {t}'s VPN peer", peer_network(c)) for t, c in other_peers]
    mine: list[tuple[str, Network]] = []
    for i, peer in enumerate(request.vpn):
        for j, cidr in enumerate(peer.peer_cidrs):
            network = peer_network(cidr)
            loc: Loc = ("vpn", i, "peer_cidrs", j)
            shown = cidr if str(network) == cidr else f"{cidr} ({network})"
            refused = _too_wide(network) or _unroutable(network.network_address)
            if refused:
                yield loc, f"{shown} is {refused}; allowed: the department's own networks"
                continue
            clash = _first_overlap(network, pools)
            clash = clash or _first_overlap(network, others)
            clash = clash or _first_overlap(network, [(f"vpn peer {n}", net) for n, net in mine])
            if clash:
                yield (
                    loc,
                    f"{shown} overlaps {clash}; allowed: networks outside the site's pools and "
                    "other tenancies' peers",
                )
            mine.append((peer.name, network))


_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def peer_network(cidr: str) -> Network:
    """A network as compared: an IPv4-mapped IPv6 network becomes the IPv4 network it maps."""
    network = ipaddress.ip_network(cidr, strict=False)
    if isinstance(network, ipaddress.IPv6Network) and network.overlaps(_MAPPED):
        if network.prefixlen < _MAPPED.prefixlen:
            return ipaddress.IPv4Network("0.0.0.0/0")
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None
        return ipaddress.IPv4Network((mapped, network.prefixlen - _MAPPED.prefixlen))
    return network


def _too_wide(network: Network) -> str | None:
    if network.prefixlen == 0:
        return "every address (a default route)"
    return None


def _unroutable(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for test, what in (
        ("is_unspecified", "the unspecified address"),
        ("is_loopback", "a loopback address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
    ):
        if getattr(address, test):
            return what
    return None


def _first_overlap(network: Network, named: Iterable[tuple[str, Network]]) -> str | None:
    for name, other in named:
        if network.version == other.version and network.overlaps(other):
            return f"{name} ({other})"
    return None
