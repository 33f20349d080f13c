"""Cloud reality made by hand, as in Horizon or with kubectl: what `dcops cloud` must find.

A tenancy's project and namespace as dcops would make them (tagged, fenced, described), then
the out-of-band changes the tests look for: a server without the department tag, an SSH rule
widened to the world without a description, a floating IP attached to nothing, a project and a
namespace that no tenancy owns, a quota edited above what was granted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEPARTMENT = "fgw"
TENANCY = "fgw-truth"
NAMESPACE = "fgw-truth"
SHADOW_PROJECT = "shadow-it"
SHADOW_NAMESPACE = "shadow-ns"
HOSTILE_PROJECT = "x<script>alert('p')</script>&\"q"
"""A project made by hand whose name is markup: reports must show it, never run it."""
HOSTILE_NETWORK = "<img src=x onerror=alert(1)>"
IMAGE = "kylin-v10-sp3"
FLAVOR = "c2.m4"

REQUEST = """\
# 市发展和改革委员会 数据共享交换 — a small tenancy whose cloud reality the tests make by hand.
name: fgw-truth
department: {code: fgw, name: 市发展和改革委员会}
contacts:
  - {name: 王磊, email: wanglei@fgw.example.gov.cn}
purpose: 数据共享交换 (data sharing and exchange)
environment: staging
classification: level-3
expires: 2027-06-30
compute:
  - {name: app, flavor: c2.m4, image: kylin-v10-sp3, count: 1, volume_gb: 20}
networks:
  - {name: app, size: 26}
ingress:
  - {to: app, port: 443, from: 10.10.0.0/16, description: ops HTTPS}
kubernetes:
  namespace: fgw-truth
  quota: {cpu: 2, memory: 4Gi, pods: 10}
"""


@dataclass
class Seeded:
    """IDs of what was made, for the assertions."""

    project: str = ""
    shadow_project: str = ""
    server: str = ""
    hand_server: str = ""
    widened_rule: str = ""
    orphan_ip: str = ""
    shadow_namespace: str = ""


def _project(admin: Any, name: str, tags: list[str]) -> Any:
    project = admin.identity.find_project(name)
    if project is None:
        project = admin.identity.create_project(name=name, domain_id="default", tags=tags)
    user = admin.identity.find_user("admin")
    role = admin.identity.find_role("admin")
    admin.identity.assign_project_role_to_user(project, user, role)
    return project


def _scoped(admin: Any, project: Any) -> Any:
    """A connection as the admin, scoped to the project."""
    return admin.connect_as_project(
        {"id": project.id, "name": project.name, "domain_id": project.domain_id}
    )


def _server(scoped: Any, name: str, network: Any, tags: list[str]) -> Any:
    image = scoped.image.find_image(IMAGE)
    flavor = scoped.compute.find_flavor(FLAVOR)
    server = scoped.compute.create_server(
        name=name,
        image_id=image.id,
        flavor_id=flavor.id,
        networks=[{"uuid": network.id}],
        tags=tags,
    )
    return scoped.compute.wait_for_server(server, wait=600)


def seed_openstack(admin: Any) -> Seeded:
    """The tenancy's project as dcops makes it, plus every out-of-band change."""
    seeded = Seeded()
    tag = f"department:{DEPARTMENT}"
    project = _project(admin, TENANCY, [tag])
    seeded.project = project.id
    scoped = _scoped(admin, project)
    network = scoped.network.create_network(name=f"{TENANCY}-app")
    scoped.network.set_tags(network, [tag])
    subnet = scoped.network.create_subnet(
        network_id=network.id, ip_version=4, cidr="10.21.0.0/26", name=f"{TENANCY}-app"
    )
    external = admin.network.find_network("public-gov")
    router = scoped.network.create_router(
        name=f"{TENANCY}-router", external_gateway_info={"network_id": external.id}
    )
    scoped.network.set_tags(router, [tag])
    scoped.network.add_interface_to_router(router, subnet_id=subnet.id)
    group = scoped.network.create_security_group(name=f"{TENANCY}-sg-app", description="app")
    scoped.network.set_tags(group, [tag])
    for rule in scoped.network.security_group_rules(security_group_id=group.id):
        scoped.network.delete_security_group_rule(rule)
    scoped.network.create_security_group_rule(
        security_group_id=group.id,
        direction="egress",
        ethertype="IPv4",
        remote_ip_prefix="0.0.0.0/0",
        description="outbound traffic (updates, DNS, NTP)",
    )
    scoped.network.create_security_group_rule(
        security_group_id=group.id,
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=443,
        port_range_max=443,
        remote_ip_prefix="10.10.0.0/16",
        description="ops HTTPS",
    )
    seeded.server = _server(scoped, f"{TENANCY}-vm-app-1", network, [tag]).id
    # Out of band: a server made by hand without the tag, SSH opened to the world at 2 a.m.,
    # a floating IP allocated and never attached, a project nobody asked for.
    seeded.hand_server = _server(scoped, "debug-box", network, []).id
    seeded.widened_rule = scoped.network.create_security_group_rule(
        security_group_id=group.id,
        direction="ingress",
        ethertype="IPv4",
        protocol="tcp",
        port_range_min=22,
        port_range_max=22,
        remote_ip_prefix="0.0.0.0/0",
    ).id
    seeded.orphan_ip = scoped.network.create_ip(floating_network_id=external.id).id
    seeded.shadow_project = _project(admin, SHADOW_PROJECT, []).id
    shadow = _scoped(admin, admin.identity.get_project(seeded.shadow_project))
    shadow.network.create_network(name="shadow-net")
    hostile = _scoped(admin, _project(admin, HOSTILE_PROJECT, []))
    hostile.network.create_network(name=HOSTILE_NETWORK)
    return seeded


def seed_kubernetes(api: Any, seeded: Seeded) -> None:
    """The tenancy's namespace fenced as dcops makes it, its quota edited, and a stray namespace."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    labels = {"dcops.gov.cn/tenancy": TENANCY, "dcops.gov.cn/department": DEPARTMENT}
    meta = client.V1ObjectMeta
    core.create_namespace(client.V1Namespace(metadata=meta(name=NAMESPACE, labels=labels)))
    core.create_namespaced_resource_quota(
        NAMESPACE,
        client.V1ResourceQuota(
            metadata=meta(name="quota", labels=labels),
            # Edited by hand: 3 CPUs where the tenancy was granted 2.
            spec=client.V1ResourceQuotaSpec(
                hard={"limits.cpu": "3", "limits.memory": "4Gi", "pods": "10"}
            ),
        ),
    )
    core.create_namespaced_limit_range(
        NAMESPACE,
        client.V1LimitRange(
            metadata=meta(name="limits", labels=labels),
            spec=client.V1LimitRangeSpec(
                limits=[
                    client.V1LimitRangeItem(
                        type="Container",
                        default={"cpu": "500m", "memory": "512Mi"},
                        default_request={"cpu": "100m", "memory": "128Mi"},
                    )
                ]
            ),
        ),
    )
    client.NetworkingV1Api(api).create_namespaced_network_policy(
        NAMESPACE,
        client.V1NetworkPolicy(
            metadata=meta(name="default-deny", labels=labels),
            spec=client.V1NetworkPolicySpec(
                pod_selector=client.V1LabelSelector(), policy_types=["Ingress", "Egress"]
            ),
        ),
    )
    shadow = core.create_namespace(client.V1Namespace(metadata=meta(name=SHADOW_NAMESPACE)))
    seeded.shadow_namespace = shadow.metadata.uid


def clear_openstack(admin: Any) -> None:
    """Remove everything seed_openstack made, so the session's lab cloud is left as it was."""
    for name in (TENANCY, SHADOW_PROJECT, HOSTILE_PROJECT):
        project = admin.identity.find_project(name)
        if project is None:
            continue
        scoped = _scoped(admin, project)
        for server in list(scoped.compute.servers()):
            scoped.compute.delete_server(server)
            scoped.compute.wait_for_delete(server, wait=300)
        for ip in list(scoped.network.ips(project_id=project.id)):
            scoped.network.delete_ip(ip)
        for router in list(scoped.network.routers(project_id=project.id)):
            for port in scoped.network.ports(device_id=router.id):
                if port.device_owner == "network:router_interface":
                    for fixed in port.fixed_ips:
                        scoped.network.remove_interface_from_router(
                            router, subnet_id=fixed["subnet_id"]
                        )
            scoped.network.delete_router(router)
        for network in list(scoped.network.networks(project_id=project.id)):
            scoped.network.delete_network(network)
        for group in list(scoped.network.security_groups(project_id=project.id)):
            scoped.network.delete_security_group(group)
        admin.identity.delete_project(project)
