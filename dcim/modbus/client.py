"""Modbus TCP client: read holding or input registers; units behind one gateway are serialised."""

from __future__ import annotations

import asyncio
import struct
from typing import Protocol

from dcops.dcim.faults import DeviceFault

READ_HOLDING, READ_INPUT = 3, 4
MAX_REGISTERS = 125
EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


class RegisterReader(Protocol):
    """What the poller needs of Modbus: read count registers of a unit from start."""

    async def read(self, unit: int, function: int, start: int, count: int) -> list[int]:
        """The register values."""
        ...

    async def close(self) -> None:
        """Close the connections."""
        ...


class Connection:
    """One TCP connection; one request in flight at a time (Modbus has no pipelining)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.lock = asyncio.Lock()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.transaction = 0

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None or self.writer.is_closing():
            try:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            except ConnectionRefusedError:
                raise DeviceFault(
                    "refused", f"connection refused by {self.host}:{self.port}"
                ) from None
            except OSError as exc:
                raise DeviceFault(
                    "other", f"cannot connect to {self.host}:{self.port}: {exc}"
                ) from None
        return self.reader, self.writer

    def drop(self) -> None:
        """Forget the connection after an error, so the next request starts clean."""
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None

    async def request(self, unit: int, pdu: bytes) -> bytes:
        """Send one PDU to unit and return the answer PDU."""
        reader, writer = await self._open()
        self.transaction = (self.transaction + 1) & 0xFFFF
        header = struct.pack(">HHHB", self.transaction, 0, len(pdu) + 1, unit)
        writer.write(header + pdu)
        while True:
            head = await reader.readexactly(7)
            transaction, protocol, size, answered_unit = struct.unpack(">HHHB", head)
            if protocol != 0 or not 2 <= size <= 260:
                raise DeviceFault("decode", f"bad Modbus header {head.hex()}")
            body = await reader.readexactly(size - 1)
            if transaction == self.transaction and answered_unit == unit:
                return body


class ModbusTcpClient:
    """Modbus TCP to one address; with several connections requests spread over them."""

    def __init__(
        self, host: str, port: int, timeout: float = 2.0, retries: int = 1, connections: int = 1
    ) -> None:
        self.host, self.port = host, port
        self.attempt_timeout = timeout / (retries + 1)
        self.retries = retries
        self._connections = [Connection(host, port) for _ in range(max(1, connections))]
        self._next = 0

    def _pick(self) -> Connection:
        free = [c for c in self._connections if not c.lock.locked()]
        if free:
            return free[0]
        self._next = (self._next + 1) % len(self._connections)
        return self._connections[self._next]

    async def take_turn(self) -> Connection:
        """Wait for a connection of the gateway and hold it: one unit's turn on the bus.

        The wait is the gateway's serialisation, not the unit's time: a unit's own time budget
        starts once its turn begins, so a dead unit ahead in line cannot time out a healthy one.
        Give the turn back with `end_turn`.
        """
        connection = self._pick()
        await connection.lock.acquire()
        return connection

    @staticmethod
    def end_turn(connection: Connection) -> None:
        """Give the connection to the next unit in line."""
        connection.lock.release()

    async def read(self, unit: int, function: int, start: int, count: int) -> list[int]:
        """Read count registers of unit from start (function 3 holding, 4 input)."""
        connection = await self.take_turn()
        try:
            return await self.read_on(connection, unit, function, start, count)
        finally:
            self.end_turn(connection)

    async def read_on(
        self, connection: Connection, unit: int, function: int, start: int, count: int
    ) -> list[int]:
        """Read registers on a connection whose turn the caller holds."""
        pdu = struct.pack(">BHH", function, start, count)
        for attempt in range(self.retries + 1):
            try:
                answer = await asyncio.wait_for(connection.request(unit, pdu), self.attempt_timeout)
                break
            except TimeoutError:
                connection.drop()
                if attempt == self.retries:
                    raise DeviceFault(
                        "timeout", f"unit {unit} at {self.host}:{self.port} did not answer"
                    ) from None
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                connection.drop()
                if attempt == self.retries:
                    raise DeviceFault(
                        "other", f"connection to {self.host}:{self.port} lost: {exc}"
                    ) from None
        return _registers(answer, function, count, unit)

    async def close(self) -> None:
        """Close every connection."""
        for connection in self._connections:
            connection.drop()


def _registers(answer: bytes, function: int, count: int, unit: int) -> list[int]:
    if answer and answer[0] == function | 0x80:
        code = answer[1] if len(answer) > 1 else 0
        name = EXCEPTION_NAMES.get(code, "unknown")
        raise DeviceFault("exception", f"unit {unit} answered exception {code} ({name})")
    if (
        len(answer) < 2
        or answer[0] != function
        or answer[1] != 2 * count
        or len(answer) != 2 + 2 * count
    ):
        raise DeviceFault("decode", f"unit {unit} sent a malformed answer ({answer[:8].hex()})")
    return list(struct.unpack(f">{count}H", answer[2:]))
