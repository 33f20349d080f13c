"""The addresses a page says an approval would allocate are those the approval then allocates,
working them out writes nothing, and a pool without room is said rather than raised."""

from __future__ import annotations

from collections.abc import Callable

from dcops.core.identity import Actor
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.allocation_plan import address_preview
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.reports import address_report
from dcops.tenancy.store import find_request, open_store

TWO_NETWORKS = {"networks": [{"name": "app", "size": 24}, {"name": "db", "size": 26}]}


def _preview(site: Site, ref: str) -> dict[str, object]:
    with open_store(site).reading() as db:
        return address_preview(db, site, find_request(db, ref))


def _held(site: Site) -> dict[str, object]:
    with open_store(site).reading() as db:
        return address_report(db, site)


def test_the_preview_is_what_the_approval_allocates_and_writes_nothing(
    site: Site, make_request: Callable[..., TenancyRequest], person: Callable[[str], Actor]
) -> None:
    lifecycle.submit(site, make_request(), person("wanglei"))
    lifecycle.approve(site, "fgw-production", person("chenjing"))  # holds 10.20.0.0/24
    lifecycle.submit(
        site,
        make_request(name="fgw-api", vpn=[], kubernetes=None, **TWO_NETWORKS),
        person("wanglei"),
    )
    before = _held(site)
    preview = _preview(site, "fgw-api")
    assert _preview(site, "fgw-api") == preview and _held(site) == before
    assert preview == {"problem": "", "blocks": [
        {"network": "app", "pool": "tenant-production", "cidr": "10.20.1.0/24"},
        {"network": "db", "pool": "tenant-production", "cidr": "10.20.2.0/26"},
    ]}  # fmt: skip
    done = lifecycle.approve(site, "fgw-api", person("chenjing"))
    assert [list(b) for b in done.allocations] == [["app", "10.20.1.0/24"], ["db", "10.20.2.0/26"]]


def test_a_pool_without_room_is_said_plainly(
    site: Site, make_request: Callable[..., TenancyRequest], person: Callable[[str], Actor]
) -> None:
    huge = {"networks": [{"name": "app", "size": 16}, {"name": "db", "size": 16}]}
    lifecycle.submit(site, make_request(**huge), person("wanglei"))
    preview = _preview(site, "fgw-production")
    assert preview["blocks"] == []
    assert "no free /16 left in the tenant pools (tenant-production)" in str(preview["problem"])
