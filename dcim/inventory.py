"""How inventory devices are reached: checks of their connection fields, and poll targets."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dcops.core.documents import Document
from dcops.core.errors import InputError, InvalidInput, Problem
from dcops.core.secrets import SecretRef
from dcops.core.site import Device, Gateway, Site
from dcops.dcim.decoding import Reading
from dcops.dcim.profiles import Profile, bundled_profile, profile_names

DEFAULT_PORTS = {"snmp": 161, "snmpv3": 161, "modbus": 502}
PROFILE_PROTOCOL = {"snmp": "snmp", "snmpv3": "snmp", "modbus": "modbus"}


def check_connections(
    devices: Sequence[Device], gateways: Sequence[Gateway], doc: Document
) -> list[Problem]:
    """Every problem with how devices are polled: protocol, address, profile, credentials."""
    problems: list[Problem] = []
    gateway_names = {g.name for g in gateways}
    names = profile_names()
    seen_gw: dict[str, int] = {}
    for j, gateway in enumerate(gateways):
        if gateway.name in seen_gw:
            problems.append(
                doc.problem(
                    ("gateways", j, "name"),
                    f"duplicate gateway {gateway.name!r}; gateway names must be unique",
                )
            )
        seen_gw[gateway.name] = j
    units: dict[tuple[str, int], str] = {}
    for i, device in enumerate(devices):
        problems += _device_problems(device, i, doc, gateway_names, names)
        if device.gateway and device.unit is not None:
            key = (device.gateway, device.unit)
            if key in units:
                problems.append(
                    doc.problem(
                        ("devices", i, "unit"),
                        f"unit {device.unit} on gateway {device.gateway} is already {units[key]}; units on one bus must differ",
                    )
                )
            units[key] = device.name
    return problems


def _device_problems(
    device: Device, i: int, doc: Document, gateways: set[str], names: list[str]
) -> list[Problem]:
    def at(field: str, message: str) -> Problem:
        return doc.problem(("devices", i, field), message)

    if device.protocol is None:
        given = [
            f
            for f in ("address", "profile", "gateway", "unit", "community")
            if getattr(device, f) is not None
        ]
        return (
            [
                at(
                    given[0],
                    f"{given[0]} given without protocol; allowed protocols: snmp, snmpv3, modbus",
                )
            ]
            if given
            else []
        )
    problems = []
    if device.profile is None:
        problems.append(
            at(
                "protocol",
                f"protocol {device.protocol} needs a profile; allowed: {', '.join(names)}",
            )
        )
    elif device.profile not in names:
        problems.append(
            at("profile", f"unknown profile {device.profile!r}; allowed: {', '.join(names)}")
        )
    else:
        profile = bundled_profile(device.profile)
        if profile.protocol != PROFILE_PROTOCOL[device.protocol]:
            problems.append(
                at(
                    "profile",
                    f"profile {device.profile} speaks {profile.protocol}, device protocol is {device.protocol}",
                )
            )
        if profile.kind != device.kind:
            problems.append(
                at(
                    "profile",
                    f"profile {device.profile} is for kind {profile.kind}, device is {device.kind}",
                )
            )
    if device.protocol == "modbus":
        if device.unit is None:
            problems.append(at("protocol", "modbus needs unit (the Modbus unit id, 0..247)"))
        if (device.address is None) == (device.gateway is None):
            problems.append(
                at(
                    "protocol",
                    "modbus needs exactly one of address (Modbus TCP) or gateway (RTU behind a gateway)",
                )
            )
        if device.gateway is not None and device.gateway not in gateways:
            allowed = ", ".join(sorted(gateways)) or "(no gateways in this file)"
            problems.append(
                at("gateway", f"unknown gateway {device.gateway!r}; allowed: {allowed}")
            )
        return problems
    if device.address is None:
        problems.append(
            at("protocol", f"{device.protocol} needs address (host name or IP address)")
        )
    if device.gateway is not None or device.unit is not None:
        problems.append(
            at(
                "gateway" if device.gateway else "unit",
                "gateway and unit are for modbus devices only",
            )
        )
    if device.protocol == "snmp" and device.community is None:
        problems.append(
            at("protocol", "snmp needs community: {env: VARIABLE} or {file: path in the state dir}")
        )
    if device.protocol == "snmpv3":
        missing = [f for f in ("user", "auth_secret", "priv_secret") if getattr(device, f) is None]
        if missing:
            problems.append(
                at(
                    "protocol",
                    f"snmpv3 needs {', '.join(missing)} (secrets as {{env: ...}} or {{file: ...}})",
                )
            )
    return problems


@dataclass(frozen=True)
class Target:
    """One device as the poller sees it: where, how, with which profile and labels."""

    name: str
    kind: str
    room: str
    rack: str
    protocol: str
    host: str
    port: int
    profile: Profile
    unit: int = 0
    endpoint: str = ""
    connections: int = 1
    community: str = ""
    user: str = ""
    auth_password: str = ""
    priv_password: str = ""
    timeout: float = 2.0
    retries: int = 1
    device: Device | None = None

    @property
    def address(self) -> str:
        """host:port (and /unit for Modbus), as shown to people."""
        base = f"{self.host}:{self.port}"
        return f"{base}/{self.unit}" if self.protocol == "modbus" else base


def resolve_secret(ref: SecretRef, state: Path, what: str) -> str:
    """The secret a reference points to; InputError saying where it was looked for if absent."""
    if ref.env is not None:
        value = os.environ.get(ref.env)
        if not value:
            raise InputError(
                f"{what}: environment variable {ref.env} is not set; set it or use {{file: ...}} in inventory/devices.yml"
            )
        return value
    assert ref.file is not None
    path = state / ref.file
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError:
        raise InputError(
            f"{what}: secret file {path} cannot be read; create it (mode 0600) or use {{env: ...}}"
        ) from None


def community_of(site: Site, devices: Sequence[Device], name: str) -> str:
    """The SNMP v2c community of an inventory device, from its secret reference (`secret=NAME`)."""
    device = next((d for d in devices if d.name == name), None)
    if device is None or device.protocol != "snmp" or device.community is None:
        known = sorted(d.name for d in devices if d.protocol == "snmp")
        raise InputError(
            f"secret={name}: no SNMP v2c device of that name in inventory/devices.yml; "
            f"allowed: {', '.join(known) or 'none'}"
        )
    return resolve_secret(device.community, site.paths.state, f"{name} community")


def apply_overlay(site: Site, overlay: dict[str, Any]) -> tuple[list[Device], list[Gateway]]:
    """The site's devices (and simulated extras) with the simulator's addresses and secrets."""
    changes = overlay.get("devices", {})
    added = [Device.model_validate(extra) for extra in overlay.get("added", [])]
    devices = [
        d.model_copy(update=_updates(changes.get(d.name, {}))) for d in [*site.devices, *added]
    ]
    gw_changes = overlay.get("gateways", {})
    gateways = [g.model_copy(update=gw_changes.get(g.name, {})) for g in site.gateways]
    return devices, gateways


def _updates(change: dict[str, Any]) -> dict[str, Any]:
    out = dict(change)
    for key in ("community", "auth_secret", "priv_secret"):
        if key in out:
            out[key] = SecretRef(**out[key])
    return out


def targets(
    site: Site,
    devices: Sequence[Device],
    gateways: Sequence[Gateway],
    timeout: float,
    retries: int,
) -> list[Target]:
    """Poll targets for every device that has a protocol."""
    by_gateway = {g.name: g for g in gateways}
    problems: list[Problem] = []
    out = []
    for device in devices:
        if device.protocol is None or device.profile is None:
            continue
        try:
            out.append(_target(site, device, by_gateway, timeout, retries))
        except InputError as exc:
            problems.append(Problem("inventory/devices.yml", device.name, str(exc)))
    if problems:
        raise InvalidInput("devices cannot be polled", problems)
    return out


def _target(
    site: Site, device: Device, gateways: dict[str, Gateway], timeout: float, retries: int
) -> Target:
    state = site.paths.state
    common: dict[str, Any] = {
        "name": device.name,
        "kind": device.kind,
        "room": device.room,
        "rack": device.rack or "",
        "protocol": device.protocol,
        "profile": bundled_profile(device.profile or ""),
        "timeout": device.timeout or timeout,
        "retries": retries if device.retries is None else device.retries,
        "device": device,
    }
    if device.protocol == "modbus":
        gateway = gateways.get(device.gateway or "")
        host = gateway.address if gateway else device.address or ""
        port = gateway.port if gateway else device.port or 502
        return Target(
            host=host,
            port=port,
            unit=device.unit or 0,
            endpoint=f"{host}:{port}",
            connections=gateway.connections if gateway else 1,
            **common,
        )
    host, port = device.address or "", device.port or 161
    if device.protocol == "snmp":
        assert device.community is not None
        community = resolve_secret(device.community, state, f"{device.name} community")
        return Target(host=host, port=port, community=community, **common)
    assert device.auth_secret is not None and device.priv_secret is not None
    return Target(
        host=host,
        port=port,
        user=device.user or "",
        auth_password=resolve_secret(device.auth_secret, state, f"{device.name} auth_secret"),
        priv_password=resolve_secret(device.priv_secret, state, f"{device.name} priv_secret"),
        **common,
    )


def rated_current_fallback(target: Target, readings: Sequence[Reading]) -> list[Reading]:
    """Phase ratings from the inventory for a PDU that reports none of its own."""
    device = target.device
    rating = device.thresholds.rated_current_amperes if device is not None else None
    metric = "dcops_dcim_pdu_phase_rated_current_amperes"
    if rating is None or any(r.metric == metric for r in readings):
        return []
    phases = [r.labels for r in readings if r.metric == "dcops_dcim_pdu_phase_current_amperes"]
    return [Reading(metric, labels, rating) for labels in phases]
