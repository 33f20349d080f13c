"""The lab's Octavia network driver: the noop driver, except that a VIP is a real Neutron port.

With the noop network driver a load balancer's VIP is invented (an address and a port ID
that Neutron does not know), so a floating IP cannot point at it and members' subnets are
never checked. This driver creates the VIP port in the load balancer's project and deletes
it with the load balancer; everything else stays noop (there are no amphorae to plug).
It runs under Debian's python3 inside the Octavia API and worker, like the ML2 driver.
"""

from __future__ import annotations

from pathlib import Path

MODULE = "dcops_lab_octavia"
DRIVER = "dcops_lab_vip_driver"
DISTRIBUTION = "dcops_lab_octavia-1.0.dist-info"

SOURCE = '''"""dcops lab: VIPs as real Neutron ports; the rest of the network driver is noop."""

from neutronclient.common import exceptions as neutron_errors
from oslo_config import cfg

from octavia.common import clients
from octavia.common import data_models
from octavia.network.drivers.noop_driver.driver import NoopNetworkDriver

CONF = cfg.CONF


class LabVipNetworkDriver(NoopNetworkDriver):
    """Allocates each VIP as a port on the VIP subnet; deletes it with the load balancer."""

    def _neutron(self):
        return clients.NeutronAuth.get_neutron_client(
            endpoint=CONF.neutron.endpoint,
            region=CONF.neutron.region_name,
            endpoint_type=CONF.neutron.endpoint_type,
            service_name=CONF.neutron.service_name,
        )

    def allocate_vip(self, loadbalancer):
        neutron = self._neutron()
        vip = loadbalancer.vip
        port = None
        if vip.port_id:
            try:
                port = neutron.show_port(vip.port_id)["port"]
            except neutron_errors.NotFound:
                port = None
        if port is None:
            subnet = neutron.show_subnet(vip.subnet_id)["subnet"]
            fixed = {"subnet_id": subnet["id"]}
            if vip.ip_address:
                fixed["ip_address"] = vip.ip_address
            port = neutron.create_port({"port": {
                "name": "octavia-lb-" + loadbalancer.id,
                "network_id": subnet["network_id"],
                "fixed_ips": [fixed],
                "device_owner": "Octavia",
                "device_id": "lb-" + loadbalancer.id,
                "project_id": loadbalancer.project_id,
                "admin_state_up": False,
            }})["port"]
        address = port["fixed_ips"][0]
        return data_models.Vip(
            ip_address=address["ip_address"],
            subnet_id=address["subnet_id"],
            network_id=port["network_id"],
            port_id=port["id"],
            load_balancer_id=loadbalancer.id,
        ), []

    def deallocate_vip(self, vip):
        try:
            self._neutron().delete_port(vip.port_id)
        except neutron_errors.NotFound:
            pass
'''


def install_driver(python_dir: Path) -> None:
    """Write the driver module and its entry point under python_dir."""
    python_dir.mkdir(parents=True, exist_ok=True)
    (python_dir / f"{MODULE}.py").write_text(SOURCE, encoding="utf-8")
    meta = python_dir / DISTRIBUTION
    meta.mkdir(exist_ok=True)
    (meta / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {MODULE}\nVersion: 1.0\n", encoding="utf-8"
    )
    (meta / "entry_points.txt").write_text(
        f"[octavia.network.drivers]\n{DRIVER} = {MODULE}:LabVipNetworkDriver\n",
        encoding="utf-8",
    )
