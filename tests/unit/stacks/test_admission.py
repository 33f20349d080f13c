"""Policies over a request before it is stored, and one namespace per tenancy in a plan."""

from __future__ import annotations

import datetime
import time
from pathlib import Path

import pytest
import yaml

from dcops.core.errors import InvalidInput
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.stacks.admission import judge_request, refuse_violations
from dcops.stacks.plan import plan
from dcops.stacks.spec import TenancySpec
from dcops.tenancy.request import parse_request
from tests.unit.stacks.conftest import SAMPLE, replace

TODAY = datetime.date(2026, 11, 25)


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def test_ssh_to_the_world_is_refused_before_it_is_stored(site: Site) -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    data["ingress"].append({"to": "web", "port": 22, "from": "0.0.0.0/0", "description": "ssh"})
    verdicts = judge_request(site, parse_request(data, site, today=TODAY))
    failed = {v.policy: v for v in verdicts if not v.passed}
    assert list(failed) == ["no-admin-port-to-world"]
    assert "[22]" in failed["no-admin-port-to-world"].violations[0].message
    with pytest.raises(InvalidInput) as caught:
        refuse_violations("r.yml", "fgw-production", verdicts)
    assert caught.value.exit_code == 2
    assert caught.value.problems[0].field == "policy no-admin-port-to-world"


def test_the_sample_passes_every_policy(site: Site) -> None:
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    verdicts = judge_request(site, parse_request(data, site, today=TODAY))
    assert verdicts and all(v.passed for v in verdicts)
    refuse_violations("r.yml", "fgw-production", verdicts)


def test_two_tenancies_with_one_namespace_both_fail_the_plan(
    site: Site, sample_spec: TenancySpec
) -> None:
    other = replace(sample_spec, name="fgw-staging", environment="staging")
    report = plan(site, [(sample_spec, "a.yml"), (other, "b.yml")])
    assert not report.ok
    for tenancy, holder in (("fgw-production", "fgw-staging"), ("fgw-staging", "fgw-production")):
        found = next(t for t in report.tenancies if t.tenancy == tenancy)
        [verdict] = [v for v in found.verdicts if v.policy == "namespace-one-tenancy"]
        assert f"also belongs to tenancy {holder}" in verdict.violations[0].message


def test_a_request_judged_again_is_answered_from_the_kept_verdicts(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dcops.stacks import admission

    monkeypatch.setattr(admission, "_VERDICTS", type(admission._VERDICTS)())
    planned: list[str] = []
    original = admission.judge_inputs

    def counting(spec: TenancySpec, context: object, public: str) -> list[object]:
        planned.append(spec.name)
        return original(spec, context, public)  # type: ignore[arg-type]

    monkeypatch.setattr(admission, "judge_inputs", counting)
    data = yaml.safe_load(SAMPLE.read_text(encoding="utf-8"))
    first = judge_request(site, parse_request(data, site, today=TODAY))
    again = judge_request(site, parse_request(data, site, today=TODAY))
    assert planned == ["fgw-production"]
    assert [(v.policy, v.passed) for v in again] == [(v.policy, v.passed) for v in first]
    again.clear()  # what a caller does with its verdicts does not change the kept ones
    assert len(judge_request(site, parse_request(data, site, today=TODAY))) == len(first)

    data["ingress"].append({"to": "web", "port": 22, "from": "0.0.0.0/0", "description": "ssh"})
    changed = judge_request(site, parse_request(data, site, today=TODAY))
    assert planned == ["fgw-production", "fgw-production"]  # a changed request is planned again
    assert any(not v.passed for v in changed)


def test_closing_the_judges_ends_workers_still_warming_up() -> None:
    from dcops.stacks import admission

    admission.open_judges(workers=1)
    pool = admission._WORKERS
    assert pool is not None
    workers = list(pool._processes.values())  # type: ignore[attr-defined]
    assert workers, "the warm-up started no worker"
    admission.close_judges()
    assert admission._WORKERS is None
    # The pool's own thread may reap a worker first; its exit status then shows a moment later.
    deadline = time.monotonic() + 10
    while any(w.exitcode is None for w in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    # Ended mid-warm-up by SIGTERM (a warm-up takes seconds of imports), not left to finish it.
    assert [w.exitcode for w in workers] == [-15]
