"""SNMP notifications as a receiver sees them: v2c and v3 traps and informs, their answers."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from dcops.dcim.snmp import ber
from dcops.dcim.snmp.pdu import INFORM, RESPONSE, TRAP_V2, VERSION_2C, Pdu, parse_community_message
from dcops.dcim.snmp.usm import (
    FLAG_AUTH,
    FLAG_PRIV,
    VERSION_3,
    Engine,
    UserKeys,
    UsmError,
    parse_message,
    report_message,
    secure_message,
)

SNMP_TRAP_OID = "1.3.6.1.6.3.1.1.4.1.0"
UNKNOWN_ENGINE_IDS = "1.3.6.1.6.3.15.1.1.4.0"


@dataclass(frozen=True)
class Security:
    """Who a v3 message says it is from, read before any key is known."""

    msg_id: int
    flags: int
    engine_id: bytes
    user: bytes


@dataclass(frozen=True)
class Notification:
    """A decoded trap or inform: version, who sent it, the trap OID and the varbinds."""

    version: int
    inform: bool
    trap_oid: str
    varbinds: dict[str, ber.Value]
    request_id: int
    context_engine_id: bytes = b""


def message_version(data: bytes) -> int:
    """The SNMP version field of a message (1 = v2c, 3 = v3); BerError if unreadable."""
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    version, _ = ber.read_int(data, start)
    return version


def peek_security(data: bytes) -> Security:
    """The message id, flags, authoritative engine and user of a v3 message."""
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    version, pos = ber.read_int(data, start)
    if version != VERSION_3:
        raise ber.BerError(f"not an SNMPv3 message (version {version})")
    header_start, header_end = ber.expect(data, pos, ber.SEQUENCE)
    msg_id, hpos = ber.read_int(data, header_start)
    _, hpos = ber.read_int(data, hpos)
    flags_raw, _ = ber.read_octets(data, hpos)
    sec_start, _ = ber.expect(data, header_end, ber.OCTET_STRING)
    seq_start, _ = ber.expect(data, sec_start, ber.SEQUENCE)
    engine_id, spos = ber.read_octets(data, seq_start)
    _, spos = ber.read_int(data, spos)
    _, spos = ber.read_int(data, spos)
    user, _ = ber.read_octets(data, spos)
    return Security(msg_id, flags_raw[0] if flags_raw else 0, engine_id, user)


def _notification(version: int, pdu: Pdu) -> Notification:
    if pdu.kind not in (TRAP_V2, INFORM):
        raise ber.BerError(f"not a trap or inform (PDU tag 0x{pdu.kind:02x})")
    values = dict(pdu.varbinds)
    trap_oid = values.get(SNMP_TRAP_OID)
    if not isinstance(trap_oid, str):
        raise ber.BerError("notification without snmpTrapOID.0")
    return Notification(version, pdu.kind == INFORM, trap_oid, values, pdu.request_id)


def parse_v2c(data: bytes) -> tuple[bytes, Notification]:
    """The community and the notification of a v2c message."""
    version, community, pdu = parse_community_message(data)
    if version != VERSION_2C:
        raise ber.BerError(f"not an SNMPv2c message (version {version})")
    return community, _notification(version, pdu)


def parse_v3(data: bytes, keys: UserKeys) -> Notification:
    """The notification of an authPriv v3 message; UsmError if it is not authPriv or fails."""
    security = peek_security(data)
    if security.flags & (FLAG_AUTH | FLAG_PRIV) != FLAG_AUTH | FLAG_PRIV:
        raise UsmError("notification is not authPriv")
    incoming = parse_message(data, keys)
    found = _notification(VERSION_3, incoming.pdu)
    return dataclasses.replace(found, context_engine_id=incoming.context_engine_id)


def response_pdu(request_id: int, varbinds: dict[str, ber.Value]) -> bytes:
    """The Response an inform is acknowledged with: its request id, no error, snmpTrapOID.0 echoed."""
    trap_oid = varbinds[SNMP_TRAP_OID]
    assert isinstance(trap_oid, str)
    listed = ber.sequence(ber.sequence(ber.oid(SNMP_TRAP_OID), ber.oid(trap_oid)))
    return ber.sequence(
        ber.integer(request_id), ber.integer(0), ber.integer(0), listed, tag=RESPONSE
    )


def v2c_response(community: bytes, notification: Notification) -> bytes:
    """The v2c answer to an inform."""
    from dcops.dcim.snmp.pdu import community_message

    body = response_pdu(notification.request_id, notification.varbinds)
    return community_message(community, body)


def v3_response(msg_id: int, notification: Notification, engine: Engine, keys: UserKeys) -> bytes:
    """The authPriv v3 answer to an inform, from this (authoritative) engine."""
    body = response_pdu(notification.request_id, notification.varbinds)
    context = notification.context_engine_id
    return secure_message(msg_id, body, engine, keys, reportable=False, context_engine_id=context)


def discovery_report(data: bytes, engine: Engine, count: int) -> bytes:
    """The Report that tells an inform sender this engine's id, boots and time."""
    security = peek_security(data)
    request_id = _request_id_of_plain(data)
    return report_message(security.msg_id, engine, request_id, UNKNOWN_ENGINE_IDS, count)


def _request_id_of_plain(data: bytes) -> int:
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    _, pos = ber.read_int(data, start)
    _, header_end = ber.expect(data, pos, ber.SEQUENCE)
    _, sec_end = ber.expect(data, header_end, ber.OCTET_STRING)
    scoped_start, _ = ber.expect(data, sec_end, ber.SEQUENCE)
    _, pos = ber.read_octets(data, scoped_start)
    _, pos = ber.read_octets(data, pos)
    _, pdu_start, _ = ber.read(data, pos)
    request_id, _ = ber.read_int(data, pdu_start)
    return request_id
