"""SNMPv3 authPriv messages and the encodings the pollers keep between polls."""

from __future__ import annotations

import asyncio
import hashlib
import hmac

import pytest

from dcops.dcim.faults import DeviceFault
from dcops.dcim.snmp import ber, pdu, usm
from dcops.dcim.snmp.client import UserClient, V3Credentials
from dcops.dcim.snmp.pdu import GET, RESPONSE, get_varbinds, oid_name, parse_pdu, varbind_list

ENGINE = usm.Engine(bytes.fromhex("80001f8880aabbccdd"), boots=3, time=12345)
KEYS = usm.user_keys("ops", "auth-pass-1", "priv-pass-1", ENGINE.engine_id)
OIDS = ["1.3.6.1.2.1.33.1.2.1.0", "1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"]


def answer(msg_id: int = 9) -> bytes:
    """A signed and encrypted Response carrying two readings."""
    varbinds = ber.sequence(
        ber.sequence(ber.oid(OIDS[0]), ber.integer(-5)),
        ber.sequence(ber.oid(OIDS[1]), ber.unsigned(4_000_000_000, ber.GAUGE32)),
    )
    return usm.secure_message(msg_id, pdu.pdu(RESPONSE, msg_id, varbinds), ENGINE, KEYS, False)


def test_signed_encrypted_message_parses_back_with_the_same_keys() -> None:
    incoming = usm.parse_message(answer(), KEYS)
    assert incoming.msg_id == 9
    assert incoming.flags == usm.FLAG_AUTH | usm.FLAG_PRIV
    assert incoming.engine == ENGINE
    assert incoming.user == b"ops"
    assert incoming.context_engine_id == ENGINE.engine_id
    assert incoming.pdu.kind == RESPONSE
    assert incoming.pdu.varbinds == [(OIDS[0], -5), (OIDS[1], 4_000_000_000)]


def test_every_altered_octet_is_refused_or_no_longer_authpriv() -> None:
    whole = answer()
    for at in range(len(whole)):
        altered = bytearray(whole)
        altered[at] ^= 0x01
        try:
            incoming = usm.parse_message(bytes(altered), KEYS)
        except (usm.UsmError, ber.BerError):
            continue
        # only the flags octet can change unnoticed here: the client drops what is not authPriv
        assert incoming.flags & usm.FLAG_AUTH == 0, f"octet {at} altered unnoticed"


def downgraded(whole: bytes) -> bytes:
    """The message with its authentication flag cleared (as an attacker on the path could)."""
    start, _ = ber.expect(whole, 0, ber.SEQUENCE)
    _, pos = ber.read_int(whole, start)
    header, _ = ber.expect(whole, pos, ber.SEQUENCE)
    _, pos = ber.read_int(whole, header)
    _, pos = ber.read_int(whole, pos)
    flags_at, _ = ber.expect(whole, pos, ber.OCTET_STRING)
    altered = bytearray(whole)
    altered[flags_at] &= ~usm.FLAG_AUTH
    return bytes(altered)


class Agent(asyncio.DatagramProtocol):
    """A v3 agent on loopback: reports its engine, answers GETs with each OID's position."""

    def __init__(self, tamper: bool) -> None:
        self.tamper = tamper
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        assert self.transport is not None
        try:
            discovery = usm.parse_message(data, None)
        except usm.UsmError:  # signed: a request
            discovery = None
        if discovery is not None:  # tell the engine
            report = usm.report_message(
                discovery.msg_id, ENGINE, discovery.pdu.request_id, "1.3.6.1.6.3.15.1.1.4.0", 1
            )
            self.transport.sendto(report, addr)
            return
        incoming = usm.parse_message(data, KEYS)
        values = ber.sequence(
            *(
                ber.sequence(ber.oid(name), ber.integer(n))
                for n, (name, _) in enumerate(incoming.pdu.varbinds)
            )
        )
        body = pdu.pdu(RESPONSE, incoming.pdu.request_id, values)
        reply = usm.secure_message(incoming.msg_id, body, ENGINE, KEYS, reportable=False)
        self.transport.sendto(downgraded(reply) if self.tamper else reply, addr)


async def poll_agent(tamper: bool) -> list[tuple[str, ber.Value]]:
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: Agent(tamper), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    client = UserClient(
        "127.0.0.1", port, V3Credentials("ops", "auth-pass-1", "priv-pass-1"), 5.0, 0
    )
    try:
        return await client.get(OIDS)
    finally:
        client.close()
        transport.close()


def test_client_reads_a_v3_agent() -> None:
    assert asyncio.run(poll_agent(tamper=False)) == [(OIDS[0], 0), (OIDS[1], 1)]


def test_client_drops_an_answer_that_is_not_authpriv() -> None:
    with pytest.raises(DeviceFault, match="not signed and encrypted") as caught:
        asyncio.run(poll_agent(tamper=True))
    assert caught.value.reason == "auth"


def test_other_keys_fail_authentication() -> None:
    other = usm.user_keys("ops", "another-pass", "priv-pass-1", ENGINE.engine_id)
    with pytest.raises(usm.UsmError, match="failed authentication"):
        usm.parse_message(answer(), other)


def test_the_digest_covers_the_whole_message_with_its_own_place_zeroed() -> None:
    # RFC 3414 6.3.1: HMAC-SHA-1 of the message with the 12 octets zeroed, cut to 12 octets,
    # computed here independently of the writer; the salt's 8 octets follow it.
    whole = answer()
    for end in range(usm.AUTH_LENGTH, len(whole)):
        zeroed = whole[: end - usm.AUTH_LENGTH] + bytes(usm.AUTH_LENGTH) + whole[end:]
        digest = hmac.new(KEYS.auth, zeroed, hashlib.sha1).digest()[: usm.AUTH_LENGTH]
        if digest == whole[end - usm.AUTH_LENGTH : end]:
            assert whole[end] == ber.OCTET_STRING and whole[end + 1] == 8  # the salt follows
            return
    pytest.fail("no HMAC-SHA-96 digest of the zeroed message found in it")


def test_two_messages_never_share_a_salt() -> None:
    first, second = answer(), answer()
    assert first != second
    assert usm.parse_message(first, KEYS).pdu == usm.parse_message(second, KEYS).pdu


def test_kept_get_request_is_the_same_encoding_and_is_kept() -> None:
    oids = [f"1.3.6.1.4.1.99999.7.{n}" for n in range(20)]
    first = get_varbinds(oids)
    assert first == varbind_list(oids)
    assert get_varbinds(tuple(oids)) is first
    request = parse_pdu(pdu.pdu(GET, 1, first))
    assert request.varbinds == [(o, None) for o in oids]


def test_kept_requests_and_names_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdu, "_REQUESTS", {})
    monkeypatch.setattr(pdu, "_NAMES", {})
    monkeypatch.setattr(pdu, "KEPT_REQUESTS", 3)
    monkeypatch.setattr(pdu, "KEPT_NAMES", 5)
    for n in range(10):
        oid = f"1.3.6.1.4.1.99999.{n}"
        assert get_varbinds([oid]) == varbind_list([oid])
        body = ber.oid(oid)[2:]
        assert oid_name(body) == oid
        assert oid_name(body) == oid  # asked again: the same answer, kept or not
    assert len(pdu._REQUESTS) == 3
    assert len(pdu._NAMES) == 5


def test_a_bad_oid_is_an_error_every_time_and_never_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pdu, "_NAMES", {})
    for _ in range(2):
        with pytest.raises(ber.BerError, match="ends inside an arc"):
            oid_name(bytes.fromhex("2b0681"))
    assert pdu._NAMES == {}
