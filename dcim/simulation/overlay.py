"""The simulation's record in the state dir: addresses it serves, its pid and the scenario switch."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from dcops.core.errors import InputError
from dcops.core.site import Device, Gateway, Site
from dcops.dcim.inventory import apply_overlay
from dcops.dcim.simulation.scenarios import SCENARIOS


def folder(site: Site) -> Path:
    """The DCIM part of the state dir."""
    path = site.paths.state_path("dcim")
    path.mkdir(mode=0o700, exist_ok=True)
    return path


def overlay_path(site: Site) -> Path:
    """Where a running simulation records its addresses."""
    return folder(site) / "simulation.json"


def control_path(site: Site) -> Path:
    """The file that names the scenario a running simulation plays."""
    return folder(site) / "scenario"


def workdir(site: Site) -> Path:
    """Scratch space of the simulated devices (configs, logs, secrets)."""
    return folder(site) / "simulation"


def read_overlay(site: Site) -> dict[str, Any] | None:
    """The recorded simulation, if one is recorded."""
    try:
        data = json.loads(overlay_path(site).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_overlay(site: Site, overlay: dict[str, Any]) -> None:
    """Record the simulation atomically."""
    path = overlay_path(site)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(overlay, indent=2, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def remove_overlay(site: Site, pid: int) -> None:
    """Forget the simulation recorded by process pid (not one started since)."""
    current = read_overlay(site)
    if current is not None and current.get("pid") == pid:
        overlay_path(site).unlink(missing_ok=True)


def set_scenario(site: Site, name: str) -> Path:
    """Tell the running (or next) simulation to play scenario name."""
    if name not in SCENARIOS:
        raise InputError(f"unknown scenario {name!r}; allowed: {', '.join(SCENARIOS)}")
    path = control_path(site)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(name + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def current_scenario(site: Site) -> str:
    """The scenario the control file names (normal when there is none)."""
    try:
        name = control_path(site).read_text(encoding="utf-8").strip()
    except OSError:
        return "normal"
    return name if name in SCENARIOS else "normal"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def effective_devices(site: Site) -> tuple[list[Device], list[Gateway], bool]:
    """Devices and gateways to poll: the simulation's addresses when one runs; and whether it does."""
    overlay = read_overlay(site)
    if overlay is None or not pid_alive(int(overlay.get("pid", 0))):
        return list(site.devices), list(site.gateways), False
    devices, gateways = apply_overlay(site, overlay)
    return devices, gateways, True
