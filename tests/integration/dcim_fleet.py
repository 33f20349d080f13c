"""Poll targets for simulated devices on loopback, shared by the DCIM tests and bench/dcim_bench.py."""

from __future__ import annotations

from dcops.dcim.inventory import Target
from dcops.dcim.profiles import Profile
from dcops.dcim.simulation.simulator import HOST


def loopback_target(
    name: str,
    port: int,
    profile: Profile,
    *,
    timeout: float,
    retries: int = 1,
    community: str = "public",
    unit: int = 0,
    connections: int = 1,
) -> Target:
    """A simulated device on a loopback port: an SNMP v2c agent or a Modbus unit, as the profile says."""
    modbus = profile.protocol == "modbus"
    return Target(
        name=name,
        kind=profile.kind,
        room="r",
        rack="",
        protocol=profile.protocol,
        host=HOST,
        port=port,
        profile=profile,
        unit=unit,
        endpoint=f"{HOST}:{port}" if modbus else "",
        connections=connections,
        community="" if modbus else community,
        timeout=timeout,
        retries=retries,
    )
