"""Shared fixtures for the stacks tests: the example site, the sample request's spec, its evaluation."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.stacks.allocation import OfflineAllocation
from dcops.stacks.config import tenancy_spec
from dcops.stacks.deprecations import quiet_third_party
from dcops.stacks.evaluation import PlannedResource
from dcops.stacks.spec import TenancySpec
from dcops.tenancy.request import load_request
from tests.conftest import REPO

quiet_third_party()

SAMPLE = REPO / "inventory" / "requests" / "fgw-production.yml"


@pytest.fixture(scope="session")
def repo_site() -> Site:
    """The example site of the repository (read only)."""
    return load_site(REPO)


@pytest.fixture(scope="session")
def sample_spec(repo_site: Site) -> TenancySpec:
    """The spec of the sample request in the issue (fgw-production)."""
    return tenancy_spec(load_request(SAMPLE, repo_site), repo_site, OfflineAllocation(repo_site))


@pytest.fixture(scope="session")
def sample_resources(repo_site: Site, sample_spec: TenancySpec) -> list[PlannedResource]:
    """The sample tenancy evaluated once under the mocks."""
    from dcops.stacks.plan import _evaluate_chunk
    from dcops.stacks.policies import context_from_site

    plans = _evaluate_chunk(context_from_site(repo_site), "198.51.100.0/24", [(sample_spec, "s")])
    return plans[0].resources


Find = Callable[[str], list[PlannedResource]]


def of_type(resources: list[PlannedResource], kind: str) -> list[PlannedResource]:
    """The resources of one type token, by name."""
    return sorted((r for r in resources if r.type == kind), key=lambda r: r.name)


def replace(spec: TenancySpec, **changes: object) -> TenancySpec:
    """A copy of a spec with fields replaced."""
    return dataclasses.replace(spec, **changes)  # type: ignore[arg-type]
