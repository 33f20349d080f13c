"""Many submits and approvals at once through a real `dcops serve`: judged side by side by the
policy workers, yet every tenancy gets its own addresses and the journal still verifies."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import REPO, copy_site
from tests.integration.server.live_server import LiveServer

pytestmark = pytest.mark.integration

COUNT = 8
REQUEST = (REPO / "inventory/requests/fgw-production.yml").read_text(encoding="utf-8")


def request_text(i: int) -> str:
    """The example request as tenancy fgw-c{i}: its own name, namespace and VPN peer."""
    text = REQUEST.replace("environment: production", f"name: fgw-c{i}\nenvironment: production")
    text = text.replace("namespace: fgw\n", f"namespace: fgw-c{i}\n")
    return text.replace("192.168.10.0/24", f"172.16.{i}.0/24")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """A server with the department's wanglei and liuyang (ops and approver)."""
    live = LiveServer(copy_site(tmp_path_factory.mktemp("concurrent") / "site"))
    live.start()
    try:
        live.account("wanglei", second_factor=False)
        live.account("liuyang", second_factor=True)
        yield live
    finally:
        live.stop()


def all_at_once(server: LiveServer, token: str, calls: list[tuple[str, str, Any]]) -> list[Any]:
    """Send the calls from as many threads as there are calls; each answer's status and body."""
    headers = {"Authorization": f"Bearer {token}"}

    def send(call: tuple[str, str, Any]) -> tuple[int, Any]:
        path, kind, body = call
        with server.client() as client:
            if kind == "yaml":
                answer = client.post(
                    path, content=body, headers={**headers, "Content-Type": "application/yaml"}
                )
            else:
                answer = client.post(path, json=body, headers=headers)
        return answer.status_code, answer.json()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(send, calls))


def test_concurrent_submits_and_approvals_allocate_distinct_blocks(server: LiveServer) -> None:
    department, approver = server.token("wanglei"), server.token("liuyang")
    submitted = all_at_once(
        server,
        department,
        [("/api/v1/tenancies", "yaml", request_text(i)) for i in range(COUNT)],
    )
    assert [status for status, _ in submitted] == [201] * COUNT, submitted
    ids = sorted(body[0]["request_id"] for _, body in submitted)
    assert len(set(ids)) == COUNT
    approved = all_at_once(
        server,
        approver,
        [(f"/api/v1/tenancies/{i}/approve", "json", {"comment": "ok"}) for i in ids],
    )
    assert [status for status, _ in approved] == [200] * COUNT, approved
    blocks = [cidr for _, body in approved for _, cidr in body[0]["allocations"]]
    assert len(blocks) >= COUNT and len(set(blocks)) == len(blocks)
    networks = [ipaddress.ip_network(b) for b in blocks]
    assert not any(a.overlaps(b) for i, a in enumerate(networks) for b in networks[i + 1 :])

    headers = {"Authorization": f"Bearer {approver}"}
    with server.client() as client:
        ipam = client.get("/api/v1/ipam", headers=headers).json()
        verified = client.get("/api/v1/audit/verify", headers=headers).json()
    held = sorted(a["cidr"] for a in ipam["allocations"] if a["tenancy"].startswith("fgw-c"))
    assert held == sorted(blocks)
    assert verified["ok"] is True and verified["findings"] == []
    submits = [
        e for e in server.journal()
        if e["action"] == "tenancy.submit" and e["phase"] == "result"
        and e["result"]["status"] == "success"
    ]  # fmt: skip
    assert len(submits) == COUNT


def test_a_request_breaking_a_policy_is_still_refused_by_the_workers(server: LiveServer) -> None:
    token = server.token("wanglei")
    ssh = "  - {to: web, port: 22, from: 0.0.0.0/0, description: ssh from anywhere}\n"
    bad = request_text(99).replace("load_balancers:\n", ssh + "load_balancers:\n", 1)
    answers = all_at_once(server, token, [("/api/v1/tenancies", "yaml", bad)] * 2)
    assert [status for status, _ in answers] == [422, 422], answers
    assert all("policy no-admin-port-to-world" in str(body) for _, body in answers)
