"""Offline plans: snapshots and diffs, duplicate URNs, allocation, sharding, Markdown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.core.errors import InputError
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.stacks import snapshot
from dcops.stacks.allocation import OfflineAllocation
from dcops.stacks.markdown import render
from dcops.stacks.plan import plan
from dcops.stacks.spec import ServerSpec, TenancySpec
from tests.unit.stacks.conftest import replace


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def test_second_plan_has_no_changes_and_a_change_names_its_fields(
    site: Site, sample_spec: TenancySpec
) -> None:
    first = plan(site, [(sample_spec, "a.yml")]).tenancies[0]
    assert first.diff.against == "none" and len(first.diff.added) == len(first.resources)
    again = plan(site, [(sample_spec, "a.yml")]).tenancies[0]
    assert again.diff.against == "planned" and again.diff.empty, again.diff.as_dict()

    bigger = replace(sample_spec.servers[0], count=3)
    quota = replace(sample_spec.quota, instances=4, cores=10)
    fewer = replace(sample_spec, servers=(bigger, sample_spec.servers[1]), vpns=(), quota=quota)
    changed = plan(site, [(fewer, "a.yml")]).tenancies[0]
    added = {u.rsplit("::", 1)[-1] for u in changed.diff.added}
    removed = {u.rsplit("::", 1)[-1] for u in changed.diff.removed}
    assert "fgw-production-vm-web-3" in added
    assert "fgw-production-vpn-hq-connection" in removed
    fields = {c.urn.rsplit("::", 1)[-1]: c.fields for c in changed.diff.changed}
    assert fields["fgw-production-quotas-compute"] == [
        "cores",
        "instances",
        "serverGroupMembers",
        "serverGroups",
    ]


def test_applied_snapshot_wins_over_planned(site: Site, sample_spec: TenancySpec) -> None:
    first = plan(site, [(sample_spec, "a.yml")]).tenancies[0]
    applied = {u: r for u, r in list(plan_snapshot(first).items())[:5]}
    snapshot.save(site, sample_spec.name, snapshot.APPLIED, applied)
    after = plan(site, [(sample_spec, "a.yml")]).tenancies[0]
    assert after.diff.against == "applied"
    assert len(after.diff.added) == len(first.resources) - 5
    path = site.paths.state / "stacks" / sample_spec.name / "planned.json"
    assert path.stat().st_mode & 0o777 == 0o600


def plan_snapshot(tenancy: object) -> snapshot.Snapshot:
    from dcops.stacks.plan import snapshot_of

    return snapshot_of(tenancy.resources)  # type: ignore[attr-defined]


def test_duplicate_urns_are_violations(site: Site, sample_spec: TenancySpec) -> None:
    twice = (*sample_spec.servers, ServerSpec("web", "c2.m4", "kylin-v10-sp3", 1, network="app"))
    report = plan(site, [(replace(sample_spec, servers=twice), "dup.yml")])
    tenancy = report.tenancies[0]
    assert not report.ok
    assert (
        "urn:pulumi:fgw-production::dcops::dcops:stack:Tenancy$dcops:openstack:Tenancy$dcops:openstack:Servers$openstack:compute/instance:Instance::fgw-production-vm-web-1"
        in tenancy.duplicates
    )


def test_two_requests_for_one_tenancy_are_refused(site: Site, sample_spec: TenancySpec) -> None:
    with pytest.raises(InputError, match="both name tenancy 'fgw-production'"):
        plan(site, [(sample_spec, "a.yml"), (sample_spec, "b.yml")])
    assert not (site.paths.state / "stacks").exists()


def test_offline_allocation_is_deterministic_and_disjoint(site: Site) -> None:
    first = OfflineAllocation(site).allocate("fgw-production", "production", "app", 24)
    assert first == OfflineAllocation(site).allocate("fgw-production", "production", "app", 24)
    allocation = OfflineAllocation(site)
    blocks = [allocation.allocate(f"t{i}", "staging", "app", 20) for i in range(16)]
    assert len(set(blocks)) == 16 and all(b.startswith("10.21.") for b in blocks)
    with pytest.raises(InputError, match="no free /20"):
        allocation.allocate("t16", "staging", "app", 20)


def test_sharded_plan_matches_the_single_run(site: Site, sample_spec: TenancySpec) -> None:
    specs = [(replace(sample_spec, name=f"fgw-t{i}"), f"{i}.yml") for i in range(4)]
    one = plan(site, specs, workers=1)
    two = plan(load_site(site.paths.root), specs, workers=2)
    summary = {t.tenancy: (len(t.resources), [r.urn for r in t.resources]) for t in one.tenancies}
    assert {
        t.tenancy: (len(t.resources), [r.urn for r in t.resources]) for t in two.tenancies
    } == summary


def test_markdown_is_ready_for_a_change_ticket(site: Site, sample_spec: TenancySpec) -> None:
    text = render(plan(site, [(sample_spec, "inventory/requests/fgw-production.yml")]))
    assert "## Plan `fgw-production` (fgw)" in text
    assert "offline allocation, for planning only" in text
    assert "| no-admin-port-to-world | pass |  |" in text
    assert (
        '| `openstack:vpnaas/siteConnection:SiteConnection` | fgw-production-vpn-hq-connection | peerAddress="203.0.113.10", psk="[secret]" |'
        in text
    )
    assert text.rstrip().endswith("**Overall: PASS** — 1 tenancy plan(s)")


def test_two_runs_saving_one_stacks_snapshot_at_once_both_succeed(site: Site) -> None:
    """Two provisions of one stack plan at the same moment (the engine's lock refuses the
    second only later): neither may fail on the other's temp file, and the file stays whole."""
    from concurrent.futures import ThreadPoolExecutor

    def save(n: int) -> None:
        for i in range(40):
            snapshot.save(site, "fgw-race", snapshot.PLANNED, {f"urn:{n}:{i}": {"n": n}})

    with ThreadPoolExecutor(max_workers=6) as pool:
        list(pool.map(save, range(6)))  # re-raises any writer's error
    folder = site.paths.state / "stacks" / "fgw-race"
    assert sorted(p.name for p in folder.iterdir()) == ["planned.json"]  # no temp left
    assert (folder / "planned.json").stat().st_mode & 0o777 == 0o600
    kind, resources = snapshot.load(site, "fgw-race")
    [urn] = resources
    assert kind == snapshot.PLANNED
    assert urn.startswith("urn:") and urn.endswith(":39")
