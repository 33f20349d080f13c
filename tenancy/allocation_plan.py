"""Which address blocks approving a request would allocate: worked out by reading the store
only, and used by the approval itself so a preview and the real allocation agree."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from sqlalchemy.orm import Session

from dcops.core.errors import OperationFailed
from dcops.core.site import Site
from dcops.tenancy import ipam
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.records import RequestRecord
from dcops.tenancy.store import active_allocations


@dataclass(frozen=True)
class PlannedBlock:
    """A network of the request and the block it would get, from which pool."""

    network: str
    pool: str
    cidr: str


def blocks_to_allocate(session: Session, site: Site, record: RequestRecord) -> list[PlannedBlock]:
    """A block for each network the tenancy does not hold yet, as an approval now would pick
    them (OperationFailed when the pools have no room); nothing is written."""
    request = TenancyRequest.model_validate(record.spec)
    taken = active_allocations(session)
    held = {a.network for a in taken if a.tenancy == record.name}
    wanted = [n for n in request.networks if n.name not in held]
    pools = ipam.tenant_pools(site, record.environment)
    blocks = ipam.allocate(
        pools, [n.size for n in wanted], [ipaddress.ip_network(a.cidr) for a in taken]
    )
    return [
        PlannedBlock(n.name, b.pool, str(b.network)) for n, b in zip(wanted, blocks, strict=True)
    ]


def address_preview(session: Session, site: Site, record: RequestRecord) -> dict[str, object]:
    """The blocks for a page: the list, or why the pools cannot give them."""
    try:
        planned = blocks_to_allocate(session, site, record)
    except OperationFailed as exc:
        return {"blocks": [], "problem": str(exc)}
    return {"blocks": [vars(b) for b in planned], "problem": ""}
