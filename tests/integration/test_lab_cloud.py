"""`dcops lab cloud`: a real OpenStack from Debian's packages — services, what `up` registers,
what the cloud can do (a server on the fake driver with a data volume, a load balancer, VPN
objects).

`down` leaving no process and no file is checked by the session fixture's teardown.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.integration.lab_cloud import PORT_BASE, LabCloud

pytestmark = [pytest.mark.integration, pytest.mark.live, pytest.mark.cloud]

SERVICES = {
    "mariadb", "rabbitmq", "keystone", "placement", "glance", "neutron", "nova-api",
    "nova-conductor", "nova-scheduler", "nova-compute-lab-compute-1",
    "nova-compute-lab-compute-2", "octavia-api", "octavia-worker", "cinder-api",
    "cinder-scheduler", "cinder-volume",
}  # fmt: skip


def wait_for(what: str, check: Any, timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(2)
    raise AssertionError(f"{what} did not happen within {timeout:.0f} s")


def test_every_service_answers_on_loopback(lab_cloud: LabCloud) -> None:
    rows = lab_cloud.status()
    assert {r["name"] for r in rows} == SERVICES
    assert [r["name"] for r in rows if not r["healthy"]] == []
    base = int(PORT_BASE)
    assert all(r["port"] is None or base <= r["port"] < base + 11 for r in rows)
    assert "registered 3 images, 1 networks, 5 flavors" in lab_cloud.up_stdout


def test_clouds_yaml_is_private_and_lets_the_admin_in(lab_cloud: LabCloud) -> None:
    assert lab_cloud.clouds_yaml.stat().st_mode & 0o777 == 0o600
    conn = lab_cloud.connect()
    assert conn.identity.find_project("admin") is not None


def test_up_registers_what_the_site_expects(lab_cloud: LabCloud) -> None:
    conn = lab_cloud.connect()
    images = {i.name for i in conn.image.images()}
    assert {"kylin-v10-sp3", "uos-server-20", "openeuler-22.03-lts"} <= images
    external = conn.network.find_network("public-gov")
    assert external is not None and external.is_router_external
    subnet = next(iter(conn.network.subnets(network_id=external.id)))
    assert subnet.cidr == "198.51.100.0/24"
    flavor = conn.compute.find_flavor("c4.m16")
    assert (flavor.vcpus, flavor.ram, flavor.disk) == (4, 16384, 80)


def test_a_second_up_keeps_the_running_cloud(lab_cloud: LabCloud) -> None:
    pids = {r["name"]: r["pid"] for r in lab_cloud.status()}
    again = lab_cloud.dcops("lab", "cloud", "up")
    assert again.returncode == 0, again.stderr
    assert "already up" in again.stdout
    assert {r["name"]: r["pid"] for r in lab_cloud.status()} == pids


def test_a_server_boots_on_the_fake_driver_with_its_port_bound_and_a_volume(
    lab_cloud: LabCloud,
) -> None:
    conn = lab_cloud.connect()
    network = conn.network.create_network(name="live-boot")
    try:
        conn.network.create_subnet(network_id=network.id, cidr="10.98.0.0/24", ip_version=4)
        server = conn.compute.create_server(
            name="live-boot-1",
            flavor_id=conn.compute.find_flavor("c2.m4").id,
            image_id=conn.image.find_image("kylin-v10-sp3").id,
            networks=[{"uuid": network.id}],
        )
        server = conn.compute.wait_for_server(server, wait=300)
        assert server.status == "ACTIVE"
        port = next(iter(conn.network.ports(device_id=server.id)))
        assert port.binding_vif_type == "ovs" and port.status == "ACTIVE"
        attach_and_detach_a_volume(conn, server)
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, wait=300)
    finally:
        for port in conn.network.ports(network_id=network.id):
            conn.network.delete_port(port)
        conn.network.delete_network(network)


def attach_and_detach_a_volume(conn: Any, server: Any) -> None:
    """A data volume on Cinder's fake back end goes in-use on the server, then back."""
    volume = conn.block_storage.create_volume(name="live-boot-data", size=100)
    try:
        volume = conn.block_storage.wait_for_status(volume, "available", wait=300)
        assert (volume.size, volume.volume_type) == (100, "__DEFAULT__")
        conn.compute.create_volume_attachment(server, volume_id=volume.id)
        volume = conn.block_storage.wait_for_status(volume, "in-use", wait=300)
        assert [a["server_id"] for a in volume.attachments] == [server.id]
        # Cinder leaves this to Nova, whom it knows by its service token.
        conn.compute.delete_volume_attachment(server, volume.id)
        volume = conn.block_storage.wait_for_status(volume, "available", wait=300)
        assert volume.attachments == []
    finally:
        conn.block_storage.delete_volume(volume)
        conn.block_storage.wait_for_delete(volume, wait=300)


def test_a_load_balancer_goes_active_with_the_amphora_provider(lab_cloud: LabCloud) -> None:
    conn = lab_cloud.connect()
    network = conn.network.create_network(name="live-lb")
    try:
        subnet = conn.network.create_subnet(
            network_id=network.id, cidr="10.97.0.0/24", ip_version=4
        )
        lb = conn.load_balancer.create_load_balancer(name="live-lb", vip_subnet_id=subnet.id)
        lb = wait_for(
            "the load balancer leaving PENDING_CREATE",
            lambda: (
                (b := conn.load_balancer.get_load_balancer(lb.id)).provisioning_status
                != "PENDING_CREATE"
                and b
            ),
        )
        assert lb.provisioning_status == "ACTIVE"
        vip = conn.network.get_port(lb.vip_port_id)  # a real port: a floating IP can point at it
        assert vip.fixed_ips[0]["ip_address"] == lb.vip_address
        assert vip.fixed_ips[0]["subnet_id"] == subnet.id
        conn.load_balancer.delete_load_balancer(lb, cascade=True)
        wait_for(
            "the load balancer's deletion",
            lambda: conn.load_balancer.find_load_balancer(lb.id) is None,
        )
        wait_for("the VIP port's deletion", lambda: conn.network.find_port(vip.id) is None)
    finally:
        for port in conn.network.ports(network_id=network.id):
            conn.network.delete_port(port)
        conn.network.delete_network(network)


def test_vpnaas_objects_can_be_made(lab_cloud: LabCloud) -> None:
    conn = lab_cloud.connect()
    ike = conn.network.create_vpn_ike_policy(name="live-ike", encryption_algorithm="aes-256")
    try:
        assert conn.network.get_vpn_ike_policy(ike.id).encryption_algorithm == "aes-256"
    finally:
        conn.network.delete_vpn_ike_policy(ike)
