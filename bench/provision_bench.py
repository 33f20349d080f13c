"""The lab cloud and `dcops provision` against it, each beside its floor in the same run.

1. `dcops lab cloud up` from the installed Debian packages with fresh databases (its time and
   the memory of every process it started), then a second `up` (already up).
2. The floor: one tenancy's OpenStack resources made directly with openstacksdk — project and
   admin role in it, quotas, network, subnet, router and interface, two security groups with
   their rules (default rules deleted), two anti-affinity server groups, three servers on the
   fake driver, a load balancer with listener, pool, two members and a health monitor, and the
   VPN objects — then deleted again.
3. `dcops provision` of the same tenancy (tests/integration/test_provision_live.py's
   fgw-staging, from a request file): preview + up, then `dcops destroy`.
4. Ten such tenancies (five departments × two environments) provisioned at once: wall time
   and the peak memory of all dcops, pulumi and plugin processes together.

Targets (issue 14): provision within 2× the floor; ten at once under 3× one. Needs root, the
lab cloud's packages (scripts/install-lab-cloud.sh) and the engine (scripts/install-engine.sh).
Runs in a private copy of the example site on ports from $DCOPS_LAB_CLOUD_PORT_BASE (default
25000); writes docs/performance.md, section provision. `--one` leaves out the ten at once.
"""

from __future__ import annotations

import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.record import record
from tests.conftest import DCOPS, copy_site, dcops_env

PORT_BASE = os.environ.get("DCOPS_LAB_CLOUD_PORT_BASE") or "25000"
TIMEOUT = 3600.0
REQUEST = """\
department: {{code: {code}, name: {name}}}
contacts:
  - {{name: 王磊, email: bench@{code}.example.gov.cn}}
purpose: 基准测试 (provision benchmark)
environment: {environment}
classification: level-2
expires: 2027-06-30
compute:
  - {{name: web, flavor: c2.m4, image: kylin-v10-sp3, count: 2}}
  - {{name: db, flavor: c4.m16, image: kylin-v10-sp3, count: 1}}
networks:
  - {{name: app, size: 26}}
ingress:
  - {{to: web, port: 443, from: 0.0.0.0/0, description: public HTTPS}}
  - {{to: db, port: 5432, from: web, description: application to database}}
  - {{to: web, port: 22, from: 10.10.0.0/16, description: ops bastion}}
load_balancers:
  - {{name: web, port: 443, protocol: TCP, members: web, health: {{type: TCP, interval: 5}}}}
vpn:
  - {{name: hq, peer_address: 203.0.113.40, peer_cidrs: [192.168.40.0/24], psk_secret: bench-psk}}
"""
DEPARTMENTS = ("fgw", "gaj", "wjw", "rsj", "zwfw")
ENVIRONMENTS = ("staging", "production")


def env() -> dict[str, str]:
    return dcops_env("zhangwei", {"DCOPS_LAB_CLOUD_PORT_BASE": PORT_BASE})


def run(site: Path, *args: str, timeout: float = TIMEOUT) -> subprocess.CompletedProcess[str]:
    extra = {
        "OS_CLIENT_CONFIG_FILE": str(site / ".dcops" / "lab-cloud" / "clouds.yaml"),
        "OS_CLOUD": "dcops-lab",
    }
    done = subprocess.run(
        [str(DCOPS), *args],
        cwd=site,
        env={**env(), **extra},
        text=True,
        capture_output=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise SystemExit(f"dcops {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done


def connect(site: Path) -> Any:
    import openstack

    clouds = site / ".dcops" / "lab-cloud" / "clouds.yaml"
    config = openstack.config.OpenStackConfig(config_files=[str(clouds)])
    return openstack.connection.Connection(config=config.get_one("dcops-lab"))


def wait(what: str, check: Any, timeout: float = 900) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise SystemExit(f"{what} did not happen within {timeout:.0f} s")


def floor_up(conn: Any, code: str = "fgw", cidr: str = "10.21.200.0/26") -> dict[str, Any]:
    """The tenancy's OpenStack resources, made directly with openstacksdk."""
    project = conn.identity.create_project(
        name=f"floor-{code}", domain_id="default", tags=[f"department:{code}"]
    )
    conn.identity.assign_project_role_to_user(
        project, conn.identity.find_user("admin"), conn.identity.find_role("admin")
    )
    conn.set_compute_quotas(project.id, instances=3, cores=8, ram=24576)
    conn.network.update_quota(project.id, networks=1, subnets=1, routers=1, ports=11)
    conn.load_balancer.update_quota(project.id, load_balancer=1, listener=1, pool=1, member=2)
    # A plain string would be taken as the project's name: give its id and domain.
    scoped = conn.connect_as_project(
        {"id": project.id, "name": project.name, "domain_id": "default"}
    )
    network = scoped.network.create_network(name="floor-app")
    subnet = scoped.network.create_subnet(
        network_id=network.id,
        cidr=cidr,
        ip_version=4,
        dns_nameservers=["10.10.0.53", "10.10.0.54"],
    )
    external = conn.network.find_network("public-gov")
    router = scoped.network.create_router(
        name="floor-router", external_gateway_info={"network_id": external.id}
    )
    scoped.network.add_interface_to_router(router, subnet_id=subnet.id)
    groups = {}
    for service in ("web", "db"):
        group = scoped.network.create_security_group(name=f"floor-{service}")
        for rule in scoped.network.security_group_rules(security_group_id=group.id):
            scoped.network.delete_security_group_rule(rule)
        scoped.network.create_security_group_rule(
            security_group_id=group.id,
            direction="egress",
            ether_type="IPv4",
            remote_ip_prefix="0.0.0.0/0",
        )
        groups[service] = group
    for port, source in ((443, "0.0.0.0/0"), (22, "10.10.0.0/16")):
        scoped.network.create_security_group_rule(
            security_group_id=groups["web"].id,
            direction="ingress",
            ether_type="IPv4",
            protocol="tcp",
            port_range_min=port,
            port_range_max=port,
            remote_ip_prefix=source,
        )
    scoped.network.create_security_group_rule(
        security_group_id=groups["db"].id,
        direction="ingress",
        ether_type="IPv4",
        protocol="tcp",
        port_range_min=5432,
        port_range_max=5432,
        remote_group_id=groups["web"].id,
    )
    server_groups = {
        service: scoped.compute.create_server_group(
            name=f"floor-{service}-group", policy="anti-affinity"
        )
        for service in ("web", "db")
    }
    image = conn.image.find_image("kylin-v10-sp3")
    servers = []
    for name, flavor in (("web-1", "c2.m4"), ("web-2", "c2.m4"), ("db-1", "c4.m16")):
        service = name.split("-")[0]
        servers.append(
            scoped.compute.create_server(
                name=f"floor-{name}",
                flavor_id=conn.compute.find_flavor(flavor).id,
                image_id=image.id,
                networks=[{"uuid": network.id}],
                security_groups=[{"name": groups[service].name}],
                scheduler_hints={"group": server_groups[service].id},
            )
        )
    servers = [scoped.compute.wait_for_server(s, wait=900) for s in servers]
    lb = scoped.load_balancer.create_load_balancer(name="floor-lb", vip_subnet_id=subnet.id)

    def active() -> bool:
        return bool(scoped.load_balancer.get_load_balancer(lb.id).provisioning_status == "ACTIVE")

    wait("the load balancer", active)
    listener = scoped.load_balancer.create_listener(
        name="floor-listener", loadbalancer_id=lb.id, protocol="TCP", protocol_port=443
    )
    wait("the listener", active)
    pool = scoped.load_balancer.create_pool(
        name="floor-pool", listener_id=listener.id, protocol="TCP", lb_algorithm="ROUND_ROBIN"
    )
    wait("the pool", active)
    for server in servers[:2]:
        address = next(iter(server.addresses.values()))[0]["addr"]
        scoped.load_balancer.create_member(
            pool, address=address, protocol_port=443, subnet_id=subnet.id
        )
        wait("a member", active)
    scoped.load_balancer.create_health_monitor(
        pool_id=pool.id, type="TCP", delay=5, timeout=3, max_retries=3
    )
    wait("the health monitor", active)
    crypto = {"encryption_algorithm": "aes-256", "auth_algorithm": "sha256", "pfs": "group14"}
    ike = scoped.network.create_vpn_ike_policy(name="floor-ike", ike_version="v2", **crypto)
    ipsec = scoped.network.create_vpn_ipsec_policy(name="floor-ipsec", **crypto)
    vpn = scoped.network.create_vpn_service(router_id=router.id, name="floor-vpn")
    local = scoped.network.create_vpn_endpoint_group(type="subnet", endpoints=[subnet.id])
    peer = scoped.network.create_vpn_endpoint_group(type="cidr", endpoints=["192.168.40.0/24"])
    scoped.network.create_vpn_ipsec_site_connection(
        name="floor-hq",
        vpnservice_id=vpn.id,
        ikepolicy_id=ike.id,
        ipsecpolicy_id=ipsec.id,
        peer_address="203.0.113.40",
        peer_id="203.0.113.40",
        psk="floor-bench-psk",
        local_ep_group_id=local.id,
        peer_ep_group_id=peer.id,
    )
    return {
        "project": project,
        "scoped": scoped,
        "lb": lb,
        "servers": servers,
        "server_groups": server_groups,
        "router": router,
        "subnet": subnet,
        "network": network,
        "groups": groups,
        "vpn": (vpn, ike, ipsec, local, peer),
    }


def floor_down(conn: Any, made: dict[str, Any]) -> None:
    """Delete what floor_up made, in dependency order."""
    scoped = made["scoped"]
    project_id = made["project"].id
    for connection in scoped.network.vpn_ipsec_site_connections(project_id=project_id):
        scoped.network.delete_vpn_ipsec_site_connection(connection)
    vpn, ike, ipsec, local, peer = made["vpn"]
    scoped.network.delete_vpn_service(vpn)
    for group in (local, peer):
        scoped.network.delete_vpn_endpoint_group(group)
    scoped.network.delete_vpn_ike_policy(ike)
    scoped.network.delete_vpn_ipsec_policy(ipsec)
    scoped.load_balancer.delete_load_balancer(made["lb"], cascade=True)
    for server in made["servers"]:
        scoped.compute.delete_server(server)
    for server in made["servers"]:
        scoped.compute.wait_for_delete(server, wait=900)
    for group in made["server_groups"].values():
        scoped.compute.delete_server_group(group)
    wait(
        "the load balancer's deletion",
        lambda: scoped.load_balancer.find_load_balancer(made["lb"].id) is None,
    )
    scoped.network.remove_interface_from_router(made["router"], subnet_id=made["subnet"].id)
    scoped.network.delete_router(made["router"])
    scoped.network.delete_network(made["network"])
    for group in conn.network.security_groups(project_id=made["project"].id):
        conn.network.delete_security_group(group)  # ours and Neutron's "default"
    conn.identity.delete_project(made["project"])


def write_request(site: Path, code: str, environment: str) -> str:
    name = f"{code}-{environment}"
    path = site / "inventory" / "requests" / f"{name}.yml"
    import tomllib

    with (site / "dcops.toml").open("rb") as toml:
        names = {d["code"]: d["name"] for d in tomllib.load(toml)["departments"]}
    text = REQUEST.format(code=code, name=names[code], environment=environment)
    path.write_text(text, encoding="utf-8")
    return name


class PeakMemory:
    """Samples the summed RSS of every dcops, pulumi and plugin process, every half second."""

    PROGRAMS = re.compile(r"(dcops|pulumi|pulumi-resource-openstack)$")

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for proc in Path("/proc").glob("[0-9]*"):
                try:
                    argv = (proc / "cmdline").read_bytes().split(b"\0")
                    status = (proc / "status").read_text()
                except OSError:
                    continue
                names = [Path(a.decode(errors="replace")).name for a in argv[:2] if a]
                if not any(self.PROGRAMS.match(n) for n in names):
                    continue
                rss = re.search(r"VmRSS:\s+(\d+) kB", status)
                total += int(rss.group(1)) * 1024 if rss else 0
            self.peak = max(self.peak, total)


class CpuSeconds:
    """CPU seconds spent, while in the block, by this bench's children and by the lab cloud.

    The children (dcops, the pulumi CLI, the plugins) are counted once they have exited and
    been waited for; the lab's processes are counted by reading their times before and after.
    """

    def __init__(self, site: Path) -> None:
        self._lab_dir = str(site / ".dcops" / "lab-cloud")
        self.client = self.lab = 0.0

    def __enter__(self) -> CpuSeconds:
        self._start = (self._children(), time.process_time(), self._lab())
        return self

    def __exit__(self, *exc: object) -> None:
        children, own, lab = self._start
        self.client = self._children() - children + time.process_time() - own
        self.lab = self._lab() - lab

    @staticmethod
    def _children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    def _lab(self) -> float:
        """User and system seconds of every process whose command line names the lab's dir."""
        total = 0.0
        for proc in Path("/proc").glob("[0-9]*"):
            try:
                if self._lab_dir not in (proc / "cmdline").read_bytes().decode(errors="replace"):
                    continue
                fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        return total

    def split(self) -> str:
        """'N s: dcops, engine and plugins M s, lab cloud L s'."""
        return (
            f"{self.client + self.lab:.0f} s: dcops, engine and plugins {self.client:.0f} s, "
            f"lab cloud {self.lab:.0f} s"
        )


def timed(site: Path, *args: str) -> float:
    started = time.monotonic()
    run(site, *args)
    return time.monotonic() - started


def floor_ten_at_once(site: Path, single: float) -> list[tuple[str, str]]:
    """The floor's tenancy ten times at once, one thread and connection each, then deleted."""
    codes = [f"{c}-{e[0]}" for c in DEPARTMENTS for e in ENVIRONMENTS]
    made: dict[str, dict[str, Any]] = {}
    failed: list[str] = []

    def one(index: int, code: str) -> None:
        try:
            made[code] = floor_up(connect(site), code, f"10.21.{210 + index}.0/26")
        except Exception as exc:  # reported below; the others go on
            failed.append(f"{code}: {exc}")

    threads = [threading.Thread(target=one, args=pair) for pair in enumerate(codes)]
    with CpuSeconds(site) as cpu:
        started = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(TIMEOUT)
        wall = time.monotonic() - started
    conn = connect(site)
    for tenancy in made.values():
        floor_down(conn, tenancy)
    if failed:
        raise SystemExit(f"{len(failed)} of 10 floor tenancies failed; first: {failed[0]}")
    return [
        (
            "floor: ten such tenancies at once with openstacksdk: wall",
            f"{wall:.1f} s ({wall / single:.1f}× one)",
        ),
        ("floor, ten at once: CPU seconds", cpu.split()),
    ]


def ten_at_once(site: Path, single: float) -> list[tuple[str, str]]:
    """Ten tenancies provisioned at once (wall, peak memory), then destroyed."""
    rows: list[tuple[str, str]] = []
    names = [write_request(site, c, e) for c in DEPARTMENTS for e in ENVIRONMENTS]
    with PeakMemory() as memory, CpuSeconds(site) as cpu:
        started = time.monotonic()
        processes = [
            subprocess.Popen(
                [str(DCOPS), "provision", f"inventory/requests/{n}.yml", "--yes"],
                cwd=site,
                env={
                    **env(),
                    "OS_CLIENT_CONFIG_FILE": str(site / ".dcops" / "lab-cloud" / "clouds.yaml"),
                    "OS_CLOUD": "dcops-lab",
                },
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in names
        ]
        errors = [p.communicate(timeout=TIMEOUT)[1] for p in processes]
        wall = time.monotonic() - started
    failed = [(n, err) for n, err, p in zip(names, errors, processes, strict=True) if p.returncode]
    if failed:
        raise SystemExit(f"{len(failed)} of 10 failed; first: {failed[0][0]}:\n{failed[0][1]}")
    rows.append(
        (
            "ten such tenancies provisioned at once: wall",
            f"{wall:.1f} s ({wall / single:.1f}× one)",
        )
    )
    rows.append(
        (
            "ten at once: peak memory of dcops, pulumi and the plugins",
            f"{memory.peak / 2**30:.2f} GiB",
        )
    )
    rows.append(("ten at once: CPU seconds", cpu.split()))
    for n in names:
        run(site, "destroy", f"inventory/requests/{n}.yml", "--yes")
    return rows


def main() -> None:
    if os.geteuid() != 0:
        raise SystemExit(
            "bench/provision_bench.py needs root (the lab cloud runs Debian's services)"
        )
    if not (DCOPS.parent / "pulumi").exists():
        raise SystemExit("bench/provision_bench.py needs the engine: run scripts/install-engine.sh")
    workdir = Path(tempfile.mkdtemp(prefix="dcops-cloud-bench-"))
    site = copy_site(workdir / "site")
    secrets = site / ".dcops" / "secrets"
    secrets.mkdir(mode=0o700, parents=True)
    (secrets / "bench-psk").write_text("cloud-bench-psk-0123456789")
    (secrets / "bench-psk").chmod(0o600)
    rows: list[tuple[str, str]] = []
    try:
        up = json.loads(run(site, "--output", "json", "lab", "cloud", "up").stdout)
        rows.append(
            ("`lab cloud up` from installed packages, fresh databases", f"{up['seconds']:.0f} s")
        )
        rows.append(
            ("memory of the whole lab after up (PSS)", f"{up['pss_bytes'] / 2**30:.2f} GiB")
        )
        rows.append(
            ("second `lab cloud up` (already up)", f"{timed(site, 'lab', 'cloud', 'up'):.1f} s")
        )
        rows.append(
            (
                "`dcops provision --platform` (5 flavors)",
                f"{timed(site, 'provision', '--platform', '--yes'):.1f} s",
            )
        )
        conn = connect(site)
        with CpuSeconds(site) as floor_cpu:
            started = time.monotonic()
            made = floor_up(conn)
            floor = time.monotonic() - started
        started = time.monotonic()
        floor_down(conn, made)
        floor_teardown = time.monotonic() - started
        rows.append(
            ("floor: the tenancy with openstacksdk (45 resources' worth)", f"{floor:.1f} s")
        )
        name = write_request(site, "fgw", "staging")
        with CpuSeconds(site) as single_cpu:
            single = timed(site, "provision", f"inventory/requests/{name}.yml", "--yes")
        rows.append(
            (
                "`dcops provision` of the same tenancy (preview + up)",
                f"{single:.1f} s ({single / floor:.1f}× the floor)",
            )
        )
        rows.append(("floor: CPU seconds", floor_cpu.split()))
        rows.append(("`dcops provision`: CPU seconds", single_cpu.split()))
        rows.append(("floor: its deletion with openstacksdk", f"{floor_teardown:.1f} s"))
        teardown = timed(site, "destroy", f"inventory/requests/{name}.yml", "--yes")
        rows.append(
            (
                "`dcops destroy` of it",
                f"{teardown:.1f} s ({teardown / floor_teardown:.1f}× the floor)",
            )
        )
        if "--one" in sys.argv[1:]:
            rows.append(("ten tenancies at once", "not measured in this run (`--one`)"))
        else:
            rows.extend(floor_ten_at_once(site, floor))
            rows.extend(ten_at_once(site, single))
    finally:
        subprocess.run(
            [str(DCOPS), "lab", "cloud", "down", "--yes"],
            cwd=site, env=env(), capture_output=True, timeout=600, check=False,
        )  # fmt: skip
        shutil.rmtree(workdir, ignore_errors=True)
    load = os.getloadavg()[0]
    body = "\n".join(
        [
            f"{os.cpu_count()} cores, load average {load:.1f} at the end; one run each "
            "(`.venv/bin/python bench/provision_bench.py`).",
            "",
            "| what | result |",
            "|---|---|",
            *(f"| {what} | {result} |" for what, result in rows),
        ]
    )
    record("provision", body)
    print(body)


if __name__ == "__main__":
    main()
