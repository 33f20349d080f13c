"""The poller: every device each interval, each within its own time budget, readings cached."""

from __future__ import annotations

import asyncio
import contextlib
import resource
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from dcops.dcim.decoding import (
    Block,
    Decoded,
    Labels,
    Reading,
    decode_registers,
    decode_scalars,
    decode_tables,
    plan_blocks,
)
from dcops.dcim.faults import DeviceFault, Reason
from dcops.dcim.inventory import Target, rated_current_fallback
from dcops.dcim.modbus.client import Connection, ModbusTcpClient
from dcops.dcim.snmp.client import CommunityClient, SnmpClient, UserClient, V3Credentials

Key = tuple[str, Labels]
GRACE = 0.1


@dataclass
class DeviceState:
    """What the poller knows of one device: health and the cached readings with their times."""

    target: Target
    up: bool = False
    polled: bool = False
    last_success: float | None = None
    duration: float = 0.0
    errors: Counter[str] = field(default_factory=Counter)
    last_error: str = ""
    last_reason: str = ""
    problems: list[str] = field(default_factory=list)
    readings: dict[Key, tuple[float, float]] = field(default_factory=dict)

    def current(self, now: float, max_age: float) -> list[Reading]:
        """Readings refreshed within max_age seconds."""
        return [
            Reading(m, labels, v)
            for (m, labels), (v, t) in self.readings.items()
            if now - t <= max_age
        ]

    def stale(self, now: float, max_age: float) -> int:
        """How many cached readings are older than max_age."""
        return sum(1 for _, t in self.readings.values() if now - t > max_age)


class Poller:
    """Polls targets concurrently within a concurrency budget; keeps a state per device."""

    def __init__(
        self,
        targets: Sequence[Target],
        interval: float = 10.0,
        concurrency: int = 500,
        clock: Callable[[], float] = time.time,
        simulated: bool = False,
    ) -> None:
        self.interval = interval
        self.clock = clock
        self.simulated = simulated  # the targets are `dcops dcim simulate`'s devices, not the room
        self.states = {t.name: DeviceState(t) for t in targets}
        self.polls = 0  # device polls finished so far: what /metrics?after=N waits to pass
        self._polled: asyncio.Event | None = None
        self._budget = asyncio.Semaphore(concurrency)
        self._snmp: dict[str, SnmpClient] = {}
        self._modbus: dict[str, ModbusTcpClient] = {}
        self._in_line = Counter(  # units behind each Modbus endpoint: the longest line to wait in
            t.endpoint or f"{t.host}:{t.port}" for t in targets if t.protocol == "modbus"
        )
        _raise_file_limit(len(targets) + 64)

    @property
    def max_age(self) -> float:
        """Readings older than two intervals are stale."""
        return 2 * self.interval

    def _snmp_client(self, target: Target) -> SnmpClient:
        client = self._snmp.get(target.name)
        if client is None:
            if target.protocol == "snmpv3":
                credentials = V3Credentials(target.user, target.auth_password, target.priv_password)
                client = UserClient(
                    target.host, target.port, credentials, target.timeout, target.retries
                )
            else:
                client = CommunityClient(
                    target.host, target.port, target.community, target.timeout, target.retries
                )
            self._snmp[target.name] = client
        return client

    def _modbus_client(self, target: Target) -> ModbusTcpClient:
        key = target.endpoint or f"{target.host}:{target.port}"
        client = self._modbus.get(key)
        if client is None:
            client = ModbusTcpClient(
                target.host, target.port, target.timeout, target.retries, target.connections
            )
            self._modbus[key] = client
        return client

    async def _read(self, target: Target) -> Decoded:
        """Read and decode one device within its own time budget."""
        # A little grace, so that the transport's own timeout (which knows more) fires first.
        budget = target.timeout + GRACE
        if target.protocol != "modbus":
            async with asyncio.timeout(budget):  # no task of its own, unlike wait_for
                return await self._read_snmp(target)
        client = self._modbus_client(target)
        # Waiting for the gateway (other units' turns) is not charged to this unit: its budget
        # starts with its turn. The wait is bounded by every unit ahead using its whole budget.
        ahead = self._in_line[target.endpoint or f"{target.host}:{target.port}"]
        line = max(self.interval, budget * max(1, ahead))
        try:
            async with asyncio.timeout(line):
                connection = await client.take_turn()
        except TimeoutError:
            raise DeviceFault(
                "timeout",
                f"the gateway {target.host}:{target.port} was busy with other units for {line:g} s",
            ) from None
        try:
            return await asyncio.wait_for(self._read_unit(target, client, connection), budget)
        finally:
            client.end_turn(connection)

    async def _read_unit(
        self, target: Target, client: ModbusTcpClient, connection: Connection
    ) -> Decoded:
        blocks: dict[Block, list[int]] = {}
        for block in plan_blocks(target.profile):
            blocks[block] = await client.read_on(
                connection, target.unit, block.function, block.start, block.count
            )
        return decode_registers(target.profile, blocks)

    async def _read_snmp(self, target: Target) -> Decoded:
        profile = target.profile
        snmp = self._snmp_client(target)
        oids = [s.oid for s in profile.scalars]
        columns = [c.oid for t in profile.tables for c in t.columns]
        scalars = await snmp.get(oids) if oids else []
        rows = await snmp.walk(columns) if columns else []
        decoded = decode_scalars(profile, scalars)
        tables = decode_tables(profile, dict(scalars), rows)
        decoded.merge(tables)
        decoded.readings += rated_current_fallback(target, decoded.readings)
        return decoded

    async def poll_device(self, name: str) -> DeviceState:
        """Poll one device within its time budget and update its state."""
        state = self.states[name]
        target = state.target
        async with self._budget:
            started = time.monotonic()
            try:
                decoded = await self._read(target)
                self._record(state, decoded)
            except TimeoutError:
                self._fail(state, "timeout", f"no complete answer within {target.timeout:g} s")
            except DeviceFault as fault:
                self._fail(state, fault.reason, str(fault))
            except Exception as exc:  # a device must never stop the others
                self._fail(state, "other", f"{type(exc).__name__}: {exc}")
            state.duration = time.monotonic() - started
            state.polled = True
        self.polls += 1
        if self._polled is not None:
            self._polled.set()
            self._polled = None
        return state

    async def next_poll(self, after: int, wait: float) -> None:
        """Return once the count of finished device polls is no longer `after` (another poll
        ended, or the count is from an earlier run of the exporter), or after `wait` seconds."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                while self.polls == after:
                    if self._polled is None:
                        self._polled = asyncio.Event()
                    await self._polled.wait()

    def _record(self, state: DeviceState, decoded: Decoded) -> None:
        now = self.clock()
        state.problems = decoded.problems + [str(d) for d in decoded.out_of_range]
        if decoded.out_of_range:
            state.errors["out_of_range"] += len(decoded.out_of_range)
        for dropped in decoded.out_of_range + decoded.absent:  # an old value must not linger
            state.readings.pop((dropped.metric, dropped.labels), None)
        if len(decoded.readings) <= decoded.implied and not decoded.out_of_range + decoded.absent:
            self._fail(
                state, "decode", "; ".join(decoded.problems) or "the answer held no readings"
            )
            return
        for reading in decoded.readings:
            state.readings[(reading.metric, reading.labels)] = (reading.value, now)
        if decoded.problems:
            state.errors["decode"] += 1
        state.up, state.last_success = True, now
        state.last_error = state.last_reason = ""

    def _fail(self, state: DeviceState, reason: Reason, message: str) -> None:
        state.up = False
        state.errors[reason] += 1
        state.last_reason, state.last_error = reason, message

    async def poll_all(self) -> list[DeviceState]:
        """Poll every device once, concurrently."""
        return list(await asyncio.gather(*(self.poll_device(n) for n in self.states)))

    async def run(self, stop: asyncio.Event) -> None:
        """Poll every interval until stop is set."""
        while not stop.is_set():
            started = time.monotonic()
            await self.poll_all()
            delay = max(0.0, self.interval - (time.monotonic() - started))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def close(self) -> None:
        """Close every socket and connection."""
        for snmp in self._snmp.values():
            snmp.close()
        for modbus in self._modbus.values():
            await modbus.close()


def _raise_file_limit(wanted: int) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
