"""Approved requests in the tenancy store are what plan and provision take, with IPAM subnets."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InputError
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.stacks.requests import resolve
from dcops.tenancy import lifecycle
from dcops.tenancy.location import store_in_use
from dcops.tenancy.request import load_request

SAMPLE = "inventory/requests/fgw-production.yml"


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def _actor(site: Site, user: str) -> Actor:
    person = site.person(user)
    assert person is not None
    return Actor(user=user, name=person.name, host="test", roles=frozenset(person.roles))


def test_plain_files_are_planned_without_creating_a_store(site: Site) -> None:
    planned = resolve(site, [], True)
    assert [(p.spec.name, p.spec.allocation, p.request_id) for p in planned] == [
        ("fgw-production", "offline", None),
        ("wjw-staging", "offline", None),
    ]
    assert not store_in_use(site)
    assert not site.paths.state.exists() or not any(site.paths.state.iterdir())


def test_approved_request_wins_over_its_file_and_brings_its_addresses(site: Site) -> None:
    request = load_request(site.paths.root / SAMPLE, site)
    lifecycle.submit(site, request, _actor(site, "wanglei"))
    with pytest.raises(
        InputError, match="request #1 \\(fgw-production\\) is submitted; only an approved request"
    ):
        resolve(site, ["1"], False)
    before = resolve(site, ["fgw-production"], False)[0]
    assert before.request_id is None and before.spec.allocation == "offline"
    lifecycle.approve(site, "1", _actor(site, "liuyang"))
    (by_name,) = resolve(site, ["fgw-production"], False)
    (by_id,) = resolve(site, ["#1"], False)
    assert by_name == by_id
    assert (by_name.request_id, by_name.state, by_name.source) == (
        1,
        "approved",
        "tenancy store #1 (approved)",
    )
    assert by_name.spec.allocation == "store"
    assert by_name.spec.networks[0].cidr == "10.20.0.0/24"
    every = resolve(site, [], True)
    assert [(p.spec.name, p.spec.allocation) for p in every] == [
        ("fgw-production", "store"),
        ("wjw-staging", "offline"),
    ]
    staging = every[1].spec.networks
    assert all(not n.cidr.startswith("10.20.0.") for n in staging)
