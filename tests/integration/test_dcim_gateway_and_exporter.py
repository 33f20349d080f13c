"""A dead unit behind a Modbus gateway never times out a healthy one; oversized headers get 431."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from dcops.dcim.exporter import Exporter
from dcops.dcim.poller import Poller
from dcops.dcim.profiles import bundled_profile
from tests.integration.dcim_fleet import loopback_target

pytestmark = pytest.mark.integration

HEALTHY, DEAD = 1, (2, 3)


async def _gateway(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """A Modbus TCP gateway: unit 1 answers at once, units 2 and 3 never answer (dead on the bus)."""
    try:
        while True:
            head = await reader.readexactly(7)
            transaction, _, size, unit = struct.unpack(">HHHB", head)
            pdu = await reader.readexactly(size - 1)
            if unit != HEALTHY:
                continue  # the bus stays silent; the client gives up and reconnects
            function, _, count = struct.unpack(">BHH", pdu)
            body = bytes([function, 2 * count]) + struct.pack(f">{count}H", *[2345] * count)
            writer.write(struct.pack(">HHHB", transaction, 0, len(body) + 1, unit) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


async def _polls(rounds: int) -> list[list[tuple[str, bool, str]]]:
    server = await asyncio.start_server(_gateway, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    profile = bundled_profile("env-sensor")
    # the dead units come first in line, so the healthy one waits for both of their timeouts
    targets = [
        loopback_target(f"unit-{unit}", port, profile, unit=unit, timeout=0.6, retries=0)
        for unit in (*DEAD, HEALTHY)
    ]
    poller = Poller(targets, interval=5)
    seen = []
    try:
        for _ in range(rounds):
            states = await poller.poll_all()
            seen.append([(s.target.name, s.up, s.last_reason) for s in states])
    finally:
        await poller.close()
        server.close()
        await server.wait_closed()
    return seen


def test_a_dead_unit_behind_the_gateway_never_times_out_a_healthy_one() -> None:
    for polled in asyncio.run(_polls(7)):
        outcome = {name: (up, reason) for name, up, reason in polled}
        assert outcome["unit-1"] == (True, ""), polled
        assert outcome["unit-2"] == (False, "timeout") and outcome["unit-3"] == (False, "timeout")


async def _ask(port: int, request: bytes) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    return answer


async def _exporter_run() -> tuple[bytes, bytes, bytes, list[dict[str, Any]]]:
    loop = asyncio.get_running_loop()
    unhandled: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    exporter = Exporter(Poller([], interval=5), "gdc", "test")
    port = await exporter.start("127.0.0.1", 0)
    try:
        huge_header = await _ask(
            port, b"GET /metrics HTTP/1.1\r\nX-Big: " + b"a" * (70 * 1024) + b"\r\n\r\n"
        )
        many_headers = await _ask(
            port,
            b"GET /metrics HTTP/1.1\r\n"
            + b"".join(b"X-%d: %s\r\n" % (i, b"b" * 1000) for i in range(80))
            + b"\r\n",
        )
        normal = await _ask(port, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    finally:
        await exporter.close()
    return huge_header, many_headers, normal, unhandled


def test_an_oversized_request_header_gets_431_and_the_exporter_goes_on() -> None:
    huge_header, many_headers, normal, unhandled = asyncio.run(_exporter_run())
    assert huge_header.startswith(b"HTTP/1.1 431 Request Header Fields Too Large")
    assert many_headers.startswith(b"HTTP/1.1 431")
    assert normal.startswith(b"HTTP/1.1 200 OK")
    assert unhandled == []
