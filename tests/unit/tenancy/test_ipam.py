"""IPAM: blocks are aligned, disjoint, taken lowest first, and exhaustion is reported."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.core.errors import OperationFailed
from dcops.core.site import AddressPool, Site
from dcops.tenancy.ipam import allocate, first_free, free_addresses, tenant_pools

POOL = ipaddress.ip_network("10.20.0.0/16")


def net(text: str) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(text)


def test_first_block_is_the_start_of_the_pool() -> None:
    assert first_free(POOL, 24, []) == net("10.20.0.0/24")


def test_blocks_skip_taken_space_and_stay_aligned() -> None:
    taken = [net("10.20.0.0/26"), net("10.20.0.128/25")]
    assert first_free(POOL, 26, taken) == net("10.20.0.64/26")
    assert first_free(POOL, 24, taken) == net("10.20.1.0/24")
    assert first_free(POOL, 23, taken) == net("10.20.2.0/23")


def test_blocks_outside_the_pool_are_ignored_and_a_full_pool_gives_none() -> None:
    assert first_free(POOL, 24, [net("10.21.0.0/16")]) == net("10.20.0.0/24")
    assert first_free(POOL, 24, [POOL]) is None
    assert first_free(POOL, 15, []) is None


def test_allocate_uses_the_next_pool_and_reports_exhaustion() -> None:
    pools = [
        AddressPool(name="a", cidr="10.20.0.0/24", use="tenant", environment="production"),
        AddressPool(name="b", cidr="10.21.0.0/24", use="tenant", environment="production"),
    ]
    first, second = allocate(pools, [25, 24], [net("10.20.0.0/25")])
    assert (first.pool, str(first.network)) == ("a", "10.20.0.128/25")
    assert (second.pool, str(second.network)) == ("b", "10.21.0.0/24")
    with pytest.raises(OperationFailed, match="no free /24 left in the tenant pools"):
        allocate(pools, [24, 24, 24], [])


def test_free_addresses_counts_what_blocks_hold() -> None:
    assert free_addresses(POOL, [net("10.20.0.0/24"), net("10.20.1.0/25")]) == 65536 - 384


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=17, max_value=28), min_size=1, max_size=30))
def test_allocations_never_overlap_and_are_aligned(prefixes: list[int]) -> None:
    pool = AddressPool(name="p", cidr="10.20.0.0/16", use="tenant", environment="production")
    held: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for prefix in prefixes:
        try:
            [block] = allocate([pool], [prefix], held)
        except OperationFailed:
            candidates = POOL.subnets(new_prefix=prefix)
            assert all(any(c.overlaps(h) for h in held) for c in candidates)
            continue
        assert block.network.prefixlen == prefix
        assert block.network.subnet_of(POOL)  # type: ignore[arg-type]
        assert all(not block.network.overlaps(other) for other in held)
        held.append(block.network)


def test_tenancies_draw_only_from_their_environments_tenant_pools(site: Site) -> None:
    assert [p.name for p in tenant_pools(site, "production")] == ["tenant-production"]
    assert [p.name for p in tenant_pools(site, "staging")] == ["tenant-staging"]
    assert tenant_pools(site, "lab") == []


def test_prefixes_that_do_not_fit_the_pool_get_no_block() -> None:
    assert first_free(POOL, 33, []) is None
    assert first_free(POOL, 32, []) == net("10.20.0.0/32")


def test_a_block_never_takes_an_address_already_held() -> None:
    # a single taken address at the pool's start, at a block's last address, and at its end
    assert first_free(POOL, 24, [net("10.20.0.0/32")]) == net("10.20.1.0/24")
    assert first_free(POOL, 24, [net("10.20.0.255/32")]) == net("10.20.1.0/24")
    assert first_free(POOL, 32, [net("10.20.0.0/24")]) == net("10.20.1.0/32")


def test_a_full_pool_gives_no_address_past_its_end() -> None:
    small = ipaddress.ip_network("10.20.0.0/30")
    assert first_free(small, 32, [small]) is None


def test_ipv6_pools_give_ipv6_blocks() -> None:
    pool = ipaddress.ip_network("fd00:20::/48")
    taken = [ipaddress.ip_network("fd00:20::/64"), net("10.20.0.0/16")]
    assert first_free(pool, 64, taken) == ipaddress.ip_network("fd00:20:0:1::/64")


def test_the_largest_block_is_placed_first_whatever_the_order_asked() -> None:
    pool = AddressPool(name="a", cidr="10.20.0.0/23", use="tenant", environment="production")
    small, large = allocate([pool], [26, 24], [])
    assert (str(small.network), str(large.network)) == ("10.20.1.0/26", "10.20.0.0/24")


def test_exhaustion_names_the_pools_and_what_to_do() -> None:
    pools = [
        AddressPool(name="a", cidr="10.20.0.0/24", use="tenant", environment="production"),
        AddressPool(name="b", cidr="10.21.0.0/24", use="tenant", environment="production"),
    ]
    with pytest.raises(OperationFailed) as caught:
        allocate(pools, [23], [])
    assert "tenant pools (a, b); add a pool to dcops.toml or offboard unused tenancies" in str(
        caught.value
    )
    with pytest.raises(OperationFailed, match=r"tenant pools \(\(none\)\)"):
        allocate([], [24], [])


def test_free_addresses_ignore_blocks_of_other_pools() -> None:
    assert free_addresses(POOL, [net("10.21.0.0/24"), net("10.20.0.0/24")]) == 65536 - 256
