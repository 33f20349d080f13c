"""VPN peers and Kubernetes namespaces checked against the site and the other tenancies."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcops.core.errors import InvalidInput
from dcops.core.identity import Actor
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.request import parse_request
from dcops.tenancy.validation import peer_network

MakeRequest = Callable[..., TenancyRequest]
TODAY = datetime.date(2026, 11, 25)


def _vpn(cidrs: list[str], address: str = "203.0.113.10") -> list[dict[str, Any]]:
    return [
        {"name": "hq", "peer_address": address, "peer_cidrs": cidrs, "psk_secret": "fgw-hq-psk"}
    ]


def _problems(site: Site, sample: dict[str, Any], **changes: Any) -> list[str]:
    data = {**sample, **changes}
    with pytest.raises(InvalidInput) as caught:
        parse_request(data, site, today=TODAY, other_peers=[("wjw-staging", "192.168.0.0/16")])
    return [f"{p.field}: {p.message}" for p in caught.value.problems]


@pytest.mark.parametrize(
    ("cidr", "says"),
    [
        ("::/0", "every address"),
        ("0.0.0.0/0", "every address"),
        ("::ffff:0:0/96", "every address"),  # all of IPv4, written as IPv6
        ("::ffff:10.20.1.0/120", "site pool tenant-production"),
        ("::ffff:192.168.1.0/120", "tenancy wjw-staging's VPN peer"),
        ("127.0.0.0/8", "loopback"),
        ("::1/128", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("fe80::/64", "link-local"),
        ("224.0.0.0/4", "multicast"),
        ("ff00::/8", "multicast"),
    ],
)
def test_peer_networks_that_are_everything_special_or_taken_are_refused(
    site: Site, sample: dict[str, Any], cidr: str, says: str
) -> None:
    [problem] = _problems(site, sample, vpn=_vpn([cidr]))
    assert problem.startswith("vpn[0].peer_cidrs[0]: ") and says in problem


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "169.254.1.1",
        "fe80::1",
        "224.0.0.1",
        "::ffff:127.0.0.1",
        "0.0.0.0",
        "::",
    ],
)
def test_peer_addresses_must_be_reachable_gateways(
    site: Site, sample: dict[str, Any], address: str
) -> None:
    [problem] = _problems(site, sample, vpn=_vpn(["172.16.5.0/24"], address))
    assert problem.startswith("vpn[0].peer_address: ")


def test_mapped_and_plain_forms_of_one_network_clash_within_a_request(
    site: Site, sample: dict[str, Any]
) -> None:
    [problem] = _problems(site, sample, vpn=_vpn(["172.16.5.0/24", "::ffff:172.16.5.0/120"]))
    assert "vpn[0].peer_cidrs[1]" in problem and "vpn peer hq (172.16.5.0/24)" in problem


@settings(max_examples=200, deadline=None)
@given(st.ip_addresses(v=4), st.integers(0, 32))
def test_mapped_networks_compare_as_their_ipv4_network(address: Any, prefix: int) -> None:
    plain = ipaddress.IPv4Network((address, prefix), strict=False)
    mapped = ipaddress.IPv6Network((f"::ffff:{plain.network_address}", prefix + 96), strict=False)
    assert peer_network(str(mapped)) == plain
    assert peer_network(str(plain)) == plain


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.sampled_from(["10.20.0.0/16", "10.21.0.0/16", "10.10.0.0/16", "10.30.0.0/20"]),
    st.integers(16, 30),
    st.integers(0, 2**16 - 1),
    st.booleans(),
)
def test_no_form_of_a_pool_address_gets_through(
    site: Site, sample: dict[str, Any], pool: str, prefix: int, offset: int, mapped: bool
) -> None:
    network = ipaddress.IPv4Network(pool)
    inside = network.network_address + (offset % network.num_addresses)
    cidr = ipaddress.IPv4Network((inside, prefix), strict=False)
    text = f"::ffff:{cidr.network_address}/{prefix + 96}" if mapped else str(cidr)
    [problem] = _problems(site, sample, vpn=_vpn([text]))
    assert "overlaps site pool" in problem


def test_dry_run_and_submit_see_other_tenancies_the_same_way(
    site: Site, sample: dict[str, Any], person: Callable[[str], Actor], make_request: MakeRequest
) -> None:
    """A submit refuses what the other tenancies hold; the shared check names them."""
    other = {**sample, "name": "fgw-staging", "environment": "staging"}
    lifecycle.submit(site, parse_request(other, site, today=TODAY), person("wanglei"))
    mine = {**sample, "name": "fgw-two", "vpn": _vpn(["::ffff:192.168.10.0/120"])}
    request = parse_request(mine, site, today=TODAY)
    with pytest.raises(InvalidInput) as caught:
        lifecycle.submit(site, request, person("wanglei"))
    fields = {p.field: p.message for p in caught.value.problems}
    assert "tenancy fgw-staging's VPN peer" in fields["vpn[0].peer_cidrs[0]"]
    assert "namespace 'fgw' belongs to tenancy fgw-staging" in fields["kubernetes.namespace"]


def test_one_namespace_one_tenancy(site: Site, sample: dict[str, Any]) -> None:
    data = {**sample, "name": "fgw-two", "vpn": []}
    with pytest.raises(InvalidInput) as caught:
        parse_request(data, site, today=TODAY, other_namespaces=[("fgw-production", "fgw")])
    [problem] = caught.value.problems
    assert problem.field == "kubernetes.namespace"
    assert "belongs to tenancy fgw-production" in problem.message
    renamed = {**data, "kubernetes": {**sample["kubernetes"], "namespace": "fgw-two"}}
    parse_request(renamed, site, today=TODAY, other_namespaces=[("fgw-production", "fgw")])
