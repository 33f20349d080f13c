"""Tenancy requests: the samples are valid, and every rule names the field and what is allowed."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from dcops.core.errors import InvalidInput, Problem
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy.request import TenancyRequest, load_request, request_schema

TODAY = datetime.date(2026, 11, 25)
SAMPLE = "inventory/requests/fgw-production.yml"


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def _edit(site: Site, old: str, new: str, name: str = SAMPLE) -> Path:
    path = site.paths.root / name
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _problems(site: Site, path: Path, **kwargs: object) -> list[Problem]:
    with pytest.raises(InvalidInput) as caught:
        load_request(path, site, today=TODAY, **kwargs)  # type: ignore[arg-type]
    return caught.value.problems


def _one(site: Site, old: str, new: str) -> Problem:
    problems = _problems(site, _edit(site, old, new))
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def test_the_sample_request_is_valid_as_written(site: Site) -> None:
    request = load_request(site.paths.root / SAMPLE, site, today=TODAY)
    assert isinstance(request, TenancyRequest)
    assert request.name == "fgw-production"
    assert request.ingress[1].source == "web" and request.ingress[1].protocol == "tcp"
    assert request.vpn[0].psk_secret == "fgw-hq-psk"
    totals = request.totals({f.name: f for f in site.config.catalogue.flavors})
    assert (totals.vcpus, totals.ram_gb, totals.volume_gb, totals.instances) == (8, 24, 700, 3)
    assert totals.k8s_memory_gb == 64


def test_every_request_in_the_inventory_is_valid(site: Site) -> None:
    files = sorted((site.paths.root / "inventory" / "requests").glob("*.yml"))
    assert len(files) >= 2
    names = {load_request(f, site, today=TODAY).name for f in files}
    assert {"fgw-production", "wjw-staging"} <= names


def test_problems_name_file_line_and_field(site: Site) -> None:
    problem = _one(site, "flavor: c4.m16", "flavor: c64.m512")
    assert problem.source == SAMPLE
    assert problem.field == "compute[1].flavor"
    assert problem.line == 11
    assert "unknown flavor 'c64.m512'; allowed: c16.m64, c2.m4" in problem.message
    assert str(problem).startswith(f"{SAMPLE}:11: compute[1].flavor:")


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        ("{name: web, flavor", "{name: Web_1, flavor", "compute[0].name", "lowercase a-z"),
        (
            "{name: app, size: 24}",
            "{name: app, size: 12}",
            "networks[0].size",
            "greater than or equal to 16",
        ),
        (
            "image: kylin-v10-sp3, count: 1",
            "image: windows, count: 1",
            "compute[1].image",
            "unknown image 'windows'",
        ),
        (
            "{code: fgw,",
            "{code: xyz,",
            "department.code",
            "unknown department 'xyz'; allowed: fgw, gaj",
        ),
        (
            "name: 市发展和改革委员会}",
            "name: 发改委}",
            "department.name",
            "allowed: '市发展和改革委员会'",
        ),
        ("classification: level-3", "classification: secret", "classification", "'level-1'"),
        ("expires: 2027-12-31", "expires: 2026-11-01", "expires", "not in the future"),
        ("expires: 2027-12-31", "expires: 2029-12-31", "expires", "730 days"),
        ("from: 0.0.0.0/0", "from: frontend", "ingress[0].from", "neither a service nor a CIDR"),
        (
            "from: 10.10.0.0/16",
            "from: 10.10.0.1/16",
            "ingress[2].from",
            "neither a service nor a CIDR",
        ),
        (
            "{to: db, port",
            "{to: cache, port",
            "ingress[1].to",
            "unknown service 'cache'; allowed: web, db",
        ),
        ("members: web", "members: app", "load_balancers[0].members", "unknown service 'app'"),
        (
            "peer_cidrs: [192.168.10.0/24]",
            "peer_cidrs: [10.20.5.0/24]",
            "vpn[0].peer_cidrs[0]",
            "site pool tenant-production",
        ),
        (
            "psk_secret: fgw-hq-psk",
            "psk_secret: 'S3cr3t!Key'",
            "vpn[0].psk_secret",
            "never the key itself",
        ),
        (
            "peer_address: 203.0.113.10",
            "peer_address: gateway",
            "vpn[0].peer_address",
            "not an IP address",
        ),
        (
            "cpu: 16,",
            "cpu: 64,",
            "kubernetes.quota.cpu",
            "exceeds the cap of tier 'standard' of fgw; allowed: at most 32",
        ),
        ("memory: 64Gi", "memory: 64 gigs", "kubernetes.quota.memory", "not a memory quantity"),
        (
            "memory: 64Gi",
            "memory: 200Gi",
            "kubernetes.quota.memory",
            "memory total 200 GiB exceeds",
        ),
        (
            "memory: 64Gi",
            "memory: 130.50Gi",
            "kubernetes.quota.memory",
            "memory total 130.5 GiB exceeds",
        ),
        ("purpose:", "name: Fgw_Prod\npurpose:", "name", "'Fgw_Prod' is not a valid tenancy name"),
        ("purpose:", "name: platform\npurpose:", "name", "the shared platform stack's name"),
        ("volume_gb: 500", "volume_gb: 1", "compute[1].volume_gb", "allowed: 0 (no volume) or"),
        (
            "image: kylin-v10-sp3, count: 1",
            "image: windows-2019, count: 1",
            "compute[1].image",
            "allowed: kylin-v10-sp3, openeuler-22.03-lts, uos-server-20",
        ),
        ("count: 2, volume_gb: 100", "count: 31, volume_gb: 100", "compute", "vCPUs total 66"),
        ("volume_gb: 500", "volume_gb: 9000", "compute", "volume total 9200 GB exceeds"),
        ("volume_gb: 500", "volume_gb: 10", "compute[1].volume_gb", "at least 20"),
        (
            "environment: production",
            "environment: development",
            "environment",
            "allowed: production, staging",
        ),
        ("purpose: 项目审批系统", "porpoise: 项目审批系统", "porpoise", "unknown field"),
        (
            "email: wanglei@fgw.example.gov.cn",
            "email: wanglei",
            "contacts[0].email",
            "not an e-mail",
        ),
    ],
)
def test_each_rule_names_the_field(site: Site, old: str, new: str, field: str, words: str) -> None:
    problems = _problems(site, _edit(site, old, new))
    matching = [p for p in problems if p.field == field and words in p.message]
    assert matching, [str(p) for p in problems]
    assert matching[0].line is not None


def test_a_volume_of_exactly_the_images_minimum_disk_is_accepted(site: Site) -> None:
    path = _edit(site, "volume_gb: 500", "volume_gb: 20")
    assert load_request(path, site, today=TODAY).compute[1].volume_gb == 20


def test_all_problems_are_reported_at_once(site: Site) -> None:
    _edit(site, "flavor: c2.m4", "flavor: c1.m1")
    path = _edit(site, "members: web", "members: nobody")
    assert {p.field for p in _problems(site, path)} == {
        "compute[0].flavor",
        "load_balancers[0].members",
    }


def test_duplicate_names_are_refused(site: Site) -> None:
    problems = _problems(site, _edit(site, "{name: db, flavor", "{name: web, flavor"))
    assert [p.field for p in problems] == ["compute[1].name", "ingress[1].to"]
    assert "duplicate name 'web' (first at compute[0])" in problems[0].message


def test_vpn_peers_must_not_overlap_other_tenancies(site: Site) -> None:
    problems = _problems(
        site, site.paths.root / SAMPLE, other_peers=[("wjw-staging", "192.168.0.0/16")]
    )
    assert [p.field for p in problems] == ["vpn[0].peer_cidrs[0]"]
    assert "tenancy wjw-staging's VPN peer" in problems[0].message


def test_bad_yaml_is_a_problem_with_its_line(site: Site) -> None:
    [problem] = _problems(site, _edit(site, "networks:\n", "networks: [\n"))
    assert "invalid YAML" in problem.message and problem.line


def test_schema_describes_the_request_fields_by_their_file_names() -> None:
    schema = request_schema()
    assert set(schema["required"]) >= {"department", "contacts", "environment", "expires"}
    ingress = schema["$defs"]["Ingress"]["properties"]
    assert "from" in ingress and "source" not in ingress
    assert schema["$defs"]["NetworkRequest"]["properties"]["size"]["maximum"] == 28
