"""IPAM: blocks are aligned, disjoint, taken lowest first, and exhaustion is reported."""

from __future__ import annotations

import ipaddress

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dcops.core.errors import OperationFailed
from dcops.core.site import AddressPool
from dcops.tenancy.ipam import allocate, first_free, free_addresses

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
