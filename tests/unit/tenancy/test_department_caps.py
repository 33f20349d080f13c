"""Department-wide caps at submit: what a department's tenancies hold together."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from dcops.core.errors import InvalidInput
from dcops.core.identity import Actor
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.tenancy import lifecycle
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.records import RequestRecord
from dcops.tenancy.store import open_store

Person = Callable[[str], Actor]
MakeRequest = Callable[..., TenancyRequest]
ZWFW = {"code": "zwfw", "name": "市政务服务管理局"}


def _zwfw(make_request: MakeRequest, name: str, **changes: Any) -> TenancyRequest:
    """The sample (8 vCPUs, 700 GB of volumes, one load balancer) for the basic-tier department."""
    fields: dict[str, Any] = {
        "name": name,
        "department": ZWFW,
        "vpn": [],
        "kubernetes": None,
        "expires": "2027-06-30",
    }
    fields.update(changes)
    return make_request(**fields)


def _stored(site: Site) -> int:
    with open_store(site).reading() as session:
        return int(session.scalar(select(func.count()).select_from(RequestRecord)) or 0)


def test_a_request_over_the_department_cap_is_refused_naming_use_request_and_limit(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    ops = person("zhangwei")
    lifecycle.submit(site, _zwfw(make_request, "zwfw-a"), ops)
    lifecycle.submit(site, _zwfw(make_request, "zwfw-b"), ops)
    with pytest.raises(InvalidInput) as refused:
        lifecycle.submit(site, _zwfw(make_request, "zwfw-c"), ops)
    lines = refused.value.details()
    volume = next(line for line in lines if "volume" in line)
    assert "compute:" in volume and "部门 zwfw" in volume
    assert "in use 1400 GB" in volume and "this request 700 GB" in volume
    assert "limit 2000 GB" in volume and "at most 600 GB more" in volume
    balancers = next(line for line in lines if "load balancers" in line)
    assert "load_balancers:" in balancers and "in use 2 (" in balancers and "limit 2;" in balancers
    assert not any("vCPUs" in line for line in lines)  # 24 of 32: within the cap
    assert _stored(site) == 2


def test_rejected_requests_free_their_share_and_small_requests_still_fit(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    ops, approver = person("zhangwei"), person("chenjing")
    lifecycle.submit(site, _zwfw(make_request, "zwfw-a"), ops)
    lifecycle.submit(site, _zwfw(make_request, "zwfw-b"), ops)
    small = [{"name": "web", "flavor": "c2.m4", "image": "kylin-v10-sp3", "count": 2}]
    fits = _zwfw(make_request, "zwfw-c", compute=small, load_balancers=[], ingress=[])
    assert lifecycle.submit(site, fits, ops).to_state == "submitted"
    lifecycle.reject(site, "zwfw-b", approver, "合并到 zwfw-a / merged into zwfw-a")
    assert lifecycle.submit(site, _zwfw(make_request, "zwfw-d"), ops).to_state == "submitted"


def test_departments_of_a_tier_without_caps_are_held_only_per_request(
    site: Site, person: Person, make_request: MakeRequest
) -> None:
    for i in range(4):  # fgw is of the standard tier, which declares no department-wide caps
        lifecycle.submit(
            site, make_request(name=f"fgw-p{i}", vpn=[], kubernetes=None), person("wanglei")
        )
    assert _stored(site) == 4


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ("vcpus = 8\n", "department-wide cap 8 is below the per-request cap 16"),
        ("ram_gb = 0\n", "greater than 0"),
        ("floating = 3\n", "unknown field 'floating'; allowed: instances"),
    ],
)
def test_bad_department_caps_name_the_line_and_field(
    site_dir: Path, table: str, problem: str
) -> None:
    path = site_dir / "dcops.toml"
    text = path.read_text(encoding="utf-8")
    head = "[tiers.basic.department_caps]\n"
    start = text.index(head) + len(head)
    end = text.index("\n\n", start) + 1
    path.write_text(text[:start] + table + text[end:], encoding="utf-8")
    with pytest.raises(InvalidInput) as refused:
        load_site(site_dir)
    key = table.split(" ")[0]
    (found,) = [p for p in refused.value.problems if p.field.startswith("tiers.basic")]
    assert found.field == f"tiers.basic.department_caps.{key}"
    assert found.line == text[:start].count("\n") + 1
    assert problem in found.message
