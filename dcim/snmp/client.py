"""SNMP v2c and v3 clients on asyncio datagram endpoints: GET with many OIDs, GETBULK walks."""

from __future__ import annotations

import asyncio
import ipaddress
import itertools
import random
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from dcops.dcim.faults import DeviceFault
from dcops.dcim.snmp import ber, usm
from dcops.dcim.snmp.pdu import (
    ERROR_NAMES,
    GET,
    GETBULK,
    REPORT,
    Pdu,
    community_message,
    get_varbinds,
    parse_community_message,
    pdu,
    peek_request_id,
    varbind_list,
)

Varbinds = list[tuple[str, ber.Value]]
_ids = itertools.count(random.randrange(1, 1 << 30))
_MAX_WALK_ROUNDS = 64


class SnmpClient(Protocol):
    """What the poller needs of SNMP: GET of many OIDs and walks of table columns."""

    async def get(self, oids: Sequence[str]) -> Varbinds:
        """The values of these OIDs, in order."""
        ...

    async def walk(self, columns: Sequence[str]) -> Varbinds:
        """Every instance below each column OID."""
        ...

    def close(self) -> None:
        """Release the socket."""
        ...


@dataclass(frozen=True)
class V3Credentials:
    """An SNMPv3 authPriv user (SHA + AES-128)."""

    user: str
    auth_password: str
    priv_password: str


class _Endpoint(asyncio.DatagramProtocol):
    """One connected UDP socket; answers are matched to requests by id."""

    def __init__(self, peek: object) -> None:
        self.pending: dict[int, asyncio.Future[bytes]] = {}
        self.transport: asyncio.DatagramTransport | None = None
        self.peek = peek
        self.malformed = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: object) -> None:
        key = self.peek(data)  # type: ignore[operator]
        if key is None:
            self.malformed += 1
        future = self.pending.pop(key, None) if key is not None else None
        if future is not None and not future.done():
            future.set_result(data)

    def error_received(self, exc: Exception) -> None:
        fault = (
            DeviceFault("refused", "port unreachable (nothing listens there)")
            if isinstance(exc, ConnectionRefusedError)
            else DeviceFault("other", f"socket error: {exc}")
        )
        for future in self.pending.values():
            if not future.done():
                future.set_exception(fault)
        self.pending.clear()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None


async def _connected_socket(host: str, port: int) -> socket.socket:
    """A non-blocking UDP socket connected to host:port (names resolved without blocking)."""
    try:
        family = socket.AF_INET6 if ipaddress.ip_address(host).version == 6 else socket.AF_INET
        address: tuple[str, int] = (host, port)
    except ValueError:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        if not infos:
            raise OSError(f"cannot resolve {host}") from None
        family, address = infos[0][0], (str(infos[0][4][0]), int(infos[0][4][1]))
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        sock.connect(address)
    except OSError:
        sock.close()
        raise
    return sock


class _UdpClient:
    """Request/response over one connected UDP socket with a per-attempt timeout and retries."""

    def __init__(self, host: str, port: int, timeout: float, retries: int, peek: object) -> None:
        self.host, self.port = host, port
        self.attempt_timeout = timeout / (retries + 1)
        self.retries = retries
        self._peek = peek
        self._endpoint: _Endpoint | None = None

    async def _open(self) -> _Endpoint:
        if self._endpoint is None or self._endpoint.transport is None:
            loop = asyncio.get_running_loop()
            try:
                sock = await _connected_socket(self.host, self.port)
                _, endpoint = await loop.create_datagram_endpoint(
                    lambda: _Endpoint(self._peek), sock=sock
                )
            except OSError as exc:
                raise DeviceFault("other", f"cannot reach {self.host}:{self.port}: {exc}") from None
            self._endpoint = endpoint
        return self._endpoint

    async def exchange(self, key: int, message: bytes) -> bytes:
        """Send message and wait for the answer that carries key, retrying on silence."""
        endpoint = await self._open()
        loop = asyncio.get_running_loop()
        malformed = endpoint.malformed
        for _ in range(self.retries + 1):
            future: asyncio.Future[bytes] = loop.create_future()
            endpoint.pending[key] = future
            assert endpoint.transport is not None
            endpoint.transport.sendto(message)
            try:
                async with asyncio.timeout(self.attempt_timeout):
                    return await future
            except TimeoutError:
                endpoint.pending.pop(key, None)
        attempts = self.retries + 1
        if endpoint.malformed > malformed:
            raise DeviceFault(
                "decode",
                f"{self.host}:{self.port} answered {endpoint.malformed - malformed} unreadable packet(s)",
            )
        raise DeviceFault(
            "timeout", f"no answer from {self.host}:{self.port} ({attempts} attempt(s))"
        )

    def close(self) -> None:
        if self._endpoint is not None and self._endpoint.transport is not None:
            self._endpoint.transport.close()
        self._endpoint = None


def _checked(answer: Pdu) -> Varbinds:
    if answer.error_status:
        name = ERROR_NAMES.get(answer.error_status, str(answer.error_status))
        raise DeviceFault("decode", f"agent answered {name} (index {answer.error_index})")
    return answer.varbinds


async def _walk(client: SnmpClient, request: object, columns: Sequence[str]) -> Varbinds:
    found: Varbinds = []
    cursor = {c: c for c in columns}
    for _ in range(_MAX_WALK_ROUNDS):
        active = list(cursor)
        if not active:
            break
        reps = max(1, 24 // len(active))
        answer = await request(GETBULK, varbind_list([cursor[c] for c in active]), 0, reps)  # type: ignore[operator]
        for i, (name, value) in enumerate(answer):
            column = active[i % len(active)]
            if column not in cursor:
                continue
            if isinstance(value, ber.Exception_) or not name.startswith(column + "."):
                del cursor[column]
                continue
            found.append((name, value))
            cursor[column] = name
        if not answer:
            break
    return found


class CommunityClient:
    """SNMP v2c: GET with all OIDs in one PDU, GETBULK for tables."""

    def __init__(
        self, host: str, port: int, community: str, timeout: float = 2.0, retries: int = 1
    ) -> None:
        self._udp = _UdpClient(host, port, timeout, retries, peek_request_id)
        self._community = community.encode()

    async def _request(self, kind: int, varbinds: bytes, nr: int = 0, reps: int = 0) -> Varbinds:
        request_id = next(_ids) & 0x7FFFFFFF
        message = community_message(self._community, pdu(kind, request_id, varbinds, nr, reps))
        data = await self._udp.exchange(request_id, message)
        try:
            _, _, answer = parse_community_message(data)
        except ber.BerError as exc:
            raise DeviceFault("decode", f"malformed answer: {exc}") from None
        return _checked(answer)

    async def get(self, oids: Sequence[str]) -> Varbinds:
        """The values of these OIDs, in one GET."""
        return await self._request(GET, get_varbinds(oids))

    async def walk(self, columns: Sequence[str]) -> Varbinds:
        """Every instance below each column, with GETBULK."""
        return await _walk(self, self._request, columns)

    def close(self) -> None:
        """Release the socket."""
        self._udp.close()


_KEY_CACHE: dict[tuple[str, str, str, bytes], usm.UserKeys] = {}
_AUTH_PRIV = usm.FLAG_AUTH | usm.FLAG_PRIV


class UserClient:
    """SNMPv3 authPriv (SHA-1 + AES-128): engine discovery, then signed and encrypted requests."""

    def __init__(
        self,
        host: str,
        port: int,
        credentials: V3Credentials,
        timeout: float = 2.0,
        retries: int = 1,
    ) -> None:
        self._udp = _UdpClient(host, port, timeout, retries, usm.peek_msg_id)
        self._credentials = credentials
        self._engine: usm.Engine | None = None
        self._engine_seen = 0.0
        self._keys: usm.UserKeys | None = None

    async def _discover(self) -> None:
        msg_id = next(_ids) & 0x7FFFFFFF
        message = usm.discovery_message(msg_id, pdu(GET, msg_id, varbind_list([])))
        data = await self._udp.exchange(msg_id, message)
        try:
            incoming = usm.parse_message(data, None)
        except (ber.BerError, usm.UsmError) as exc:
            raise DeviceFault("decode", f"malformed discovery answer: {exc}") from None
        self._set_engine(incoming.engine)

    def _set_engine(self, engine: usm.Engine) -> None:
        self._engine, self._engine_seen = engine, time.monotonic()
        c = self._credentials
        cache_key = (c.user, c.auth_password, c.priv_password, engine.engine_id)
        keys = _KEY_CACHE.get(cache_key)
        if keys is None:
            keys = _KEY_CACHE[cache_key] = usm.user_keys(
                c.user, c.auth_password, c.priv_password, engine.engine_id
            )
        self._keys = keys

    def _now(self) -> usm.Engine:
        assert self._engine is not None
        elapsed = int(time.monotonic() - self._engine_seen)
        return usm.Engine(self._engine.engine_id, self._engine.boots, self._engine.time + elapsed)

    async def _request(self, kind: int, varbinds: bytes, nr: int = 0, reps: int = 0) -> Varbinds:
        if self._engine is None:
            await self._discover()
        for _ in range(2):
            msg_id = next(_ids) & 0x7FFFFFFF
            assert self._keys is not None
            message = usm.secure_message(
                msg_id, pdu(kind, msg_id, varbinds, nr, reps), self._now(), self._keys
            )
            data = await self._udp.exchange(msg_id, message)
            try:
                incoming = usm.parse_message(data, self._keys)
            except usm.UsmError as exc:
                raise DeviceFault("auth", str(exc)) from None
            except ber.BerError as exc:
                raise DeviceFault("decode", f"malformed answer: {exc}") from None
            if incoming.pdu.kind != REPORT:
                if incoming.flags & _AUTH_PRIV != _AUTH_PRIV:  # RFC 3412 7.2: same level
                    raise DeviceFault("auth", "answer was not signed and encrypted; dropped")
                return _checked(incoming.pdu)
            oid = incoming.pdu.varbinds[0][0] if incoming.pdu.varbinds else ""
            reason = usm.REPORTS.get(oid, f"report {oid}")
            if oid.startswith("1.3.6.1.6.3.15.1.1.2"):  # not in time window: resynchronise once
                self._set_engine(incoming.engine)
                continue
            raise DeviceFault("auth", f"SNMPv3 user {self._credentials.user!r}: {reason}")
        raise DeviceFault("auth", "SNMPv3 engine time could not be synchronised")

    async def get(self, oids: Sequence[str]) -> Varbinds:
        """The values of these OIDs, in one signed and encrypted GET."""
        return await self._request(GET, get_varbinds(oids))

    async def walk(self, columns: Sequence[str]) -> Varbinds:
        """Every instance below each column, with GETBULK."""
        return await _walk(self, self._request, columns)

    def close(self) -> None:
        """Release the socket."""
        self._udp.close()
