"""Bad replies on real sockets: each bad device is reported with its reason, the good ones are
polled in the same pass, and nothing crashes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from dcops.dcim.poller import DeviceState, Poller
from dcops.dcim.profiles import bundled_profile
from dcops.dcim.simulation.simulator import serve_modbus
from dcops.dcim.snmp import ber
from dcops.dcim.snmp.pdu import RESPONSE, community_message, parse_community_message, pdu
from tests.integration.dcim_fleet import loopback_target

pytestmark = pytest.mark.integration

Reply = Callable[[bytes], bytes | None]


def _answer(request: bytes, value: Callable[[str], bytes], status: int = 0) -> bytes:
    _, community, asked = parse_community_message(request)
    varbinds = ber.sequence(
        *(ber.sequence(ber.oid(name), value(name)) for name, _ in asked.varbinds)
    )
    return community_message(community, pdu(RESPONSE, asked.request_id, varbinds, status, 0))


def good(request: bytes) -> bytes:
    """Every OID answers 2."""
    _, _, asked = parse_community_message(request)
    if asked.kind == 0xA5:  # GETBULK: the walk ends at once
        return _answer(request, lambda _: ber.tlv(ber.END_OF_MIB_VIEW, b""))
    return _answer(request, lambda _: ber.integer(2))


MODES: dict[str, Reply] = {
    "good": good,
    "garbage": lambda request: b"\x30\x82\xff\xff not BER at all",
    "truncated": lambda request: good(request)[:-5],
    "no-such-object": lambda request: _answer(request, lambda _: ber.tlv(ber.NO_SUCH_OBJECT, b"")),
    "no-such-instance": lambda request: _answer(
        request, lambda _: ber.tlv(ber.NO_SUCH_INSTANCE, b"")
    ),
    "wrong-type": lambda request: _answer(request, lambda _: ber.octets(b"not a number")),
    "gen-err": lambda request: _answer(request, lambda _: ber.tlv(ber.NULL, b""), status=5),
    "silent": lambda request: None,
}


class FakeAgent(asyncio.DatagramProtocol):
    """A UDP agent on loopback that answers in one bad way."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        answer = self.reply(data)
        if answer is not None and self.transport is not None:
            self.transport.sendto(answer, addr)


async def _poll_fakes() -> dict[str, DeviceState]:
    loop = asyncio.get_running_loop()
    transports = []
    targets = []
    profile = bundled_profile("ups-mib")
    for mode, reply in MODES.items():
        transport, _ = await loop.create_datagram_endpoint(
            lambda r=reply: FakeAgent(r), local_addr=("127.0.0.1", 0)
        )
        transports.append(transport)
        port = transport.get_extra_info("sockname")[1]
        targets.append(loopback_target(mode, port, profile, timeout=0.6))
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    targets.append(loopback_target("refused", closed_port, profile, timeout=0.6))
    poller = Poller(targets, interval=1)
    try:
        states = await poller.poll_all()
        await poller.poll_all()  # a second pass: nothing left behind breaks it
    finally:
        await poller.close()
        for transport in transports:
            transport.close()
    return {s.target.name: s for s in states}


def test_each_bad_snmp_reply_gets_its_reason_and_the_good_device_is_polled() -> None:
    states = asyncio.run(_poll_fakes())
    assert states["good"].up and not states["good"].problems
    expected = {
        "garbage": "decode",
        "truncated": "decode",
        "no-such-object": "decode",
        "no-such-instance": "decode",
        "wrong-type": "decode",
        "gen-err": "decode",
        "silent": "timeout",
        "refused": "refused",
    }
    for name, reason in expected.items():
        state = states[name]
        assert not state.up, name
        assert state.last_reason == reason, (name, state.last_error)
        assert state.errors[reason] == 2, name
    assert "noSuchObject" in states["no-such-object"].last_error
    assert "expected a number" in states["wrong-type"].last_error
    assert "genErr" in states["gen-err"].last_error
    assert "unreadable packet" in states["truncated"].last_error


async def _modbus_run() -> list[tuple[bool, str, str, int]]:
    """Two units on one server; unit 2 is asked for registers it lacks; then the server stops."""
    from pymodbus.simulator import DataType, SimData, SimDevice

    devices = [
        SimDevice(
            id=1, simdata=[SimData(address=0, count=8, values=2345, datatype=DataType.REGISTERS)]
        ),
        SimDevice(
            id=2, simdata=[SimData(address=50, count=8, values=1, datatype=DataType.REGISTERS)]
        ),
    ]
    server, task, port = await serve_modbus(devices)
    profile = bundled_profile("env-sensor")
    targets = [
        loopback_target(f"unit-{unit}", port, profile, unit=unit, timeout=1.0, retries=0)
        for unit in (1, 2)
    ]
    poller = Poller(targets, interval=1)
    seen = []
    try:
        for state in await poller.poll_all():
            seen.append((state.up, state.last_reason, state.last_error, len(state.readings)))
        await server.shutdown()
        task.cancel()
        for state in await poller.poll_all():
            seen.append((state.up, state.last_reason, state.last_error, len(state.readings)))
    finally:
        await poller.close()
    return seen


def test_modbus_exception_and_a_server_that_stops_mid_run() -> None:
    unit1, unit2, unit1_after, unit2_after = asyncio.run(_modbus_run())
    assert unit1[0] and unit1[3] == 3
    assert unit2[:3] == (False, "exception", "unit 2 answered exception 2 (illegal data address)")
    assert not unit1_after[0] and unit1_after[1] in {"refused", "other"}
    assert unit1_after[3] == 3  # earlier readings are kept; they go stale, they do not vanish
    assert not unit2_after[0]
