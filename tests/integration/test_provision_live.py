"""`dcops provision` for real: the Pulumi engine dcops builds, against the session's lab cloud.

What exists is checked through openstacksdk, never through Pulumi's own state (except to
compare the offline plan with what the engine made). The tenancies here have no Kubernetes
section and no data volumes (the example tenancies, with volumes, are
test_provision_examples_live.py). fgw-staging goes the whole way through the tenancy store (submit, approve,
provision, refresh, drift, offboard, destroy); zwfw-staging takes the faults (Keystone down
during `up`, Ctrl-C, two runs at once). Skips loudly where the engine or the lab cannot run.

The tests of this module depend on each other's order (one tenancy, provisioned once).
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import DCOPS
from tests.integration.lab_cloud import PORT_BASE, LabCloud
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
from tests.integration.monitors_stack import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.live,
    pytest.mark.engine,
    pytest.mark.cloud,
]

NAME = "fgw-staging"
REQUEST = """\
# 市发展和改革委员会 实验云演练 — everything the lab cloud can hold (no data volumes, no Kubernetes).
department: {code: fgw, name: 市发展和改革委员会}
contacts:
  - {name: 王磊, email: wanglei@fgw.example.gov.cn}
purpose: 实验云演练 (lab cloud rehearsal)
environment: staging
classification: level-2
expires: 2027-06-30
compute:
  - {name: web, flavor: c2.m4, image: kylin-v10-sp3, count: 2}
  - {name: db, flavor: c4.m16, image: kylin-v10-sp3, count: 1}
networks:
  - {name: app, size: 26}
ingress:
  - {to: web, port: 443, from: 0.0.0.0/0, description: public HTTPS}
  - {to: db, port: 5432, from: web, description: application to database}
  - {to: web, port: 22, from: 10.10.0.0/16, description: ops bastion}
load_balancers:
  - {name: web, port: 443, protocol: TCP, members: web, health: {type: TCP, interval: 5}}
vpn:
  - {name: hq, peer_address: 203.0.113.40, peer_cidrs: [192.168.40.0/24], psk_secret: fgw-lab-psk}
"""
FAULTS = "zwfw-staging"
FAULTS_REQUEST = """\
department: {code: zwfw, name: 市政务服务管理局}
contacts:
  - {name: 赵敏, email: zhaomin@zwfw.example.gov.cn}
purpose: 故障演练 (fault drill on the lab cloud)
environment: staging
classification: level-2
expires: 2027-06-30
compute:
  - {name: app, flavor: c2.m4, image: kylin-v10-sp3, count: 1}
networks:
  - {name: app, size: 28}
ingress:
  - {to: app, port: 8443, from: 10.10.0.0/16, description: ops console}
"""
VIOLATING = """\
department: {code: wjw, name: 市卫生健康委员会}
contacts:
  - {name: 李娜, email: lina@wjw.example.gov.cn}
purpose: SSH open to the world (refused before the cloud is touched)
environment: production
classification: level-2
expires: 2027-06-30
compute:
  - {name: web, flavor: c2.m4, image: kylin-v10-sp3, count: 1}
networks:
  - {name: app, size: 28}
ingress:
  - {to: web, port: 22, from: 0.0.0.0/0, description: SSH from anywhere}
"""
EGRESS = ("egress", "IPv4", None, None, None, "0.0.0.0/0", True)  # described


@pytest.fixture(scope="module")
def cloud(lab_cloud: LabCloud) -> Iterator[LabCloud]:
    """The lab with the platform stack provisioned and fgw-staging approved in the store."""
    reason = engine_missing()
    if reason:
        pytest.skip(reason)
    platform_provisioned(lab_cloud)
    requests = lab_cloud.site / "inventory" / "requests"
    (requests / f"{NAME}.yml").write_text(REQUEST, encoding="utf-8")
    (requests / f"{FAULTS}.yml").write_text(FAULTS_REQUEST, encoding="utf-8")
    (requests / "wjw-production.yml").write_text(VIOLATING, encoding="utf-8")
    write_secret(lab_cloud.site, "fgw-lab-psk", "lab-cloud-live-psk-0123456789")
    as_user = {**lab_cloud.env, "DCOPS_USER": "wanglei"}
    submit = subprocess.run(
        [str(DCOPS), "tenancy", "request", f"inventory/requests/{NAME}.yml"],
        cwd=lab_cloud.site, env=as_user, text=True, capture_output=True, timeout=300,
    )  # fmt: skip
    ok(submit)
    as_approver = {**lab_cloud.env, "DCOPS_USER": "chenjing"}
    approve = subprocess.run(
        [str(DCOPS), "tenancy", "approve", NAME],
        cwd=lab_cloud.site, env=as_approver, text=True, capture_output=True, timeout=300,
    )  # fmt: skip
    ok(approve)
    try:
        yield lab_cloud
    finally:  # whatever a failed test left (the last tests destroy them when all goes well)
        for stack, ref in ((NAME, NAME), (FAULTS, f"inventory/requests/{FAULTS}.yml")):
            if held(lab_cloud, stack):
                lab_cloud.dcops("destroy", ref, "--yes", timeout=ENGINE_TIMEOUT)


@pytest.fixture(scope="module")
def provisioned(cloud: LabCloud) -> tuple[LabCloud, str]:
    """fgw-staging provisioned from the store; the output of `dcops provision`."""
    return cloud, ok(cloud.dcops("provision", NAME, "--yes", timeout=ENGINE_TIMEOUT))


def allocated_cidr(cloud: LabCloud) -> str:
    ipam = json.loads(ok(cloud.dcops("ipam", "show", "-o", "json")))
    [cidr] = [a["cidr"] for a in ipam["allocations"] if a["tenancy"] == NAME]
    return str(cidr)


def rules_of(conn: Any, group: Any, names: dict[str, str]) -> set[tuple[Any, ...]]:
    """A security group's rules as (direction, ethertype, protocol, min, max, remote, described)."""
    return {
        (
            r.direction,
            r.ether_type,
            r.protocol,
            r.port_range_min,
            r.port_range_max,
            r.remote_ip_prefix or names.get(r.remote_group_id, r.remote_group_id),
            bool(r.description),
        )
        for r in conn.network.security_group_rules(security_group_id=group.id)
    }


def test_provision_reports_and_records_the_update(provisioned: tuple[LabCloud, str]) -> None:
    cloud, out = provisioned
    assert f"provision: {NAME} updated — create 45" in out
    assert "tenancy request #1 is now provisioned" in out
    [event] = json.loads(ok(cloud.dcops("audit", "log", "--action", "provision", "-o", "json")))[
        -1:
    ]
    assert event["object"] == f"tenancy/{NAME}" and event["status"] == "success"
    assert event["details"]["summary"] == {"create": 45}
    assert f"create openstack:identity/project:Project {NAME}\n" in event["diff"]
    assert "refresh " not in event["diff"]
    shown = json.loads(ok(cloud.dcops("tenancy", "show", NAME, "-o", "json")))
    assert [h["to"] for h in shown["history"]] == ["submitted", "approved", "provisioned"]


def test_provision_shows_the_stack_outputs_as_the_cloud_has_them(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, out = provisioned
    shown = shown_outputs(out, NAME)
    conn = cloud.connect()
    project = project_of(conn, NAME)
    [network] = list(conn.network.networks(project_id=project.id))
    servers = list(conn.compute.servers(all_projects=True, project_id=project.id))
    [lb] = list(conn.load_balancer.load_balancers(project_id=project.id))
    [vpn] = list(conn.network.vpn_services(project_id=project.id))
    expected = {
        "project_id": project.id,
        "networks.app.cidr": allocated_cidr(cloud),
        "networks.app.id": network.id,
        "load_balancers.web.vip": lb.vip_address,
        "vpns.hq.local_endpoint": vpn.external_v4_ip,
        "vpns.hq.peer": "203.0.113.40",
        "vpns.hq.peer_cidrs": "192.168.40.0/24",
    }
    for server in servers:
        [address] = [a["addr"] for nets in server.addresses.values() for a in nets]
        expected[f"servers.{server.name.removeprefix(f'{NAME}-vm-')}.address"] = address
    assert shown == expected
    [event] = json.loads(ok(cloud.dcops("audit", "log", "--action", "provision", "-o", "json")))[
        -1:
    ]
    assert event["details"]["outputs"]["project_id"] == project.id


def test_the_project_has_its_tags_quotas_networks_and_router(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    assert {"department:fgw", f"tenancy:{NAME}", "managed-by:dcops"} <= set(project.tags)
    compute = conn.get_compute_quotas(project.id)
    assert (compute.instances, compute.cores, compute.ram) == (3, 8, 24576)
    network_quota = conn.network.get_quota(project.id)
    assert (network_quota.networks, network_quota.routers, network_quota.security_groups) == (
        1,
        1,
        3,
    )
    [network] = list(conn.network.networks(project_id=project.id))
    assert network.name == f"{NAME}-net-app"
    [subnet] = list(conn.network.subnets(project_id=project.id))
    assert subnet.network_id == network.id and subnet.cidr == allocated_cidr(cloud)
    assert subnet.dns_nameservers == ["10.10.0.53", "10.10.0.54"]
    [router] = list(conn.network.routers(project_id=project.id))
    external = conn.network.find_network("public-gov")
    assert router.external_gateway_info["network_id"] == external.id
    interfaces = list(
        conn.network.ports(device_id=router.id, device_owner="network:router_interface")
    )
    assert [p.fixed_ips[0]["subnet_id"] for p in interfaces] == [subnet.id]


def test_security_groups_hold_exactly_the_declared_rules(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    groups = {g.name: g for g in conn.network.security_groups(project_id=project.id)}
    assert set(groups) == {f"{NAME}-sg-web", f"{NAME}-sg-db", "default"}
    names = {g.id: name for name, g in groups.items()}
    web, db = groups[f"{NAME}-sg-web"], groups[f"{NAME}-sg-db"]
    # No default egress-all pair (IPv4 and IPv6): only the one described IPv4 egress rule.
    assert rules_of(conn, web, names) == {
        EGRESS,
        ("ingress", "IPv4", "tcp", 443, 443, "0.0.0.0/0", True),
        ("ingress", "IPv4", "tcp", 22, 22, "10.10.0.0/16", True),
    }
    assert rules_of(conn, db, names) == {
        EGRESS,
        ("ingress", "IPv4", "tcp", 5432, 5432, f"{NAME}-sg-web", True),
    }


def test_servers_are_active_with_their_flavor_image_network_and_group(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    servers = {s.name: s for s in conn.compute.servers(all_projects=True, project_id=project.id)}
    assert set(servers) == {f"{NAME}-vm-web-1", f"{NAME}-vm-web-2", f"{NAME}-vm-db-1"}
    image = conn.image.find_image("kylin-v10-sp3")
    subnet = next(iter(conn.network.subnets(project_id=project.id)))
    for name, server in servers.items():
        assert server.status == "ACTIVE", name
        assert server.flavor["original_name"] == ("c4.m16" if "-db-" in name else "c2.m4")
        assert server.image["id"] == image.id
        assert list(server.addresses) == [f"{NAME}-net-app"]
        [port] = list(conn.network.ports(device_id=server.id))
        assert port.fixed_ips[0]["subnet_id"] == subnet.id
        assert server.metadata == {"department": "fgw", "tenancy": NAME}
    groups = {
        g.name: g
        for g in conn.compute.server_groups(all_projects=True)
        if g.project_id == project.id
    }
    web = groups[f"{NAME}-vm-web-group"]
    assert web.policy == "anti-affinity"
    assert set(web.member_ids) == {servers[f"{NAME}-vm-web-{i}"].id for i in (1, 2)}
    hosts = {servers[f"{NAME}-vm-web-{i}"].compute_host for i in (1, 2)}
    assert len(hosts) == 2, "anti-affinity puts the two web servers on different hosts"


def test_the_load_balancer_is_active_with_listener_pool_members_and_monitor(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    [lb] = list(conn.load_balancer.load_balancers(project_id=project.id))
    assert lb.name == f"{NAME}-lb-web" and lb.provisioning_status == "ACTIVE"
    [listener] = list(conn.load_balancer.listeners(loadbalancer_id=lb.id))
    assert (listener.protocol, listener.protocol_port) == ("TCP", 443)
    [pool] = list(conn.load_balancer.pools(loadbalancer_id=lb.id))
    assert (pool.protocol, pool.lb_algorithm, pool.provisioning_status) == (
        "TCP",
        "ROUND_ROBIN",
        "ACTIVE",
    )
    web = {
        s.access_ipv4 or next(iter(s.addresses.values()))[0]["addr"]
        for s in conn.compute.servers(all_projects=True, project_id=project.id)
        if "-web-" in s.name
    }
    members = list(conn.load_balancer.members(pool))
    assert {m.address for m in members} == web
    assert {(m.protocol_port, m.provisioning_status) for m in members} == {(443, "ACTIVE")}
    monitor = conn.load_balancer.get_health_monitor(pool.health_monitor_id)
    assert (monitor.type, monitor.delay, monitor.provisioning_status) == ("TCP", 5, "ACTIVE")


def test_the_vpn_objects_exist_with_the_declared_crypto(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    [ike] = list(conn.network.vpn_ike_policies(project_id=project.id))
    assert (ike.encryption_algorithm, ike.auth_algorithm, ike.pfs, ike.ike_version) == (
        "aes-256",
        "sha256",
        "group14",
        "v2",
    )
    [ipsec] = list(conn.network.vpn_ipsec_policies(project_id=project.id))
    assert (ipsec.encryption_algorithm, ipsec.auth_algorithm, ipsec.pfs) == (
        "aes-256",
        "sha256",
        "group14",
    )
    [router] = list(conn.network.routers(project_id=project.id))
    [service] = list(conn.network.vpn_services(project_id=project.id))
    assert service.router_id == router.id
    groups = {g.type: g for g in conn.network.vpn_endpoint_groups(project_id=project.id)}
    assert groups["cidr"].endpoints == ["192.168.40.0/24"]
    [site] = list(conn.network.vpn_ipsec_site_connections(project_id=project.id))
    assert site.peer_address == "203.0.113.40"
    assert (site.ikepolicy_id, site.ipsecpolicy_id) == (ike.id, ipsec.id)
    # No VPN agent in the lab: the connection stays PENDING_CREATE; what exists is asserted.
    assert site.status in ("PENDING_CREATE", "DOWN", "ACTIVE")


def test_a_second_provision_changes_nothing(provisioned: tuple[LabCloud, str]) -> None:
    cloud, _ = provisioned
    out = ok(cloud.dcops("provision", NAME, "--yes", timeout=ENGINE_TIMEOUT))
    assert f"preview of {NAME}: same 45" in out
    assert "updated" not in out


def test_refresh_right_after_up_reports_no_changes(provisioned: tuple[LabCloud, str]) -> None:
    cloud, _ = provisioned
    out = ok(cloud.dcops("refresh", NAME, timeout=ENGINE_TIMEOUT))
    assert f"refresh: {NAME} — same 45\n" in out
    assert "not declared" not in out


def test_the_offline_plan_lists_what_the_engine_created(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    plan = ok(cloud.dcops("plan", NAME, "-o", "json"))
    planned, created = planned_and_created(cloud.site, plan, NAME, ("openstack",))
    assert len(created) == 44
    assert planned == created


def web_rule(conn: Any, port: int) -> tuple[Any, Any]:
    """The tenancy's web security group and its one rule for this port."""
    web = conn.network.find_security_group(f"{NAME}-sg-web", project_id=project_of(conn, NAME).id)
    [rule] = [
        r
        for r in conn.network.security_group_rules(security_group_id=web.id)
        if r.port_range_min == port
    ]
    return web, rule


def test_out_of_band_rules_show_as_drift_and_provision_puts_them_back(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    web, https = web_rule(conn, 443)
    conn.network.delete_security_group_rule(https)
    extra = conn.network.create_security_group_rule(
        security_group_id=web.id,
        direction="ingress",
        ether_type="IPv4",
        protocol="tcp",
        port_range_min=3389,
        port_range_max=3389,
        remote_ip_prefix="0.0.0.0/0",
    )
    refresh = ok(cloud.dcops("refresh", NAME, timeout=ENGINE_TIMEOUT))
    assert (
        f"refresh: {NAME} — delete 1, same 44; drift: 1 rule(s) made outside the stack" in refresh
    )
    assert f"not declared: rule {extra.id} in security group {NAME}-sg-web" in refresh
    assert "ingress IPv4 tcp 3389 from 0.0.0.0/0" in refresh
    out = ok(cloud.dcops("provision", NAME, "--yes", timeout=ENGINE_TIMEOUT))
    assert f"provision: {NAME} updated — create 1, same 44" in out
    assert f"removed ingress IPv4 tcp 3389 from 0.0.0.0/0 ({extra.id})" in out
    rules = {
        (r.protocol, r.port_range_min, r.remote_ip_prefix)
        for r in conn.network.security_group_rules(security_group_id=web.id)
        if r.direction == "ingress"
    }
    assert rules == {("tcp", 443, "0.0.0.0/0"), ("tcp", 22, "10.10.0.0/16")}


def drift_of(cloud: LabCloud) -> tuple[int, list[dict[str, Any]]]:
    """`dcops cloud drift` of the tenancy: its exit code and findings."""
    done = cloud.dcops("cloud", "drift", NAME, "--output", "json")
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return done.returncode, json.loads(done.stdout)["findings"]


def test_cloud_drift_sees_a_rule_changed_out_of_band_against_the_applied_state(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    assert drift_of(cloud) == (0, [])  # request, the stack's checkpoint and cloud agree
    conn = cloud.connect()
    web, ssh = web_rule(conn, 22)
    # Neutron cannot edit a rule: Horizon and the CLI delete it and make another.
    conn.network.delete_security_group_rule(ssh)
    wider = conn.network.create_security_group_rule(
        security_group_id=web.id,
        direction="ingress",
        ether_type="IPv4",
        protocol="tcp",
        port_range_min=2222,
        port_range_max=2222,
        remote_ip_prefix="10.0.0.0/8",
        description="ops bastion",
    )
    try:
        code, findings = drift_of(cloud)
        assert code == 1
        assert [(f["rule"], f["kind"], f["id"]) for f in findings] == [
            ("drift-changed", "security_group_rule", wider.id)
        ]
        message = findings[0]["message"]
        assert "differs from the stack's applied state" in message
        assert "ports 22 → 2222, remote 10.10.0.0/16 → 10.0.0.0/8" in message
        assert f"rule {ssh.id} replaced by {wider.id}" in message
        journal = cloud.site / ".dcops" / "audit" / "journal.jsonl"
        events = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
        [event] = [
            e
            for e in events
            if e["action"] == "cloud.drift.finding" and e["object"]["id"] == wider.id
        ]
        assert event["phase"] == "record" and event["parameters"]["rule"] == "drift-changed"
        assert event["actor"]["user"] == "zhangwei"
        table = cloud.dcops("cloud", "drift", NAME)
        assert table.returncode == 1
        assert f"[medium] drift-changed — openstack {NAME}" in table.stdout
    finally:  # provision puts the declared rule back and removes the other
        ok(cloud.dcops("provision", NAME, "--yes", timeout=ENGINE_TIMEOUT))
    assert drift_of(cloud) == (0, [])


def test_a_policy_violation_stops_before_the_engine_touches_the_cloud(cloud: LabCloud) -> None:
    done = cloud.dcops("provision", "inventory/requests/wjw-production.yml", "--yes")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "policy violations, the cloud was not touched" in done.stderr
    assert "administrative port(s) [22] open to the world" in done.stderr
    assert cloud.connect().identity.find_project("wjw-production") is None
    state = cloud.site / ".dcops" / "pulumi" / "state" / ".pulumi" / "stacks" / "dcops"
    assert not (state / "wjw-production.json").exists()


class Background:
    """dcops running in the background, its output in a file beside the site."""

    def __init__(self, cloud: LabCloud, *args: str) -> None:
        self.log = cloud.site / f"background-{time.monotonic_ns()}.log"
        with self.log.open("w") as out:
            self.process = subprocess.Popen(
                [str(DCOPS), *args],
                cwd=cloud.site,
                env=cloud.env,
                text=True,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def output(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def updating(self, stack: str) -> bool:
        """Whether the preview is over and the update has started a step."""
        _, _, after = self.output.partition(f"preview of {stack}:")
        return "\n+ " in after or "\n~ " in after

    def wait(self, timeout: float = ENGINE_TIMEOUT) -> int:
        return self.process.wait(timeout=timeout)


def keystone(cloud: LabCloud, running: bool) -> None:
    """Stop the lab's Keystone, or start it again with the lab's own command line."""
    from dcops.lab.cloud import processes
    from dcops.lab.cloud.layout import CloudLayout
    from dcops.lab.cloud.services import services

    layout = CloudLayout(cloud.site / ".dcops" / "lab-cloud", int(PORT_BASE))
    if not running:
        processes.stop(int(layout.pid("keystone").read_text(encoding="ascii")))
        return
    [service] = [s for s in services(layout) if s.name == "keystone"]
    processes.launch(
        service.argv,
        root=layout.root,
        log=layout.log("keystone"),
        pid_file=layout.pid("keystone"),
        env=service.env,
    )
    wait_for(
        "Keystone answering again",
        lambda: [r for r in cloud.status() if r["name"] == "keystone" and r["healthy"]],
        timeout=300,
        every=1,
    )


def locks(cloud: LabCloud, stack: str) -> list[Path]:
    """The stack's lock files in the file backend (under <org>/dcops/<stack>/)."""
    folder = cloud.site / ".dcops" / "pulumi" / "state" / ".pulumi" / "locks"
    assert folder.is_dir(), f"no locks folder at {folder}: the engine keeps its locks elsewhere"
    return sorted(folder.glob(f"*/dcops/{stack}/*.json"))


def test_keystone_down_during_up_is_named_and_the_next_up_completes(cloud: LabCloud) -> None:
    up = Background(cloud, "provision", f"inventory/requests/{FAULTS}.yml", "--yes")
    wait_for("the update to start", lambda: up.updating(FAULTS), ENGINE_TIMEOUT, every=1)
    keystone(cloud, running=False)
    try:
        assert up.wait() == 1, up.output
    finally:
        keystone(cloud, running=True)
    auth_url = f"http://127.0.0.1:{PORT_BASE}/v3"
    assert f"Keystone at {auth_url} (clouds.yaml entry 'dcops-lab') does not answer" in up.output
    assert "run the same command again once Keystone answers" in up.output
    assert locks(cloud, FAULTS) == []
    # The stack is consistent: what was made is in its state, so the next run adds the rest.
    refreshed = ok(
        cloud.dcops("refresh", f"inventory/requests/{FAULTS}.yml", timeout=ENGINE_TIMEOUT)
    )
    assert "delete" not in refreshed.split("—", 1)[1].splitlines()[0]
    done = ok(
        cloud.dcops(
            "provision", f"inventory/requests/{FAULTS}.yml", "--yes", timeout=ENGINE_TIMEOUT
        )
    )
    assert f"provision: {FAULTS} updated — create " in done
    conn = cloud.connect()
    [server] = list(conn.compute.servers(all_projects=True, project_id=project_of(conn, FAULTS).id))
    assert server.status == "ACTIVE"


def test_a_second_run_is_refused_naming_the_holder_and_ctrl_c_unlocks(cloud: LabCloud) -> None:
    conn = cloud.connect()
    project = project_of(conn, FAULTS)
    # Something for the runs to do that takes a while: the server, deleted out of band.
    [server] = list(conn.compute.servers(all_projects=True, project_id=project.id))
    conn.compute.delete_server(server)
    conn.compute.wait_for_delete(server, wait=600)
    # Two runs at once: their previews overlap; the first to start its update holds the lock.
    runs = [
        Background(cloud, "provision", f"inventory/requests/{FAULTS}.yml", "--yes")
        for _ in range(2)
    ]
    refused = wait_for(
        "one run to end",
        lambda: [r for r in runs if r.process.poll() is not None],
        timeout=ENGINE_TIMEOUT,
        every=1,
    )[0]
    [holder] = [r for r in runs if r is not refused]
    assert refused.process.returncode == 1, refused.output
    assert f"stack {FAULTS} is locked by" in refused.output and "(pid " in refused.output
    assert holder.process.poll() is None, "the holder ended at once: " + holder.output
    holder.process.send_signal(signal.SIGINT)  # Ctrl-C while it recreates the server
    assert holder.wait() == 130, holder.output
    assert "cancelled: the engine stopped after finishing the steps in flight" in holder.output
    assert locks(cloud, FAULTS) == []
    resumed = ok(
        cloud.dcops(
            "provision", f"inventory/requests/{FAULTS}.yml", "--yes", timeout=ENGINE_TIMEOUT
        )
    )
    # Unlocked: the next run goes through, adding what the cancelled one had not made (if the
    # steps in flight when Ctrl-C came were the last ones, there is nothing left to add).
    assert f"preview of {FAULTS}:" in resumed
    [server] = list(conn.compute.servers(all_projects=True, project_id=project.id))
    assert server.status == "ACTIVE"
    again = ok(
        cloud.dcops(
            "provision", f"inventory/requests/{FAULTS}.yml", "--yes", timeout=ENGINE_TIMEOUT
        )
    )
    assert "updated" not in again


def test_destroy_of_the_faults_stack_leaves_nothing(cloud: LabCloud) -> None:
    conn = cloud.connect()
    project = project_of(conn, FAULTS)
    out = ok(
        cloud.dcops("destroy", f"inventory/requests/{FAULTS}.yml", "--yes", timeout=ENGINE_TIMEOUT)
    )
    assert f"removed security group default left in project {project.id}" in out
    assert leftovers(conn, FAULTS, project.id) == []


def test_offboarding_destroys_everything_and_releases_the_addresses(
    provisioned: tuple[LabCloud, str],
) -> None:
    cloud, _ = provisioned
    conn = cloud.connect()
    project = project_of(conn, NAME)
    cidr = allocated_cidr(cloud)
    # Someone deleted the VPN connection by hand first: Neutron answers its delete with 404,
    # which the provider takes for a failure, so destroy must see it gone before deleting.
    [site] = list(conn.network.vpn_ipsec_site_connections(project_id=project.id))
    conn.network.delete_vpn_ipsec_site_connection(site)
    assert "provisioned → offboarding" in ok(cloud.dcops("tenancy", "offboard", NAME, "--yes"))
    out = ok(cloud.dcops("destroy", NAME, "--yes", timeout=ENGINE_TIMEOUT))
    assert f"destroy: {NAME} — delete 44" in out
    # Neutron's default group is not the stack's: dcops removes it after the engine.
    assert f"removed security group default left in project {project.id}" in out
    assert f"tenancy {NAME} is offboarded; its addresses are released" in out
    ipam = json.loads(ok(cloud.dcops("ipam", "show", "-o", "json")))
    assert [a for a in ipam["allocations"] if a["tenancy"] == NAME] == []
    assert cidr not in {a["cidr"] for a in ipam["allocations"]}
    assert leftovers(conn, NAME, project.id) == []
