"""Address allocation: aligned blocks from the site's tenant pools, never overlapping."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from dcops.core.errors import OperationFailed
from dcops.core.site import AddressPool, Network, Site


@dataclass(frozen=True)
class Block:
    """An allocated block: which pool it came from and its network."""

    pool: str
    network: Network


def tenant_pools(site: Site, environment: str) -> list[AddressPool]:
    """The pools that tenancies of an environment are allocated from, in dcops.toml order."""
    return [p for p in site.config.pools if p.use == "tenant" and p.environment == environment]


def first_free(pool: Network, prefix: int, taken: Iterable[Network]) -> Network | None:
    """The lowest block of the prefix length in pool, aligned to its size, overlapping nothing taken."""
    if prefix < pool.prefixlen or prefix > pool.max_prefixlen:
        return None
    step = 1 << (pool.max_prefixlen - prefix)
    start, last = int(pool.network_address), int(pool.broadcast_address)
    candidate = start
    inside = sorted(
        (t for t in taken if t.version == pool.version and t.overlaps(pool)),
        key=lambda n: int(n.network_address),
    )
    for block in inside:
        low, high = int(block.network_address), int(block.broadcast_address)
        if high < candidate:
            continue
        if candidate + step - 1 < low:
            break
        candidate = -(-(high + 1) // step) * step  # round up to the next aligned start
    if candidate + step - 1 > last:
        return None
    if pool.version == 4:
        return ipaddress.IPv4Network((candidate, prefix))
    return ipaddress.IPv6Network((candidate, prefix))


def allocate(
    pools: Sequence[AddressPool], prefixes: Sequence[int], taken: Iterable[Network]
) -> list[Block]:
    """One block per prefix length, largest first so small blocks do not fragment the pools."""
    held = list(taken)
    chosen: dict[int, Block] = {}
    for index in sorted(range(len(prefixes)), key=lambda i: prefixes[i]):
        block = _from_any(pools, prefixes[index], held)
        if block is None:
            names = ", ".join(p.name for p in pools) or "(none)"
            raise OperationFailed(
                f"no free /{prefixes[index]} left in the tenant pools ({names}); "
                "add a pool to dcops.toml or offboard unused tenancies"
            )
        held.append(block.network)
        chosen[index] = block
    return [chosen[i] for i in range(len(prefixes))]


def _from_any(pools: Sequence[AddressPool], prefix: int, taken: list[Network]) -> Block | None:
    for pool in pools:
        network = first_free(pool.network, prefix, taken)
        if network is not None:
            return Block(pool.name, network)
    return None


def free_addresses(pool: Network, taken: Iterable[Network]) -> int:
    """How many addresses of the pool no block holds."""
    used = 0
    for block in taken:
        if block.version == pool.version and block.overlaps(pool):
            used += block.num_addresses
    return pool.num_addresses - used
