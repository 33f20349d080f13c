"""Reading a cloud: scopes grouped, a failing service reported while the rest is still read."""

from __future__ import annotations

import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from dcops.cloud import kubernetes_reading, openstack_parsing, openstack_reading
from dcops.cloud.inventory import Inventory, assemble
from dcops.cloud.ownership import Tenancy
from dcops.cloud.records import Reading, Resource, Scope


class Record(dict[str, Any]):
    """An SDK resource stand-in: a dict that gives itself back from to_dict()."""

    def to_dict(self, computed: bool = True) -> dict[str, Any]:
        return dict(self)


class FakeConnection:
    """The small part of an openstacksdk Connection that the reader uses."""

    def __init__(self, offered: set[str]) -> None:
        self.offered = offered
        self.identity = SimpleNamespace(
            projects=lambda: [
                SimpleNamespace(id="p1", name="fgw-truth", tags=["department:fgw"]),
                SimpleNamespace(id="p2", name="shadow-it", tags=[]),
            ]
        )
        self.compute = self.network = self.load_balancer = object()
        self.session = SimpleNamespace(get_timings=lambda: [1, 2, 3])
        self.current_user_id = "u-dcops"

    def has_service(self, service: str) -> bool:
        return service in self.offered


def _servers(_: Any) -> list[Record]:
    return [
        Record(id="s1", name="app-0", project_id="p1", flavor={"vcpus": 2, "ram": 4096}),
        Record(id="s2", name="box", project_id="p2", flavor={"vcpus": 4, "ram": 8192}),
    ]


def _broken(_: Any) -> list[Record]:
    raise ConnectionRefusedError("[Errno 111] Connection refused")


LISTINGS = (
    openstack_reading.Listing("server", "compute", _servers, openstack_parsing.server),
    openstack_reading.Listing(
        "load_balancer", "load-balancer", _broken, openstack_parsing.load_balancer
    ),
    openstack_reading.Listing("volume", "block-storage", _servers, openstack_parsing.volume),
)


def test_one_unreachable_service_is_reported_and_the_rest_is_read() -> None:
    connection = FakeConnection({"compute", "load-balancer"})
    reading = openstack_reading.read(connection, LISTINGS)
    scopes = {s.name: s for s in reading.scopes}
    assert [r.name for r in scopes["fgw-truth"].resources] == ["app-0"]
    assert [r.name for r in scopes["shadow-it"].resources] == ["box"]
    failures = {f.service: f.reason for f in reading.failures}
    assert "Connection refused" in failures["load-balancer/load_balancer"]
    assert failures["block-storage/volume"] == "not in the service catalogue"
    assert reading.calls == 3
    assert reading.account == "u-dcops"  # dcops' own account, whose admin role the scan allows


def test_when_keystone_cannot_be_read_nothing_else_is_guessed() -> None:
    connection = FakeConnection({"compute"})
    connection.identity = SimpleNamespace(projects=lambda: _broken(None))
    reading = openstack_reading.read(connection, LISTINGS)
    assert reading.scopes == []
    assert [f.service for f in reading.failures] == ["identity"]


class FakeCluster(kubernetes_reading.Cluster):
    """Pages served from memory, two items a page, with continue tokens."""

    def __init__(self, items: dict[str, list[dict[str, Any]]], failing: str = "") -> None:
        super().__init__(None)
        self.pages = items
        self.failing = failing

    def get(self, path: str, query: list[tuple[str, Any]]) -> dict[str, Any]:
        self.calls += 1
        if path == self.failing:
            raise ValueError(f"GET {path}: HTTP 503 Service Unavailable")
        start = int(dict(query).get("continue") or 0)
        items = self.pages.get(path, [])
        rest = str(start + 2) if start + 2 < len(items) else ""
        return {"items": items[start : start + 2], "metadata": {"continue": rest}}


def _namespace(name: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "uid": f"u-{name}", "labels": labels}}


def test_kubernetes_lists_follow_continue_tokens_and_survive_a_failing_kind() -> None:
    pods = [{"metadata": {"name": f"p{i}", "namespace": "fgw-truth"}} for i in range(5)]
    cluster = FakeCluster(
        {
            "/api/v1/namespaces": [_namespace("fgw-truth"), _namespace("shadow-ns")],
            "/api/v1/pods": pods,
        },
        failing="/apis/apps/v1/deployments",
    )
    reading = kubernetes_reading.read(cluster)
    scopes = {s.name: s for s in reading.scopes}
    assert scopes["fgw-truth"].counts()["pod"] == 5
    assert [f.service for f in reading.failures] == ["Deployment"]
    assert reading.calls >= 3 + len(kubernetes_reading.LISTINGS)


def test_owners_departments_and_totals() -> None:
    openstack = Reading("openstack")
    owned = Scope("openstack", "fgw-truth", "p1")
    owned.resources = [
        Resource("server", "s1", "a", "p1", {"vcpus": 2, "ram_mb": 4096}),
        Resource("server", "s2", "b", "p1", {"vcpus": 4, "ram_mb": 8192}),
    ]
    openstack.scopes = [
        owned,
        Scope("openstack", "shadow-it", "p2"),
        Scope("openstack", "admin", "p0"),
    ]
    k8s = Reading("kubernetes")
    k8s.scopes = [Scope("kubernetes", "fgw-truth", "n1"), Scope("kubernetes", "kube-system", "n2")]
    tenancy = Tenancy("fgw-truth", "fgw", "provisioned", datetime.date(2027, 6, 30), "fgw-truth", 1)
    scopes = assemble([openstack, k8s], [tenancy], ("admin",))
    assert {(s.cloud, s.name): s.department for s in scopes} == {
        ("openstack", "fgw-truth"): "fgw",
        ("openstack", "shadow-it"): "unowned",
        ("openstack", "admin"): "platform",
        ("kubernetes", "fgw-truth"): "fgw",
        ("kubernetes", "kube-system"): "platform",
    }
    totals = Inventory(scopes, [], [tenancy], {}, 0.0).totals()
    assert [t.department for t in totals] == ["fgw", "unowned", "platform"]
    assert (totals[0].projects, totals[0].namespaces, totals[0].vcpus, totals[0].ram_mb) == (
        1,
        1,
        6,
        12288,
    )


@pytest.mark.parametrize("kind", ["server", "volume", "floating_ip", "load_balancer"])
def test_parsers_take_empty_records(kind: str) -> None:
    resource = getattr(openstack_parsing, kind)({})
    assert (resource.kind, resource.id, resource.scope) == (kind, "", "")
