"""Fixtures for audit tests: a site, an actor and the site's journal."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.audit.journal import Journal
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site


@pytest.fixture
def site(site_dir: Path) -> Site:
    """The example site, loaded from a private copy."""
    return load_site(site_dir)


@pytest.fixture
def actor() -> Actor:
    """An ops engineer."""
    return Actor(user="liuyang", name="刘洋", host="bastion1", roles=frozenset({"ops", "approver"}))


@pytest.fixture
def journal(site: Site) -> Journal:
    """The site's journal (empty until something is recorded)."""
    return Journal.of(site)
