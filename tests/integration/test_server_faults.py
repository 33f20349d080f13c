"""Nova's reason for a server in ERROR, read back from the lab cloud's real Nova."""

from __future__ import annotations

import pytest

from dcops.stacks.server_faults import describe_faults
from tests.integration.lab_cloud import LabCloud


def test_a_server_no_host_can_take_is_described_with_novas_reason(
    lab_cloud: LabCloud, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = lab_cloud.connect()
    # More disk than either fake compute host holds (600,000 GB; no quota counts it): the
    # scheduler finds no host.
    flavor = conn.compute.create_flavor(name="live-too-big", vcpus=1, ram=512, disk=1_000_000)
    network = conn.network.create_network(name="live-fault")
    server = None
    try:
        conn.network.create_subnet(network_id=network.id, cidr="10.97.0.0/24", ip_version=4)
        server = conn.compute.create_server(
            name="live-fault-1",
            flavor_id=flavor.id,
            image_id=conn.image.find_image("kylin-v10-sp3").id,
            networks=[{"uuid": network.id}],
        )
        server = conn.compute.wait_for_server(server, status="ERROR", wait=300)
        engine_said = (
            f"error: creating urn:...::live-fault-1: Error waiting for instance ({server.id}) "
            "to become ready: unexpected state 'ERROR', wanted target 'ACTIVE'"
        )
        monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(lab_cloud.clouds_yaml))
        [line] = describe_faults("dcops-lab", engine_said + "\n" + engine_said)
        assert line.startswith("服务器 live-fault-1 启动失败 / server live-fault-1")
        assert server.id in line
        assert "No valid host was found" in line
    finally:
        if server is not None:
            conn.compute.delete_server(server)
            conn.compute.wait_for_delete(server, wait=300)
        for port in conn.network.ports(network_id=network.id):
            conn.network.delete_port(port)
        conn.network.delete_network(network)
        conn.compute.delete_flavor(flavor)
