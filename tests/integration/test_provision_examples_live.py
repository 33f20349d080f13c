"""The example tenancies (inventory/requests/) provisioned for real on the lab cloud, volumes
included: what openstacksdk finds, the stack outputs, the offline plan against what the engine
made, and `destroy` leaving nothing. Only their OpenStack part (`--only openstack`): the
Kubernetes part meets the lab cluster in test_k8s_tenancy.py. Skips loudly where the engine or
the lab cannot run.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import REPO
from tests.integration.lab_cloud import LabCloud
from tests.integration.live_provision import (
    ENGINE_TIMEOUT,
    engine_missing,
    held,
    leftovers,
    ok,
    planned_and_created,
    platform_provisioned,
    project_of,
    shown_outputs,
    write_secret,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.live,
    pytest.mark.engine,
    pytest.mark.cloud,
]

# Each example tenancy: its pre-shared key's name, and its servers' data volumes (GB).
EXAMPLES = {
    "fgw-production": (
        "fgw-hq-psk",
        {"web-1": 100, "web-2": 100, "db-1": 500},
    ),
    "wjw-staging": (
        "wjw-hospital-psk",
        {"api-1": 50, "api-2": 50, "etl-1": 200, "pg-1": 300, "pg-2": 300},
    ),
}
PAGE_EXAMPLE = "fgw-production"  # the one docs/commands/provision.md shows


def request_of(name: str) -> str:
    return f"inventory/requests/{name}.yml"


@pytest.fixture(scope="module", params=sorted(EXAMPLES))
def example(request: pytest.FixtureRequest, lab_cloud: LabCloud) -> Iterator[tuple[str, str]]:
    """One example tenancy provisioned (its OpenStack part); destroyed by its last test."""
    reason = engine_missing()
    if reason:
        pytest.skip(reason)
    name = str(request.param)
    platform_provisioned(lab_cloud)
    write_secret(lab_cloud.site, EXAMPLES[name][0], f"lab-cloud-live-psk-{name}")
    try:
        out = ok(
            lab_cloud.dcops(
                "provision", request_of(name), "--only", "openstack", "--yes",
                timeout=ENGINE_TIMEOUT,
            )
        )  # fmt: skip
        yield name, out
    finally:  # whatever a failed test left
        if held(lab_cloud, name):
            lab_cloud.dcops("destroy", request_of(name), "--yes", timeout=ENGINE_TIMEOUT)


@pytest.fixture(scope="module")
def conn(lab_cloud: LabCloud) -> Any:
    return lab_cloud.connect()


def test_the_example_is_provisioned_with_its_data_volumes_attached(
    example: tuple[str, str], conn: Any
) -> None:
    name, out = example
    assert f"provision: {name} updated — create " in out
    project = project_of(conn, name)
    servers = {s.name: s for s in conn.compute.servers(all_projects=True, project_id=project.id)}
    wanted = EXAMPLES[name][1]
    assert set(servers) == {f"{name}-vm-{server}" for server in wanted}
    assert {s.status for s in servers.values()} == {"ACTIVE"}
    volumes = {
        v.name: v for v in conn.block_storage.volumes(all_projects=True, project_id=project.id)
    }
    assert set(volumes) == {f"{name}-vm-{server}-data" for server in wanted}
    for server, size in wanted.items():
        volume = volumes[f"{name}-vm-{server}-data"]
        assert (volume.size, volume.status) == (size, "in-use"), volume.name
        assert volume.volume_type == "__DEFAULT__"  # the request names no type
        [attachment] = volume.attachments
        assert attachment["server_id"] == servers[f"{name}-vm-{server}"].id
        assert volume.metadata == {"department": name.split("-")[0], "tenancy": name}


def test_the_outputs_name_each_server_with_its_address_and_volume(
    example: tuple[str, str], conn: Any
) -> None:
    name, out = example
    shown = shown_outputs(out, name)
    project = project_of(conn, name)
    assert shown["project_id"] == project.id
    for server in conn.compute.servers(all_projects=True, project_id=project.id):
        [address] = [a["addr"] for nets in server.addresses.values() for a in nets]
        key = f"servers.{server.name.removeprefix(f'{name}-vm-')}"
        assert shown[f"{key}.address"] == address
        volume = conn.block_storage.get_volume(shown[f"{key}.volume_id"])
        assert volume.attachments[0]["server_id"] == server.id
        assert shown[f"{key}.volume_gb"] == str(volume.size)
    subnets = {s.name: s.cidr for s in conn.network.subnets(project_id=project.id)}
    networks = {key.split(".")[1] for key in shown if key.startswith("networks.")}
    for network in networks:
        assert shown[f"networks.{network}.cidr"] == subnets[f"{name}-net-{network}-subnet"]
    [lb] = list(conn.load_balancer.load_balancers(project_id=project.id))
    [service] = list(conn.network.vpn_services(project_id=project.id))
    assert [v for k, v in shown.items() if k.endswith(".vip")] == [lb.vip_address]
    assert [v for k, v in shown.items() if k.endswith(".local_endpoint")] == [
        service.external_v4_ip
    ]
    if name == PAGE_EXAMPLE:
        the_page_shows_such_a_run(name, out)


def page_example(name: str) -> list[str]:
    """The lines of the provision page's example run of an example tenancy."""
    page = (REPO / "docs" / "commands" / "provision.md").read_text(encoding="utf-8")
    for block in re.findall(r"```text\n(.*?)```", page, flags=re.S):
        if f"outputs of {name}:" in block:
            return block.splitlines()
    raise AssertionError(f"docs/commands/provision.md shows no outputs of {name}")


def same_kind(shown: str, live: str) -> bool:
    """Values that differ from run to run (IDs, addresses) are of the same kind; others equal."""
    for kind in (uuid.UUID, ipaddress.ip_address, ipaddress.ip_network):
        try:
            kind(shown)
        except ValueError:
            continue
        try:
            kind(live)
        except ValueError:
            return False
        return True
    return shown == live


def the_page_shows_such_a_run(name: str, out: str) -> None:
    """The provision page's example run: its summary line, and its outputs' keys in order
    with values of the same kind."""
    lines = page_example(name)
    [summary] = [line for line in lines if line.startswith("provision: ")]
    assert summary in out.splitlines()
    page = shown_outputs("\n".join(lines), name)
    live = shown_outputs(out, name)
    assert list(page) == list(live)
    assert [k for k in page if not same_kind(page[k], live[k])] == []


def test_the_offline_plan_lists_what_the_engine_created(
    example: tuple[str, str], lab_cloud: LabCloud
) -> None:
    name, _ = example
    plan = ok(lab_cloud.dcops("plan", request_of(name), "-o", "json"))
    planned, created = planned_and_created(lab_cloud.site, plan, name, ("openstack",))
    assert len(created) > 40
    assert planned == created


def test_destroy_leaves_nothing_volumes_included(
    example: tuple[str, str], lab_cloud: LabCloud, conn: Any
) -> None:
    name, _ = example
    project = project_of(conn, name)
    out = ok(lab_cloud.dcops("destroy", request_of(name), "--yes", timeout=ENGINE_TIMEOUT))
    assert f"destroy: {name} — delete " in out
    assert leftovers(conn, name, project.id) == []
