"""Usage against quotas: used, live quota, granted and tier per department, and what is flagged."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

import pytest

from dcops.cloud.inventory import Inventory
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Resource, Scope
from dcops.cloud.usage import UsageLine, measure
from dcops.core.loader import load_site
from dcops.core.site import Site

SPEC: dict[str, Any] = {
    "name": "fgw-truth",
    "department": {"code": "fgw", "name": "市发展和改革委员会"},
    "contacts": [{"name": "王磊", "email": "wanglei@fgw.example.gov.cn"}],
    "purpose": "数据共享交换",
    "environment": "staging",
    "classification": "level-3",
    "expires": "2027-06-30",
    "compute": [{"name": "app", "flavor": "c2.m4", "image": "kylin-v10-sp3", "count": 1}],
    "networks": [{"name": "app", "size": 26}],
    "kubernetes": {"namespace": "fgw-truth", "quota": {"cpu": 2, "memory": "4Gi", "pods": 10}},
}


@pytest.fixture
def site(site_dir: Path) -> Site:
    return load_site(site_dir)


def inventory() -> Inventory:
    project = Scope("openstack", "fgw-truth", "p1", "fgw-truth", "fgw")
    namespace = Scope("kubernetes", "fgw-truth", "n1", "fgw-truth", "fgw")
    namespace.resources = [
        Resource(
            "resource_quota",
            "q",
            "quota",
            "fgw-truth",
            {
                "hard": {"limits.cpu": "3", "limits.memory": "4Gi", "pods": "10"},
                "used": {"limits.cpu": "2500m", "limits.memory": "1Gi", "pods": "3"},
            },
        )
    ]
    shadow = Scope("openstack", "shadow-it", "p2")
    tenancy = Tenancy(
        "fgw-truth", "fgw", "approved", datetime.date(2027, 6, 30), "fgw-truth", 1, SPEC
    )
    return Inventory([project, namespace, shadow], [], [tenancy], {}, 0.0)


def quotas(project: str) -> dict[str, float | None]:
    assert project == "p1", "only owned projects' quotas are read"
    return {
        "vcpus": 20.0,
        "ram_gb": 50.0,
        "instances": 10.0,
        "floating_ips": 50.0,
        "load_balancers": None,
        "used.vcpus": 4.0,
        "used.ram_gb": 8.0,
        "used.instances": 2.0,
        "used.floating_ips": 1.0,
    }


def lines(site: Site, reader: Any = quotas) -> dict[str, UsageLine]:
    return {line.metric: line for line in measure(site, inventory(), reader).lines}


def test_used_quota_granted_and_tier_per_metric(site: Site) -> None:
    found = lines(site)
    vcpus = found["vcpus"]
    assert (vcpus.used, vcpus.quota, vcpus.granted, vcpus.tier) == (4.0, 20.0, 2.0, 64.0)
    assert vcpus.percent == 200.0 and vcpus.over(90.0)
    assert found["load_balancers"].quota is None
    cpu = found["k8s_cpu"]
    assert (cpu.used, cpu.quota, cpu.granted, cpu.tier) == (2.5, 3.0, 2.0, 32.0)
    assert cpu.over(90.0)
    memory = found["k8s_memory_gb"]
    assert (memory.used, memory.granted, round(memory.percent or 0)) == (1.0, 4.0, 25)
    assert not memory.over(90.0)
    assert {line.department for line in measure(site, inventory(), quotas).lines} == {"fgw"}


def test_a_project_whose_quotas_cannot_be_read_is_reported(site: Site) -> None:
    def broken(project: str) -> dict[str, float | None]:
        raise ConnectionError("nova is down")

    measured = measure(site, inventory(), broken)
    assert [(f.service, f.reason) for f in measured.failures] == [
        ("quotas/fgw-truth", "ConnectionError: nova is down")
    ]
    vcpus = next(line for line in measured.lines if line.metric == "vcpus")
    assert vcpus.quota is None and vcpus.used == 0.0


def test_use_beyond_the_tier_is_flagged_whatever_the_threshold() -> None:
    line = UsageLine("fgw", "vcpus", "vCPU", used=70, quota=None, granted=0, tier=64)
    assert line.percent is None
    assert line.over(100.0)
