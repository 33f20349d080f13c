"""Benchmark: SNMPv3 authPriv (SHA + AES-128) polling by dcops against Debian's snmp_exporter.

What is measured: the same fleet of simulated UPS units (Debian snmpd, 100 loopback ports per
process, the 20 OIDs of bench/dcim_bench.py served by `override` lines), every agent holding
one USM user created with `createUser USER SHA ... AES ...` and `rouser USER priv`, so that
only signed and encrypted requests are answered. Both pollers use that same user:

- dcops: the DCIM poller (`dcops.dcim.poller.Poller`) with `snmpv3` targets carrying the user
  and its two passwords, as inventory/devices.yml gives them (`user`, `auth_secret`,
  `priv_secret`); CPU is this process's.
- the peer: Debian's prometheus-snmp-exporter with a generated snmp.yml whose module holds
  the same user (`version: 3`, `security_level: authPriv`, SHA, AES); CPU is the exporter
  process's (the scrape driver in this process is not counted).

PARALLEL device polls in flight for both, ROUNDS rounds per phase after a warm-up; the two
phases alternate REPEATS times so that both see the same load of a shared machine. For each:
device polls ok (all 20 values back), devices/s, CPU-seconds per 1,000 polls, devices per
CPU-second, and the agents' own CPU and received packets per poll (snmpInPkts read from each
snmpd over SNMPv3 before and after each phase). Target (issue 19): dcops' devices per
CPU-second ≥ 1× snmp_exporter's.

Reproduce: `.venv/bin/python bench/snmpv3_bench.py` (needs Debian's snmpd and
prometheus-snmp-exporter; about a minute; `--dry-run` prints without writing
docs/performance.md, `--devices/--rounds/--repeats` change the size). Results go to
docs/performance.md, section `snmpv3`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from dcim_bench import OIDS, _cpu, _profile, _scrape, _wait_accepting, stop  # noqa: E402
from record import record  # noqa: E402

from dcops.core.requirements import find_program  # noqa: E402
from dcops.dcim.inventory import Target  # noqa: E402
from dcops.dcim.poller import Poller  # noqa: E402
from dcops.dcim.simulation.simulator import HOST, free_port, free_ports  # noqa: E402
from dcops.dcim.snmp.client import UserClient, V3Credentials  # noqa: E402

DEVICES, ROUNDS, REPEATS, PARALLEL = 200, 10, 5, 50
PORTS_PER_AGENT = 100
TIMEOUT, RETRIES = 2.0, 1
USER = "dcops-bench"
SNMP_IN_PKTS = "1.3.6.1.2.1.11.1.0"  # SNMPv2-MIB snmpInPkts: messages the agent received
MAX_SECONDS = 540  # the whole run stays under 10 minutes: no new phase starts after this


@dataclass
class Phase:
    """One poller's totals over its phases: polls, wall and CPU time, agents' CPU and packets."""

    name: str
    polls: int = 0
    ok: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    agent_cpu: float = 0.0
    agent_packets: int = 0
    per_cpu: list[float] = field(default_factory=list)  # devices per CPU-second, each phase

    def add(self, polls: int, ok: int, wall: float, cpu: float, agent: tuple[float, int]) -> None:
        self.polls += polls
        self.ok += ok
        self.wall += wall
        self.cpu += cpu
        self.agent_cpu += agent[0]
        self.agent_packets += agent[1]
        self.per_cpu.append(ok / max(cpu, 1e-9))

    def row(self, label: str) -> str:
        ok = max(self.ok, 1)
        return (
            f"| {label} | {self.ok}/{self.polls} | {self.ok / self.wall:,.0f} | "
            f"{1000 * self.cpu / ok:.3f} | {self.ok / max(self.cpu, 1e-9):,.0f} | "
            f"{1000 * self.agent_cpu / ok:.3f} | {self.agent_packets / ok:.2f} |"
        )


def start_agents(
    folder: Path, ports: list[int], user: V3Credentials
) -> list[subprocess.Popen[bytes]]:
    """snmpd processes, PORTS_PER_AGENT ports each, answering the 20 OIDs to the v3 user only."""
    snmpd = find_program("snmpd")
    if snmpd is None:
        raise SystemExit("needs Debian's snmpd: apt-get install -y snmpd")
    values = [f"override .{oid} integer {k + 2}" for k, oid in enumerate(OIDS)]
    account = [
        f'createUser {user.user} SHA "{user.auth_password}" AES "{user.priv_password}"',
        f"rouser {user.user} priv",
    ]
    agents = []
    for n in range(0, len(ports), PORTS_PER_AGENT):
        mine = ports[n : n + PORTS_PER_AGENT]
        # One agentaddress line binds at most 128 ports; lines of 50 add up.
        listen = [
            "agentaddress " + ",".join(f"udp:{HOST}:{p}" for p in mine[k : k + 50])
            for k in range(0, len(mine), 50)
        ]
        conf = folder / f"agent-{n}.conf"
        conf.write_text("\n".join([*listen, *account, *values]) + "\n")
        conf.chmod(0o600)
        persist = folder / f"agent-{n}.persist"
        command = [snmpd, "-f", "-C", "-c", str(conf), "-Lf", str(folder / f"agent-{n}.log")]
        agents.append(
            subprocess.Popen(
                [*command, "-p", str(folder / f"agent-{n}.pid")],
                env={**os.environ, "SNMP_PERSISTENT_DIR": str(persist), "MIBS": ""},
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
    return agents


async def until_answering(poller: Poller) -> None:
    """Poll every device (bounded: 30 rounds) until all of them answer the v3 user at once."""
    for _ in range(30):
        if all(state.up for state in await poller.poll_all()):
            return
        await asyncio.sleep(0.25)
    down = sum(not state.up for state in poller.states.values())
    raise SystemExit(f"{down} simulated agents never answered the v3 user")


class AgentMeter:
    """The agents' CPU (from /proc) and received messages (snmpInPkts, read over SNMPv3)."""

    def __init__(
        self, agents: list[subprocess.Popen[bytes]], ports: list[int], user: V3Credentials
    ) -> None:
        self.pids = [a.pid for a in agents]
        first = ports[::PORTS_PER_AGENT]
        self.clients = [UserClient(HOST, p, user, timeout=TIMEOUT, retries=RETRIES) for p in first]

    async def reading(self) -> tuple[float, int]:
        """(CPU-seconds, messages received) summed over the agents now."""
        answers = await asyncio.gather(*(c.get([SNMP_IN_PKTS]) for c in self.clients))
        packets = sum(v for answer in answers for _, v in answer if isinstance(v, int))
        return sum(_cpu(pid) for pid in self.pids), packets

    async def since(self, before: tuple[float, int]) -> tuple[float, int]:
        """CPU and messages since `before`, less this meter's own one GET per agent."""
        cpu, packets = await self.reading()
        return cpu - before[0], packets - before[1] - len(self.clients)

    def close(self) -> None:
        for client in self.clients:
            client.close()


def v3_targets(ports: list[int], user: V3Credentials) -> list[Target]:
    """Poll targets as the inventory makes them for `protocol: snmpv3` devices."""
    profile = _profile()
    return [
        Target(
            name=f"ups-{n}",
            kind=profile.kind,
            room="r",
            rack="",
            protocol="snmpv3",
            host=HOST,
            port=port,
            profile=profile,
            user=user.user,
            auth_password=user.auth_password,
            priv_password=user.priv_password,
            timeout=TIMEOUT,
            retries=RETRIES,
        )
        for n, port in enumerate(ports)
    ]


def exporter_config(folder: Path, user: V3Credentials) -> Path:
    """snmp.yml in the format of Debian's snmp_exporter 0.21: the v3 user inside the module.

    (0.21 predates the separate `auths:` section of later releases; the module is named
    `bench` because dcim_bench's scrape asks for that module.)
    """
    auth = {
        "username": user.user,
        "security_level": "authPriv",
        "password": user.auth_password,
        "auth_protocol": "SHA",
        "priv_protocol": "AES",
        "priv_password": user.priv_password,
    }
    lines = ["bench:", "  version: 3", "  auth:"]
    lines += [f'    {key}: "{value}"' for key, value in auth.items()]
    lines += [f"  timeout: {TIMEOUT:g}s", f"  retries: {RETRIES}", "  get:"]
    lines += [f"    - {oid}" for oid in OIDS]
    lines.append("  metrics:")
    for n, oid in enumerate(OIDS):
        lines += [f"    - name: oid_{n}", f"      oid: {oid}", "      type: gauge"]
    path = folder / "snmp.yml"
    path.write_text("\n".join(lines) + "\n")
    path.chmod(0o600)
    return path


def start_exporter(folder: Path, user: V3Credentials) -> tuple[subprocess.Popen[bytes], int]:
    """prometheus-snmp-exporter with the v3 module, on a free loopback TCP port."""
    program = find_program("prometheus-snmp-exporter")
    if program is None:
        raise SystemExit("needs apt-get install -y prometheus-snmp-exporter")
    port = free_port(socket.SOCK_STREAM)
    log = folder / "exporter.log"
    with log.open("wb") as errors:
        process = subprocess.Popen(
            [
                program,
                f"--config.file={exporter_config(folder, user)}",
                f"--web.listen-address={HOST}:{port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
        )
    _wait_accepting(port, f"snmp_exporter did not start; see {log}")
    return process, port


async def scrape_rounds(port: int, ports: list[int], rounds: int) -> tuple[float, int]:
    """rounds × every device through snmp_exporter, PARALLEL scrapes in flight: (wall s, ok)."""
    slots = asyncio.Semaphore(PARALLEL)

    async def one(target: int) -> bool:
        async with slots:
            try:
                return await asyncio.wait_for(_scrape(port, target), 4 * TIMEOUT)
            except (OSError, TimeoutError):
                return False

    ok, wall0 = 0, time.perf_counter()
    for _ in range(rounds):
        ok += sum(await asyncio.gather(*(one(p) for p in ports)))
    return time.perf_counter() - wall0, ok


async def poll_rounds(poller: Poller, rounds: int) -> tuple[float, float, int]:
    """rounds × every device through the dcops poller: (wall s, CPU s of this process, ok)."""
    ok = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(rounds):
        states = await poller.poll_all()
        ok += sum(s.up and len(s.readings) == len(OIDS) for s in states)
    return time.perf_counter() - wall0, time.process_time() - cpu0, ok


async def measure(
    args: argparse.Namespace,
    agents: list[subprocess.Popen[bytes]],
    exporter: tuple[subprocess.Popen[bytes], int],
    ports: list[int],
    user: V3Credentials,
    started: float,
) -> tuple[Phase, Phase, str]:
    """Alternate the two phases args.repeats times after a warm-up of each."""
    poller = Poller(v3_targets(ports, user), interval=10, concurrency=PARALLEL)
    meter = AgentMeter(agents, ports, user)
    process, port = exporter
    dcops, peer = Phase("dcops"), Phase("snmp_exporter")
    try:
        # Warm-up, not counted: dcops discovers each engine and derives the localized keys
        # once (and this waits for the agents); the exporter's Go runtime grows its pools.
        await until_answering(poller)
        await scrape_rounds(port, ports, 1)
        polls = len(ports) * args.rounds
        for _ in range(args.repeats):
            if time.monotonic() - started > MAX_SECONDS:
                break
            before = await meter.reading()
            wall, cpu, ok = await poll_rounds(poller, args.rounds)
            dcops.add(polls, ok, wall, cpu, await meter.since(before))
            before, cpu0 = await meter.reading(), _cpu(process.pid)
            wall, ok = await scrape_rounds(port, ports, args.rounds)
            peer.add(polls, ok, wall, _cpu(process.pid) - cpu0, await meter.since(before))
        reasons = {s.last_reason for s in poller.states.values() if not s.up} - {""}
    finally:
        await poller.close()
        meter.close()
    return dcops, peer, ", ".join(sorted(reasons)) or "none"


def main() -> None:
    """Start the agents and the exporter, measure, stop them, write the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=DEVICES)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--dry-run", action="store_true", help="print, do not write the docs")
    args = parser.parse_args()
    started = time.monotonic()
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    user = V3Credentials(USER, secrets.token_hex(12), secrets.token_hex(12))
    folder = Path(tempfile.mkdtemp(prefix="dcops-snmpv3-bench-"))
    load_before = os.getloadavg()[0]
    ports = free_ports(args.devices)
    agents = start_agents(folder, ports, user)
    try:
        exporter = start_exporter(folder, user)
    except BaseException:
        stop(agents)
        raise
    try:
        dcops, peer, down = asyncio.run(measure(args, agents, exporter, ports, user, started))
    finally:
        stop([*agents, exporter[0]])
    shutil.rmtree(folder, ignore_errors=True)
    body = report(args, dcops, peer, down, load_before, time.monotonic() - started)
    if not args.dry_run:
        record("snmpv3", body)
    print(body)


def report(
    args: argparse.Namespace, dcops: Phase, peer: Phase, down: str, load_before: float, took: float
) -> str:
    """The section's text: conditions, the table, the ratio and the verdict."""
    per_cpu = (dcops.ok / max(dcops.cpu, 1e-9)) / max(peer.ok / max(peer.cpu, 1e-9), 1e-9)
    per_wall = (dcops.ok / dcops.wall) / max(peer.ok / peer.wall, 1e-9)
    ratios = [d / max(p, 1e-9) for d, p in zip(dcops.per_cpu, peer.per_cpu, strict=True)]
    verdict = "**met**" if per_cpu >= 1 and dcops.ok == dcops.polls else "**not met**"
    from importlib.metadata import version

    exporter_version = subprocess.run(
        [find_program("prometheus-snmp-exporter") or "prometheus-snmp-exporter", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    first = (exporter_version.stdout + exporter_version.stderr).splitlines()[:1]
    return f"""Load average {load_before:.1f} at the start and {os.getloadavg()[0]:.1f} at the end, on {os.cpu_count()} cores (other work shares the machine; figures are noisy). Whole run {took:.0f} s.

{args.devices} simulated UPS × {len(OIDS)} OIDs (Debian snmpd, {PORTS_PER_AGENT} ports per process), one USM user
(SHA + AES-128, `rouser ... priv`); {args.rounds} rounds of every device per phase after one warm-up round each,
the two phases alternated {len(dcops.per_cpu)} times; {PARALLEL} device polls in flight for both; timeout
{TIMEOUT:g} s with {RETRIES} retry. dcops {version("dcops")} CPU is the poller process; snmp_exporter
({first[0] if first else "version unknown"}) CPU is the exporter process (the scrape driver is not counted).
Agent columns: the snmpd processes' CPU and the messages they received (snmpInPkts), per successful poll.

| poller | device polls ok | devices/s | CPU-s per 1,000 polls | devices per CPU-second | agent CPU-s per 1,000 polls | agent messages per poll |
|---|---|---|---|---|---|---|
{dcops.row("dcops (own BER codec and USM, asyncio)")}
{peer.row("prometheus-snmp-exporter (Debian, Go)")}
| ratio dcops / snmp_exporter | | {per_wall:.2f} | | {per_cpu:.2f} | | |

Target (devices per CPU-second, dcops ≥ 1× snmp_exporter, every poll ok): {verdict} ({per_cpu:.2f}×;
per alternation {", ".join(f"{r:.2f}" for r in ratios)}, median {statistics.median(ratios):.2f}).
dcops devices down after the last round, by reason: {down}.
"""


if __name__ == "__main__":
    main()
