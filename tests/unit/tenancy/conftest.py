"""Fixtures for tenancy tests: the example site, its people as actors, request data."""

from __future__ import annotations

import copy
import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.request import parse_request

SAMPLE = "inventory/requests/fgw-production.yml"


@pytest.fixture
def site(site_dir: Path) -> Site:
    """The example site, loaded from a private copy."""
    return load_site(site_dir)


@pytest.fixture
def person(site: Site) -> Callable[[str], Actor]:
    """The actor of a person listed in the site's dcops.toml."""

    def make(user: str) -> Actor:
        found = site.person(user)
        assert found is not None, user
        return Actor(user=user, name=found.name, host="test", roles=frozenset(found.roles))

    return make


@pytest.fixture
def sample(site: Site) -> dict[str, Any]:
    """The sample request of the stacks issue as data."""
    data: dict[str, Any] = yaml.safe_load((site.paths.root / SAMPLE).read_text(encoding="utf-8"))
    return data


@pytest.fixture
def make_request(site: Site, sample: dict[str, Any]) -> Callable[..., TenancyRequest]:
    """A validated request: the sample with some fields replaced."""

    def make(**changes: Any) -> TenancyRequest:
        data = copy.deepcopy(sample)
        data.update(changes)
        return parse_request(data, site, today=datetime.date(2026, 11, 25))

    return make
