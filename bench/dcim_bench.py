"""Benchmark: the dcops DCIM poller against Debian's prometheus-snmp-exporter, written to docs/performance.md.

1. The same fleet of simulated UPS units (one Debian snmpd answering on FLEET ports, 20 OIDs
   each by `override` lines) polled by dcops and by snmp_exporter (one GET module,
   PARALLEL scrapes in flight): devices per second, CPU-seconds per 1,000 device polls.
2. 1,000 devices of which 20 % never answer (bound sockets that never read): a full poll must
   end within the per-device timeout + 1 s.
3. Modbus: 200 units behind one pymodbus server, 16 registers each, through 1 and 8 connections.
"""

from __future__ import annotations

import asyncio
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from record import record  # noqa: E402

from dcops.core.requirements import find_program  # noqa: E402
from dcops.dcim.inventory import Target  # noqa: E402
from dcops.dcim.poller import Poller  # noqa: E402
from dcops.dcim.profiles import Profile  # noqa: E402
from dcops.dcim.simulation.simulator import free_port, free_ports  # noqa: E402
from tests.integration.dcim_fleet import loopback_target  # noqa: E402

FLEET, ROUNDS, PARALLEL = 200, 10, 50
TIMEOUT = 1.0
UPS = "1.3.6.1.2.1.33.1"
OIDS = [
    *(f"{UPS}.2.{n}.0" for n in range(1, 8)),
    f"{UPS}.3.2.0",
    f"{UPS}.4.1.0",
    f"{UPS}.6.1.0",
    *(f"{UPS}.3.3.1.{c}.1" for c in (2, 3)),
    *(f"{UPS}.4.4.1.{c}.1" for c in (2, 3, 4, 5)),
    f"{UPS}.5.3.1.2.1",
    f"{UPS}.4.2.0",
    f"{UPS}.5.1.0",
    f"{UPS}.9.1.0",
]
assert len(OIDS) == 20


def _profile() -> Profile:
    metric = "dcops_dcim_ups_alarms_present"
    return Profile.model_validate(
        {
            "name": "bench",
            "title": "20 scalar OIDs",
            "kind": "ups",
            "protocol": "snmp",
            "scalars": [{"metric": metric, "oid": o, "labels": {"oid": o}} for o in OIDS],
        }
    )


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_snmpd(folder: Path, ports: list[int]) -> list[subprocess.Popen[bytes]]:
    """snmpd processes answering on every port with the 20 OIDs (one snmpd listens on 128 at most)."""
    snmpd = find_program("snmpd")
    if snmpd is None:
        raise SystemExit("needs Debian's snmpd: apt-get install -y snmpd")
    processes = []
    for n, first in enumerate(range(0, len(ports), 100)):
        chunk = ports[first : first + 100]
        lines = [
            "agentaddress " + ",".join(f"udp:127.0.0.1:{p}" for p in chunk[i : i + 50])
            for i in range(0, len(chunk), 50)
        ]
        lines.append("rocommunity public 127.0.0.1")
        lines += [f"override .{o} integer {k + 2}" for k, o in enumerate(OIDS)]
        conf = folder / f"snmpd-{n}.conf"
        conf.write_text("\n".join(lines) + "\n")
        env = {**os.environ, "SNMP_PERSISTENT_DIR": str(folder / f"persist-{n}")}
        processes.append(
            subprocess.Popen(
                [
                    snmpd,
                    "-f",
                    "-C",
                    "-c",
                    str(conf),
                    "-Lf",
                    str(folder / f"snmpd-{n}.log"),
                    "-p",
                    str(folder / f"pid-{n}"),
                ],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return processes


async def _until_answering(ports: list[int]) -> None:
    """Wait (bounded) until every port answers one GET."""
    from dcops.dcim.snmp.client import CommunityClient

    pending = list(ports)
    for _ in range(60):
        clients = [
            CommunityClient("127.0.0.1", p, "public", timeout=0.5, retries=0) for p in pending
        ]
        results = await asyncio.gather(*(c.get([OIDS[0]]) for c in clients), return_exceptions=True)
        for client in clients:
            client.close()
        pending = [p for p, r in zip(pending, results, strict=True) if isinstance(r, BaseException)]
        if not pending:
            return
        await asyncio.sleep(0.25)
    raise SystemExit(f"{len(pending)} simulated agents never answered")


def stop(processes: list[subprocess.Popen[bytes]]) -> None:
    """TERM and reap the processes this benchmark started."""
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        process.wait(10)


def _targets(ports: list[int], timeout: float, retries: int) -> list[Target]:
    profile = _profile()
    return [
        loopback_target(f"ups-{n}", port, profile, timeout=timeout, retries=retries)
        for n, port in enumerate(ports)
    ]


async def dcops_fleet(ports: list[int]) -> tuple[float, float, int]:
    """Polls of the fleet by the dcops poller: (wall s, CPU s, successful device polls)."""
    poller = Poller(_targets(ports, TIMEOUT, 1), interval=10, concurrency=PARALLEL)
    await poller.poll_all()  # warm-up: sockets opened, request encodings cached
    ok = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ROUNDS):
        ok += sum(s.up and len(s.readings) == 20 for s in await poller.poll_all())
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    await poller.close()
    return wall, cpu, ok


async def pysnmp_fleet(ports: list[int]) -> tuple[float, float, int]:
    """The same polls with pysnmp's fastest API (v1arch, plain OID/Null varbinds): (wall, CPU, ok)."""
    from pysnmp.hlapi.v1arch.asyncio import (
        CommunityData,
        SnmpDispatcher,
        UdpTransportTarget,
        get_cmd,
    )
    from pysnmp.proto.rfc1902 import Null, ObjectName

    dispatcher = SnmpDispatcher()
    community = CommunityData("public", mpModel=1)
    targets = [
        await UdpTransportTarget.create(("127.0.0.1", p), timeout=TIMEOUT, retries=1) for p in ports
    ]
    varbinds = [(ObjectName(o), Null()) for o in OIDS]
    slots = asyncio.Semaphore(PARALLEL)

    async def one(target: object) -> bool:
        async with slots:
            error, status, _, answer = await get_cmd(dispatcher, community, target, *varbinds)  # type: ignore[arg-type]
            return not error and not status and len(answer) == len(OIDS)

    await asyncio.gather(*(one(t) for t in targets))
    ok = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(ROUNDS):
        ok += sum(await asyncio.gather(*(one(t) for t in targets)))
    wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
    dispatcher.transport_dispatcher.close_dispatcher()
    return wall, cpu, ok


def _exporter_config(folder: Path) -> Path:
    metrics = "\n".join(
        f"    - name: oid_{n}\n      oid: {o}\n      type: gauge" for n, o in enumerate(OIDS)
    )
    gets = "\n".join(f"    - {o}" for o in OIDS)
    path = folder / "snmp.yml"
    path.write_text(
        f"bench:\n  version: 2\n  auth:\n    community: public\n  timeout: {TIMEOUT}s\n  retries: 1\n"
        f"  get:\n{gets}\n  metrics:\n{metrics}\n"
    )
    return path


async def _scrape(port: int, target: int) -> bool:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /snmp?module=bench&target=127.0.0.1:{target} HTTP/1.0\r\nHost: x\r\n\r\n".encode()
    )
    data = await reader.read()
    writer.close()
    return b" 200 " in data[:20] and b"oid_19" in data


async def exporter_fleet(port: int, ports: list[int]) -> tuple[float, int]:
    """Scrapes through snmp_exporter, PARALLEL in flight: (wall s, successful device polls)."""
    slots = asyncio.Semaphore(PARALLEL)

    async def one(target: int) -> bool:
        async with slots:
            return await _scrape(port, target)

    await asyncio.gather(*(one(p) for p in ports))  # warm-up
    wall0 = time.perf_counter()
    ok = 0
    for _ in range(ROUNDS):
        ok += sum(await asyncio.gather(*(one(p) for p in ports)))
    return time.perf_counter() - wall0, ok


def start_exporter(folder: Path) -> tuple[subprocess.Popen[bytes], int]:
    """prometheus-snmp-exporter on a free loopback port."""
    program = find_program("prometheus-snmp-exporter")
    if program is None:
        raise SystemExit("needs apt-get install -y prometheus-snmp-exporter")
    port = free_port(socket.SOCK_STREAM)
    process = subprocess.Popen(
        [
            program,
            f"--config.file={_exporter_config(folder)}",
            f"--web.listen-address=127.0.0.1:{port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "exporter.log", "wb"),  # noqa: SIM115 - closed with the process
    )
    _wait_accepting(port, f"snmp_exporter did not start; see {folder / 'exporter.log'}")
    return process, port


def _wait_accepting(port: int, failure: str) -> None:
    """Wait (100 tries, 50 ms apart) until a loopback TCP port accepts connections."""
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(failure)


async def dead_and_alive(folder: Path) -> tuple[float, int, str]:
    """1,000 devices, 200 of them silent: (wall s of one full poll, up, down)."""
    live = free_ports(800)
    (folder / "thousand").mkdir()
    snmpd = start_snmpd(folder / "thousand", live)
    silent: list[socket.socket] = []
    try:
        await _until_answering(live)
        # Bound after the agents, so that none of them takes a port an agent was given.
        silent = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(200)]
        for sock in silent:
            sock.bind(("127.0.0.1", 0))
        targets = _targets(live + [s.getsockname()[1] for s in silent], TIMEOUT, 1)
        poller = Poller(targets, interval=10, concurrency=1000)
        wall0 = time.perf_counter()
        states = await poller.poll_all()
        wall = time.perf_counter() - wall0
        await poller.close()
    finally:
        stop(snmpd)
        for sock in silent:
            sock.close()
    reasons = Counter(s.last_reason for s in states if not s.up)
    return wall, sum(s.up for s in states), ", ".join(f"{n} {r}" for r, n in reasons.items())


_MODBUS_SERVER = """
import asyncio, sys
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice
devices = [SimDevice(id=u, simdata=[SimData(address=0, count=16, values=u, datatype=DataType.REGISTERS)]) for u in range(1, 201)]
async def serve():
    await ModbusTcpServer(devices, address=("127.0.0.1", int(sys.argv[1]))).serve_forever()
asyncio.run(serve())
"""


def start_modbus() -> tuple[subprocess.Popen[bytes], int]:
    """A pymodbus server with 200 units, in its own process so it has its own CPU."""
    port = free_port(socket.SOCK_STREAM)
    process = subprocess.Popen(
        [sys.executable, "-c", _MODBUS_SERVER, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_accepting(port, "the pymodbus server did not start")
    return process, port


async def modbus_units(port: int, connections: int) -> tuple[float, int]:
    """Units per second for 200 units behind one server, 16 registers each."""
    profile = Profile.model_validate(
        {
            "name": "bench16",
            "title": "16 registers",
            "kind": "env-sensor",
            "protocol": "modbus",
            "registers": [
                {
                    "metric": "dcops_dcim_env_temperature_celsius",
                    "address": a,
                    "labels": {"r": str(a)},
                }
                for a in range(16)
            ],
        }
    )
    targets = [
        loopback_target(
            f"u{unit}", port, profile, unit=unit, timeout=30, retries=0, connections=connections
        )
        for unit in range(1, 201)
    ]
    poller = Poller(targets, interval=10, concurrency=1000)
    await poller.poll_all()
    ok, wall0 = 0, time.perf_counter()
    for _ in range(5):
        ok += sum(s.up for s in await poller.poll_all())
    wall = time.perf_counter() - wall0
    await poller.close()
    return wall, ok


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main() -> None:
    """Run every part in one go and write the table."""
    folder = Path(tempfile.mkdtemp(prefix="dcops-dcim-bench-"))
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    ports = free_ports(FLEET)
    snmpd = start_snmpd(folder, ports)
    exporter, exporter_port = start_exporter(folder)
    try:
        asyncio.run(_until_answering(ports))
        wall_d, cpu_d, ok_d = asyncio.run(dcops_fleet(ports))
        wall_p, cpu_p, ok_p = asyncio.run(pysnmp_fleet(ports))
        cpu0 = _cpu(exporter.pid)
        wall_e, ok_e = asyncio.run(exporter_fleet(exporter_port, ports))
        cpu_e = _cpu(exporter.pid) - cpu0
    finally:
        stop([*snmpd, exporter])
    wall_k, up, down = asyncio.run(dead_and_alive(folder))
    server, modbus_port = start_modbus()
    try:
        m1_wall, m1_ok = asyncio.run(modbus_units(modbus_port, 1))
        m8_wall, m8_ok = asyncio.run(modbus_units(modbus_port, 8))
    finally:
        stop([server])
    shutil.rmtree(folder, ignore_errors=True)
    polls = FLEET * ROUNDS
    dps_d, dps_e = ok_d / wall_d, ok_e / wall_e
    per_cpu_d, per_cpu_e = ok_d / cpu_d, ok_e / max(cpu_e, 1e-9)
    load = os.getloadavg()[0]
    body = f"""Load average at the end of the run: {load:.1f} on {os.cpu_count()} cores (other work shares the machine; figures are noisy).

{FLEET} simulated UPS × {len(OIDS)} OIDs (Debian snmpd, `override` lines, 100 ports per snmpd), {ROUNDS} rounds after a warm-up,
{PARALLEL} device polls in flight for both; dcops CPU is the poller process, snmp_exporter CPU
is the exporter process (the scrape driver is not counted).

| poller | device polls ok | devices/s | CPU-s per 1,000 polls | devices per CPU-second |
|---|---|---|---|---|
| dcops (own BER codec, asyncio) | {ok_d}/{polls} | {dps_d:,.0f} | {1000 * cpu_d / max(ok_d, 1):.3f} | {per_cpu_d:,.0f} |
| pysnmp {_version("pysnmp")} v1arch, OID/Null varbinds (Python peer) | {ok_p}/{polls} | {ok_p / wall_p:,.0f} | {1000 * cpu_p / max(ok_p, 1):.3f} | {ok_p / cpu_p:,.0f} |
| prometheus-snmp-exporter (Debian, Go) | {ok_e}/{polls} | {dps_e:,.0f} | {1000 * cpu_e / max(ok_e, 1):.3f} | {per_cpu_e:,.0f} |
| ratio dcops / snmp_exporter | | {dps_d / dps_e:.2f} | | {per_cpu_d / per_cpu_e:.2f} |

Dead devices: 1,000 devices, 200 of them silent, per-device timeout {TIMEOUT:g} s (retries
included), all polled at once: a full poll took **{wall_k:.2f} s** (limit {TIMEOUT + 1:g} s);
{up} up; down, by reason: {down}.

Modbus: 200 units (16 holding registers each, one read per unit) behind one pymodbus server
(its own process), 5 rounds: **{m1_ok / m1_wall:,.0f} units/s** through 1 connection, **{m8_ok / m8_wall:,.0f} units/s**
through 8 ({m1_ok} and {m8_ok} reads ok).
"""
    record("dcim", body)
    print(body)


if __name__ == "__main__":
    main()
