"""The lab's ML2 mechanism driver: binds every port, since the lab runs no L2 agents.

Neutron loads mechanism drivers by entry point, and runs under Debian's python3, not dcops'
venv. So the driver's source is written as a module on a path that `up` adds to the
neutron-server's PYTHONPATH, with a dist-info folder declaring its entry point.
"""

from __future__ import annotations

from pathlib import Path

MODULE = "dcops_lab_ml2"
DRIVER = "dcops_lab"
DISTRIBUTION = "dcops_lab_ml2-1.0.dist-info"

SOURCE = '''"""dcops lab: bind every port to its first segment (VIF type ovs, status ACTIVE)."""

from neutron_lib import constants
from neutron_lib.api.definitions import portbindings
from neutron_lib.plugins.ml2 import api


class LabMechanismDriver(api.MechanismDriver):
    """No agents in the lab: a port is bound as soon as Nova names its host."""

    def initialize(self):
        pass

    @property
    def connectivity(self):
        return portbindings.CONNECTIVITY_L2

    def bind_port(self, context):
        for segment in context.segments_to_bind:
            context.set_binding(
                segment[api.ID],
                portbindings.VIF_TYPE_OVS,
                {portbindings.CAP_PORT_FILTER: True},
                status=constants.PORT_STATUS_ACTIVE,
            )
            return
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
        f"[neutron.ml2.mechanism_drivers]\n{DRIVER} = {MODULE}:LabMechanismDriver\n",
        encoding="utf-8",
    )
