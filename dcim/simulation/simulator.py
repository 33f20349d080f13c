"""Simulated devices on loopback: Debian's snmpd (pass_persist) for SNMP, pymodbus servers for Modbus."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dcops.core.errors import MissingDependency, OperationFailed
from dcops.core.requirements import find_program
from dcops.core.site import Device, Gateway
from dcops.dcim.profiles import Profile, bundled_profile
from dcops.dcim.simulation import scenarios
from dcops.dcim.simulation.encoding import modbus_words, snmp_values
from dcops.dcim.snmp.client import CommunityClient

HOST = "127.0.0.1"
V3_USER = "dcops-sim"


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A free loopback port (UDP or TCP) outside the kernel's ephemeral range."""
    return free_ports(1, kind)[0]


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_ports(count: int, kind: int = socket.SOCK_DGRAM) -> list[int]:
    """count distinct free loopback ports below the ephemeral range.

    Ports the kernel hands out for port 0 can be taken again by any socket (snmpd opens some of
    its own) before a simulated agent binds them; ports below the ephemeral range are only ever
    taken on purpose.
    """
    low, high = 10000, _ephemeral_low()
    start = low + secrets.randbelow(max(1, high - low))
    found: list[int] = []
    for step in range(high - low):
        port = low + (start - low + step) % (high - low)
        with socket.socket(socket.AF_INET, kind) as sock:
            try:
                sock.bind((HOST, port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise OperationFailed(f"fewer than {count} free loopback ports between {low} and {high}")


@dataclass
class Simulated:
    """One simulated device: its inventory entry, profile and current scenario values."""

    device: Device
    profile: Profile
    first: bool
    seed: int
    words: dict[int, int] = field(default_factory=dict)
    values_file: Path | None = None
    last_values: str = ""


def _subtrees(profile: Profile) -> list[str]:
    oids = [o.oid for o in profile.scalars] + [c.oid for t in profile.tables for c in t.columns]
    common = oids[0].split(".")
    for oid in oids[1:]:
        parts = oid.split(".")
        size = 0
        while size < min(len(common), len(parts)) and common[size] == parts[size]:
            size += 1
        common = common[:size]
    return ["." + ".".join(common)]


class Simulation:
    """Starts simulated devices for a set of inventory devices and keeps their values moving."""

    def __init__(
        self,
        devices: Sequence[Device],
        gateways: Sequence[Gateway],
        workdir: Path,
        control: Path,
        tick: float = 1.0,
        synthetic: Sequence[Device] = (),
    ) -> None:
        self.workdir = workdir
        self.control = control
        self.tick = tick
        self.gateways = {g.name: g for g in gateways}
        kinds_seen: set[str] = set()
        self.devices: list[Simulated] = []
        for n, device in enumerate(d for d in devices if d.protocol and d.profile):
            first = device.kind not in kinds_seen
            kinds_seen.add(device.kind)
            self.devices.append(Simulated(device, bundled_profile(device.profile or ""), first, n))
        # Synthetic units (load tests) share agents, 100 ports per snmpd, and the values of the first.
        self.synthetic = [
            Simulated(d, bundled_profile(d.profile or ""), False, len(self.devices) + n)
            for n, d in enumerate(synthetic)
        ]
        self.scenario = "normal"
        self.started = time.time()
        self._snmpd: list[subprocess.Popen[bytes]] = []
        self._servers: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []
        self.overlay: dict[str, Any] = {"devices": {}, "gateways": {}}

    def read_control(self) -> None:
        """Switch scenario if the control file names another one."""
        try:
            wanted = self.control.read_text(encoding="utf-8").strip()
        except OSError:
            return
        if wanted in scenarios.SCENARIOS and wanted != self.scenario:
            self.scenario, self.started = wanted, time.time()

    def update(self) -> None:
        """Recompute every device's values for the scenario and the time now."""
        now = time.time()
        elapsed = now - self.started
        for sim in [*self.devices, *self.synthetic]:
            if sim.profile.protocol == "snmp" and sim.values_file is None:
                continue  # served from the values of the first unit of its shared agent
            state, alarms = scenarios.device_state(
                sim.device.kind, sim.first, self.scenario, elapsed, now, sim.seed
            )
            if sim.profile.protocol == "modbus":
                sim.words = modbus_words(sim.profile, state)
                continue
            text = json.dumps(snmp_values(sim.profile, state, alarms), sort_keys=True)
            if sim.values_file is not None and text != sim.last_values:
                tmp = sim.values_file.with_suffix(".tmp")
                tmp.write_text(text, encoding="utf-8")
                os.replace(tmp, sim.values_file)
                sim.last_values = text

    async def start(self) -> dict[str, Any]:
        """Start every simulated device; return the overlay (addresses and secrets) to record."""
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.read_control()
        groups = [[s] for s in self.devices if s.profile.protocol == "snmp"]
        groups += [self.synthetic[i : i + 100] for i in range(0, len(self.synthetic), 100)]
        modbus = [s for s in self.devices if s.profile.protocol == "modbus"]
        if groups:
            self._write_secrets()
        for group in groups:
            group[0].values_file = self.workdir / f"{group[0].device.name}.json"
        self.update()
        for group in groups:
            await self._start_snmpd(group)
        await self._start_modbus(modbus)
        self.overlay["simulated"] = [s.device.name for s in [*self.devices, *self.synthetic]]
        return self.overlay

    def _write_secrets(self) -> None:
        folder = self.workdir / "secrets"
        folder.mkdir(exist_ok=True, mode=0o700)
        for name in ("community", "auth", "priv"):
            path = folder / name
            if not path.exists():
                path.write_text(secrets.token_hex(12), encoding="utf-8")
                path.chmod(0o600)

    def _secret(self, name: str) -> str:
        return (self.workdir / "secrets" / name).read_text(encoding="utf-8").strip()

    def _secret_ref(self, name: str, state: Path) -> dict[str, str]:
        return {"file": str((self.workdir / "secrets" / name).relative_to(state))}

    async def _start_snmpd(self, group: list[Simulated]) -> None:
        """One snmpd for a group of devices, one port each, serving the first one's values."""
        snmpd = find_program("snmpd")
        if snmpd is None:
            raise MissingDependency(
                "simulating SNMP devices needs Debian's snmpd: apt-get install -y snmpd"
            )
        leader = group[0]
        name = leader.device.name
        ports = free_ports(len(group))
        conf = self.workdir / f"{name}.snmpd.conf"
        passer = f"{sys.executable} -m dcops.dcim.simulation.snmpd_pass {leader.values_file}"
        lines = [
            "agentaddress " + ",".join(f"udp:{HOST}:{p}" for p in ports[i : i + 50])
            for i in range(0, len(ports), 50)
        ]
        lines.append(f"rocommunity {self._secret('community')} {HOST}")
        if leader.device.protocol == "snmpv3":
            lines += [
                f'createUser {V3_USER} SHA "{self._secret("auth")}" AES "{self._secret("priv")}"',
                f"rouser {V3_USER} priv",
            ]
        lines += [f"pass_persist {root} {passer}" for root in _subtrees(leader.profile)]
        conf.write_text("\n".join(lines) + "\n", encoding="utf-8")
        conf.chmod(0o600)
        persist = self.workdir / f"{name}.persist"
        shutil.rmtree(persist, ignore_errors=True)
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": ""}
        log, pid = self.workdir / f"{name}.snmpd.log", self.workdir / f"{name}.snmpd.pid"
        process = subprocess.Popen(
            [snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(log), "-p", str(pid)],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self._snmpd.append(process)
        await self._wait_snmp(ports[-1], name, process)
        state = self.workdir.parent.parent
        for sim, port in zip(group, ports, strict=True):
            entry: dict[str, Any] = {"address": HOST, "port": port}
            if sim.device.protocol == "snmpv3":
                entry.update(
                    user=V3_USER,
                    auth_secret=self._secret_ref("auth", state),
                    priv_secret=self._secret_ref("priv", state),
                )
            else:
                entry["community"] = self._secret_ref("community", state)
            self.overlay["devices"][sim.device.name] = entry

    async def _wait_snmp(self, port: int, name: str, process: subprocess.Popen[bytes]) -> None:
        client = CommunityClient(HOST, port, self._secret("community"), timeout=0.5, retries=0)
        try:
            for _ in range(40):
                if process.poll() is not None:
                    raise OperationFailed(
                        f"snmpd for {name} exited with code {process.returncode}; see {self.workdir}/{name}.snmpd.log"
                    )
                with contextlib.suppress(Exception):
                    await client.get(["1.3.6.1.2.1.1.1.0"])
                    return
                await asyncio.sleep(0.1)
        finally:
            client.close()
        raise OperationFailed(f"snmpd for {name} did not answer on {HOST}:{port}")

    async def _start_modbus(self, sims: list[Simulated]) -> None:
        endpoints: dict[str, list[Simulated]] = {}
        for sim in sims:
            endpoints.setdefault(sim.device.gateway or f"device:{sim.device.name}", []).append(sim)
        for key, members in endpoints.items():
            server, task, port = await serve_modbus([self._sim_device(s) for s in members])
            self._servers.append(server)
            self._tasks.append(task)
            if key.startswith("device:"):
                for sim in members:
                    self.overlay["devices"][sim.device.name] = {"address": HOST, "port": port}
            else:
                self.overlay["gateways"][key] = {"address": HOST, "port": port}

    def _sim_device(self, sim: Simulated) -> Any:
        from pymodbus.simulator import DataType, SimData, SimDevice

        top = max([*sim.words, 0]) + 8

        async def fill(
            fc: int, start: int, address: int, count: int, registers: list[int], values: Any
        ) -> None:
            for i in range(count):
                registers[address - start + i] = sim.words.get(address + i, 0)

        return SimDevice(
            id=sim.device.unit or 0,
            simdata=[SimData(address=0, count=top, values=0, datatype=DataType.REGISTERS)],
            action=fill,
        )

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the control file and move values every tick until stop is set."""
        while not stop.is_set():
            self.read_control()
            self.update()
            for process in self._snmpd:
                if process.poll() is not None:
                    raise OperationFailed(
                        f"a simulated SNMP agent (snmpd pid {process.pid}) exited with code {process.returncode}"
                    )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.tick)

    async def close(self) -> None:
        """Stop every simulated device."""
        for process in self._snmpd:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self._snmpd:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
        for server in self._servers:
            with contextlib.suppress(Exception):
                await server.shutdown()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def serve_modbus(units: Sequence[Any]) -> tuple[Any, asyncio.Task[None], int]:
    """A pymodbus TCP server for simulated units on a free loopback port, once it accepts."""
    from pymodbus.server import ModbusTcpServer

    port = free_port(socket.SOCK_STREAM)
    server = ModbusTcpServer(list(units), address=(HOST, port))
    task = asyncio.create_task(server.serve_forever())
    await _wait_tcp(port)
    return server, task, port


async def _wait_tcp(port: int) -> None:
    for _ in range(50):
        try:
            _, writer = await asyncio.open_connection(HOST, port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise OperationFailed(f"simulated Modbus server on {HOST}:{port} did not start")
