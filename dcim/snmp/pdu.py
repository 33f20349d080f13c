"""SNMP PDUs and community (v2c) messages: build requests, parse responses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from dcops.dcim.snmp import ber

GET, GETNEXT, RESPONSE, GETBULK, INFORM, TRAP_V2, REPORT = 0xA0, 0xA1, 0xA2, 0xA5, 0xA6, 0xA7, 0xA8
VERSION_2C = 1
ERROR_NAMES = {
    0: "noError",
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    16: "authorizationError",
}


@dataclass(frozen=True)
class Pdu:
    """A decoded SNMP PDU: its type, request id, error status and varbinds."""

    kind: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[str, ber.Value]]


# Pollers ask for the same OIDs poll after poll and agents answer with the same OIDs: both
# encodings are kept, within bounds (hostile answers must not grow them without end).
_REQUESTS: dict[tuple[str, ...], bytes] = {}
_NAMES: dict[bytes, str] = {}
KEPT_REQUESTS, KEPT_NAMES = 1024, 16384


def varbind_list(oids: Sequence[str]) -> bytes:
    """The encoded varbind list asking for these OIDs (values NULL)."""
    null = ber.tlv(ber.NULL, b"")
    return ber.sequence(*(ber.sequence(ber.oid(o), null) for o in oids))


def get_varbinds(oids: Sequence[str]) -> bytes:
    """varbind_list for a GET that is asked again and again: encoded once, then kept."""
    key = tuple(oids)
    encoded = _REQUESTS.get(key)
    if encoded is None:
        encoded = varbind_list(key)
        if len(_REQUESTS) < KEPT_REQUESTS:
            _REQUESTS[key] = encoded
    return encoded


def oid_name(body: bytes) -> str:
    """The dotted form of an OID's content, decoded once and then kept."""
    name = _NAMES.get(body)
    if name is None:
        name = ber.decode_oid(body)
        if len(_NAMES) < KEPT_NAMES:
            _NAMES[body] = name
    return name


def pdu(
    kind: int, request_id: int, varbinds: bytes, non_repeaters: int = 0, reps: int = 0
) -> bytes:
    """A request PDU around an encoded varbind list (for GETBULK the two counts replace errors)."""
    return ber.sequence(
        ber.integer(request_id),
        ber.integer(non_repeaters),
        ber.integer(reps),
        varbinds,
        tag=kind,
    )


def community_message(community: bytes, body: bytes) -> bytes:
    """A v2c message carrying an encoded PDU."""
    return ber.sequence(ber.integer(VERSION_2C), ber.octets(community), body)


def parse_pdu(data: bytes, pos: int = 0) -> Pdu:
    """Decode the PDU at pos."""
    kind, start, _ = ber.read(data, pos)
    if kind not in (GET, GETNEXT, RESPONSE, GETBULK, INFORM, TRAP_V2, REPORT):
        raise ber.BerError(f"not an SNMP PDU (tag 0x{kind:02x})")
    request_id, pos = ber.read_int(data, start)
    status, pos = ber.read_int(data, pos)
    index, pos = ber.read_int(data, pos)
    list_start, list_end = ber.expect(data, pos, ber.SEQUENCE)
    varbinds: list[tuple[str, ber.Value]] = []
    pos = list_start
    while pos < list_end:
        vb_start, vb_end = ber.expect(data, pos, ber.SEQUENCE)
        oid_start, oid_end = ber.expect(data, vb_start, ber.OBJECT_ID)
        tag, v_start, v_end = ber.read(data, oid_end)
        if v_end != vb_end:
            raise ber.BerError(f"varbind at byte {pos} has trailing bytes")
        varbinds.append(
            (oid_name(data[oid_start:oid_end]), ber.decode_value(tag, data[v_start:v_end]))
        )
        pos = vb_end
    return Pdu(kind, request_id, status, index, varbinds)


def parse_community_message(data: bytes) -> tuple[int, bytes, Pdu]:
    """Decode a v1/v2c message: version, community and PDU."""
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    version, pos = ber.read_int(data, start)
    community, pos = ber.read_octets(data, pos)
    return version, community, parse_pdu(data, pos)


def peek_request_id(data: bytes) -> int | None:
    """The request id of a v2c response without decoding its varbinds, or None if unreadable."""
    try:
        start, _ = ber.expect(data, 0, ber.SEQUENCE)
        _, pos = ber.read_int(data, start)
        _, pos = ber.read_octets(data, pos)
        _, pdu_start, _ = ber.read(data, pos)
        request_id, _ = ber.read_int(data, pdu_start)
    except ber.BerError:
        return None
    return request_id
