"""Inventory and scan of a lab cloud with N tenancies, against one straightforward SDK loop.

Needs a running lab cloud (`dcops lab cloud up` in the site given with --site). Seeds N projects
with Neutron objects only (network, subnet, router, two security groups with rules, a floating
IP: about 30 resources each; servers would take minutes each on a loaded machine), then times:

- dcops: `dcops.cloud.openstack_reading.read` (one paginated listing per kind, 4 in flight)
  plus the scan over what it read;
- floor: for each project, the obvious openstacksdk calls filtered by project.

Each is run three times; the best wall time and its API calls are recorded in
docs/performance.md (section cloud). The seeded projects are removed at the end.

    .venv/bin/python bench/cloud_bench.py --site PATH [--tenancies 50]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.record import record

PREFIX = "bench-"
RULES = 12


def seed(admin: Any, count: int) -> None:
    """N projects of Neutron objects, made as admin on behalf of each project."""
    external = admin.network.find_network("public-gov")
    for i in range(count):
        name = f"{PREFIX}{i:03d}"
        project = admin.identity.find_project(name) or admin.identity.create_project(
            name=name, domain_id="default"
        )
        pid = project.id
        network = admin.network.create_network(name=f"{name}-net", project_id=pid)
        subnet = admin.network.create_subnet(
            network_id=network.id, ip_version=4, cidr=f"10.99.{i}.0/24", project_id=pid
        )
        router = admin.network.create_router(
            name=f"{name}-router", project_id=pid, external_gateway_info={"network_id": external.id}
        )
        admin.network.add_interface_to_router(router, subnet_id=subnet.id)
        for g in range(2):
            group = admin.network.create_security_group(name=f"{name}-sg{g}", project_id=pid)
            for r in range(RULES // 2):
                admin.network.create_security_group_rule(
                    security_group_id=group.id,
                    direction="ingress",
                    ethertype="IPv4",
                    protocol="tcp",
                    port_range_min=8000 + r,
                    port_range_max=8000 + r,
                    remote_ip_prefix="10.10.0.0/16",
                    description="bench",
                    project_id=pid,
                )
        admin.network.create_ip(floating_network_id=external.id, project_id=pid)


def clear(admin: Any) -> None:
    """Remove every seeded project and what it holds."""
    for project in list(admin.identity.projects()):
        if not project.name.startswith(PREFIX):
            continue
        for ip in list(admin.network.ips(project_id=project.id)):
            admin.network.delete_ip(ip)
        for router in list(admin.network.routers(project_id=project.id)):
            for port in admin.network.ports(device_id=router.id):
                if port.device_owner == "network:router_interface":
                    admin.network.remove_interface_from_router(
                        router, subnet_id=port.fixed_ips[0]["subnet_id"]
                    )
            admin.network.delete_router(router)
        for network in list(admin.network.networks(project_id=project.id)):
            admin.network.delete_network(network)
        for group in list(admin.network.security_groups(project_id=project.id)):
            admin.network.delete_security_group(group)
        admin.identity.delete_project(project)


def floor(connection: Any) -> int:
    """The straightforward loop: for each project, each kind filtered by that project."""
    found = 0
    for project in connection.identity.projects():
        pid = project.id
        found += len(list(connection.compute.servers(all_projects=True, project_id=pid)))
        found += len(list(connection.network.networks(project_id=pid)))
        found += len(list(connection.network.routers(project_id=pid)))
        found += len(list(connection.network.ips(project_id=pid)))
        for group in connection.network.security_groups(project_id=pid):
            found += 1 + len(group.security_group_rules or [])
        found += len(list(connection.load_balancer.load_balancers(project_id=pid)))
        found += len(list(connection.network.vpn_ipsec_site_connections(project_id=pid)))
    return found


def timed(run: Any, connect: Any) -> tuple[float, int, int]:
    """Best of three: wall seconds, API calls and resources found."""
    best = (float("inf"), 0, 0)
    for _ in range(3):
        connection = connect()
        connection.identity.projects()  # authenticate outside the timing
        before = len(connection.session.get_timings())
        started = time.monotonic()
        found = run(connection)
        seconds = time.monotonic() - started
        calls = len(connection.session.get_timings()) - before
        best = min(best, (seconds, calls, found))
    return best


def main() -> None:
    """Seed, measure both ways, record, clear."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", required=True, type=Path)
    parser.add_argument("--tenancies", type=int, default=50)
    parser.add_argument("--keep", action="store_true", help="keep the seeded projects")
    args = parser.parse_args()

    from dcops.cloud import openstack_reading
    from dcops.cloud.inventory import Inventory, assemble
    from dcops.cloud.scan import scan
    from dcops.core.clusters import openstack_target
    from dcops.core.loader import load_site

    site = load_site(str(args.site))
    target = openstack_target(site)

    def connect() -> Any:
        return openstack_reading.connect(target)

    admin = connect()
    clear(admin)
    started = time.monotonic()
    seed(admin, args.tenancies)
    seeding = time.monotonic() - started

    def ours(connection: Any) -> int:
        reading = openstack_reading.read(connection)
        scopes = assemble([reading], [], target.platform_projects)
        scan(site, Inventory(scopes, reading.failures, [], {}, 0.0))
        return sum(len(s.resources) for s in scopes)

    try:
        mine = timed(ours, connect)
        base = timed(floor, connect)
    finally:
        if not args.keep:
            clear(admin)
    ratio = mine[0] / base[0]
    body = (
        f"{args.tenancies} projects seeded with Neutron objects in {seeding:.0f} s; "
        "best of three runs each, on the lab cloud.\n\n"
        "| read | wall time | API calls | resources found |\n|---|---|---|---|\n"
        f"| `dcops cloud` inventory + scan (one listing per kind, 4 in flight) | {mine[0]:.2f} s "
        f"| {mine[1]} | {mine[2]} |\n"
        f"| floor: one openstacksdk loop over projects | {base[0]:.2f} s | {base[1]} | {base[2]} |\n"
        f"\ndcops / floor wall time: {ratio:.2f}× (target: within 1.5× and under 30 s)."
    )
    record("cloud", body)
    print(body)


if __name__ == "__main__":
    main()
