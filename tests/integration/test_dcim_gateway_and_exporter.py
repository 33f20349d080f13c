"""A dead unit behind a Modbus gateway never times out a healthy one; oversized headers get 431."""

from __future__ import annotations

import asyncio
import struct
from typing import Any

import pytest

from dcops.dcim.exporter import MAX_HELD, Exporter
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


async def _get(port: int, path: str) -> tuple[str, dict[str, str], bytes]:
    answer = await _ask(port, f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *lines = head.decode().split("\r\n")
    return status, dict(line.split(": ", 1) for line in lines), body


async def _waiting_reads() -> dict[str, Any]:
    server = await asyncio.start_server(_gateway, "127.0.0.1", 0)
    gateway = server.sockets[0].getsockname()[1]
    target = loopback_target(
        "env-a01", gateway, bundled_profile("env-sensor"), unit=HEALTHY, timeout=2.0, retries=0
    )
    poller = Poller([target], interval=30)  # one poll now, the next only when asked below
    exporter = Exporter(poller, "gdc", "test")
    port = await exporter.start("127.0.0.1", 0)
    seen: dict[str, Any] = {}
    try:
        await poller.poll_all()
        _, head, _ = await _get(port, "/metrics")
        seen["polls"] = int(head["X-Dcops-Polls"])
        held = asyncio.create_task(_get(port, f"/metrics?after={seen['polls']}&wait=30"))
        await asyncio.sleep(0.5)
        seen["held before the poll"] = not held.done()
        await poller.poll_all()
        _, head, body = await asyncio.wait_for(held, 20)
        seen["after the poll"] = int(head["X-Dcops-Polls"])
        seen["body"] = body.decode()
        # a count from an exporter's earlier life (higher than now) is answered at once
        _, head, _ = await asyncio.wait_for(_get(port, "/metrics?after=999999&wait=30"), 20)
        seen["earlier life"] = int(head["X-Dcops-Polls"])
        seen["bad"] = (await _get(port, "/metrics?after=soon"))[0]
        # At most MAX_HELD requests are held for the next poll; one more is answered at once.
        now = seen["earlier life"]
        holders = [
            asyncio.create_task(_get(port, f"/metrics?after={now}&wait=30"))
            for _ in range(MAX_HELD)
        ]
        await asyncio.sleep(0.5)
        _, head, _ = await asyncio.wait_for(_get(port, f"/metrics?after={now}&wait=30"), 10)
        seen["past the cap"] = int(head["X-Dcops-Polls"])
        seen["held at the cap"] = sum(not h.done() for h in holders)
        await poller.poll_all()
        await asyncio.wait_for(asyncio.gather(*holders), 20)
    finally:
        await exporter.close()
        await poller.close()
        server.close()
        await server.wait_closed()
    return seen


def test_metrics_after_a_count_waits_for_the_next_poll() -> None:
    seen = asyncio.run(_waiting_reads())
    assert seen["held before the poll"], "the exporter answered before another poll finished"
    assert seen["after the poll"] == seen["polls"] + 1
    assert "dcops_dcim_env_temperature_celsius{" in seen["body"]
    assert seen["earlier life"] == seen["polls"] + 1
    assert seen["bad"] == "HTTP/1.1 400 Bad Request"
    assert seen["held at the cap"] == MAX_HELD
    assert seen["past the cap"] == seen["earlier life"], "a request past the cap was held too"


async def _fed(rounds: int) -> tuple[list[int], int, Any]:
    from dcops.server.room_feed import RoomFeed

    server = await asyncio.start_server(_gateway, "127.0.0.1", 0)
    gateway = server.sockets[0].getsockname()[1]
    target = loopback_target(
        "env-a01", gateway, bundled_profile("env-sensor"), unit=HEALTHY, timeout=2.0, retries=0
    )
    poller = Poller([target], interval=30)
    exporter = Exporter(poller, "gdc", "test")
    port = await exporter.start("127.0.0.1", 0)
    reads: list[int] = []
    metric = "dcops_dcim_env_temperature_celsius"
    feed = RoomFeed("gdc", [f"127.0.0.1:{port}"], {metric}, lambda: reads.append(poller.polls))
    try:
        await poller.poll_all()
        feed.start()
        for _ in range(rounds):
            await asyncio.sleep(1.0)
            before = len(reads)
            await poller.poll_all()
            for _ in range(200):  # the feed reads again as soon as the poll has ended
                if len(reads) > before:
                    break
                await asyncio.sleep(0.05)
        await asyncio.to_thread(feed.stop)
        [reading] = feed.current()
    finally:
        await exporter.close()
        await poller.close()
        server.close()
        await server.wait_closed()
    return reads, poller.polls, reading


def test_the_console_feed_reads_each_poll_once_as_it_ends() -> None:
    reads, polls, reading = asyncio.run(_fed(4))
    assert reading.up and reading.samples, reading
    name, labels, value = reading.samples[0]
    assert (name, labels["device"], value) == (
        "dcops_dcim_env_temperature_celsius",
        "env-a01",
        23.45,
    )
    assert set(range(2, polls + 1)) <= set(reads), "a poll was not read when it ended"
    assert len(reads) <= polls + 2, f"{len(reads)} reads for {polls} polls: the feed did not wait"
