"""Find the tenancy requests a command names: approved ones in the tenancy store, or request files."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from dcops.core.errors import InputError
from dcops.core.site import Site
from dcops.stacks.allocation import OfflineAllocation
from dcops.stacks.spec import TenancySpec
from dcops.tenancy.location import store_in_use

REQUESTS = "requests"


@dataclass(frozen=True)
class Planned:
    """A tenancy spec and where its request came from (a file, or a request in the store)."""

    spec: TenancySpec
    source: str
    request_id: int | None = None
    state: str = ""


def request_files(site: Site) -> list[Path]:
    """The request files of the site, in name order."""
    folder = site.paths.inventory / REQUESTS
    return sorted(folder.glob("*.yml")) + sorted(folder.glob("*.yaml"))


def resolve(site: Site, refs: Sequence[str], every: bool) -> list[Planned]:
    """Specs for the given files, IDs or names (or, with every=True, all approved and all files).

    A name or ID is looked up among the approved requests of the tenancy store first (their
    subnets come from its IPAM); a name with no approved request falls back to the request
    file of that name in inventory/requests/ (subnets from the offline allocation).
    """
    if not refs and not every:
        raise InputError(
            "name at least one request (a file, an ID or a tenancy name), or give --all"
        )
    allocation = OfflineAllocation(site, taken=_allocated(site))
    planned = _every(site, allocation) if every else []
    for ref in refs:
        found = _one(site, ref, allocation)
        if all(p.spec.name != found.spec.name for p in planned):
            planned.append(found)
    return planned


def _every(site: Site, allocation: OfflineAllocation) -> list[Planned]:
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.request import load_request

    planned = [_from_store(site, ref, allocation) for ref in _approved_ids(site)]
    names = {p.spec.name for p in planned}
    for path in request_files(site):
        request = load_request(path, site)
        if request.name not in names:
            spec = tenancy_spec(request, site, allocation)
            planned.append(Planned(spec, site.paths.relative(path)))
    return planned


def _one(site: Site, ref: str, allocation: OfflineAllocation) -> Planned:
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.request import load_request

    given = Path(ref)
    if given.is_file():
        return Planned(
            tenancy_spec(load_request(given, site), site, allocation),
            site.paths.relative(given.resolve()),
        )
    is_id = ref.lstrip("#").isdigit()
    if store_in_use(site) and (is_id or ref in _approved_names(site)):
        return _from_store(site, ref, allocation)
    if is_id:
        raise InputError(f"no approved tenancy request #{ref.lstrip('#')} in the tenancy store")
    path = _path_of(site, ref)
    return Planned(
        tenancy_spec(load_request(path, site), site, allocation), site.paths.relative(path)
    )


def _allocated(site: Site) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Blocks the store's IPAM holds, so offline picks for request files stay clear of them."""
    if not store_in_use(site):
        return []
    from dcops.tenancy.store import active_allocations, open_store

    with open_store(site).reading() as session:
        return [ipaddress.ip_network(a.cidr) for a in active_allocations(session)]


def _approved_ids(site: Site) -> list[str]:
    """The newest approved request of each tenancy in the store, as IDs."""
    return [str(i) for i in _approved(site).values()]


def _approved_names(site: Site) -> set[str]:
    return set(_approved(site))


def _approved(site: Site) -> dict[str, int]:
    if not store_in_use(site):
        return {}
    from sqlalchemy import select

    from dcops.tenancy.records import RequestRecord
    from dcops.tenancy.store import APPROVED_STATES, open_store

    newest: dict[str, int] = {}
    with open_store(site).reading() as session:
        rows = session.execute(
            select(RequestRecord.name, RequestRecord.id)
            .where(RequestRecord.state.in_(APPROVED_STATES))
            .order_by(RequestRecord.id)
        )
        for name, rid in rows:
            newest[name] = rid
    return dict(sorted(newest.items()))


def _from_store(site: Site, ref: str, allocation: OfflineAllocation) -> Planned:
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.store import approved_request

    approved = approved_request(site, ref)
    spec = tenancy_spec(approved.request, site, allocation, cidrs=approved.networks)
    source = f"tenancy store #{approved.request_id} ({approved.state})"
    return Planned(spec, source, approved.request_id, approved.state)


def _path_of(site: Site, ref: str) -> Path:
    given = Path(ref)
    if given.is_file():
        return given.resolve()
    for path in request_files(site):
        if path.stem == ref or _declared_name(path) == ref:
            return path
    known = ", ".join(p.stem for p in request_files(site)) or "none"
    raise InputError(
        f"no request file or tenancy named {ref!r}; give a path to a request file or one of "
        f"the names in inventory/{REQUESTS}/: {known}"
    )


def _declared_name(path: Path) -> str | None:
    from dcops.core.documents import read_yaml

    doc = read_yaml(path, path.name)  # within the limits of every file dcops reads
    data = None if doc.problems else doc.data
    return str(data.get("name")) if isinstance(data, dict) and data.get("name") else None


def stored_request(site: Site, ref: str) -> Planned:
    """The spec of a request in the store in any state: an approved one with the addresses
    IPAM gave it, any other with offline picks clear of the store's allocations."""
    from dcops.stacks.config import tenancy_spec
    from dcops.tenancy.model import TenancyRequest
    from dcops.tenancy.store import APPROVED_STATES, find_request, open_store

    with open_store(site).reading() as session:
        record = find_request(session, ref)
        ident, state, spec = record.id, record.state, dict(record.spec)
    if state in APPROVED_STATES:
        return _from_store(site, str(ident), OfflineAllocation(site))
    allocation = OfflineAllocation(site, taken=_allocated(site))
    request = TenancyRequest.model_validate(spec)
    return Planned(
        tenancy_spec(request, site, allocation), f"tenancy store #{ident} ({state})", ident, state
    )
