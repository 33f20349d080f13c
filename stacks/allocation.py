"""Where a tenancy's subnets come from when planning a request file: a deterministic offline pick."""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass, field

from dcops.core.errors import InputError
from dcops.core.site import AddressPool, Site

OFFLINE = "offline"
STORE = "store"


@dataclass
class OfflineAllocation:
    """Picks aligned blocks from the environment's tenant pool by a stable hash of the names.

    The same request gets the same blocks on every run and on every machine; blocks taken by
    other requests in the same plan are skipped. This is for planning only: the tenancy store
    allocates the real blocks when a request is approved.
    """

    site: Site
    taken: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = field(default_factory=list)
    source: str = OFFLINE

    def allocate(self, tenancy: str, environment: str, network: str, size: int) -> str:
        """An unused /size block of the tenant pool for this environment."""
        pool = self._pool(environment)
        if size < pool.prefixlen:
            raise InputError(
                f"network {network!r} of {tenancy}: /{size} is larger than pool {pool}; "
                f"allowed: /{pool.prefixlen} to /28"
            )
        blocks = 2 ** (size - pool.prefixlen)
        start = (
            int.from_bytes(hashlib.sha256(f"{tenancy}/{network}".encode()).digest()[:8]) % blocks
        )
        for step in range(blocks):
            candidate = _nth(pool, size, (start + step) % blocks)
            if not any(candidate.overlaps(t) for t in self.taken):
                self.taken.append(candidate)
                return str(candidate)
        raise InputError(f"tenant pool {pool} has no free /{size} left for {tenancy}/{network}")

    def _pool(self, environment: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
        pools = _tenant_pools(self.site.config.pools, environment)
        if not pools:
            raise InputError(
                f"no tenant address pool for environment {environment!r} in dcops.toml; "
                'add a [[pools]] entry with use = "tenant" and that environment'
            )
        return pools[0]


def _tenant_pools(
    pools: Iterable[AddressPool], environment: str
) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [
        pool.network
        for pool in pools
        if pool.use == "tenant" and pool.environment in (environment, None)
    ]


def _nth(
    pool: ipaddress.IPv4Network | ipaddress.IPv6Network, size: int, index: int
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    width = 2 ** (pool.max_prefixlen - size)
    return ipaddress.ip_network((int(pool.network_address) + index * width, size))


def public_pool(site: Site) -> str:
    """The external network's address pool (floating IPs, router gateways)."""
    for pool in site.config.pools:
        if pool.use == "public":
            return pool.cidr
    return "198.51.100.0/24"
