"""SNMPv3 user-based security (RFC 3414, RFC 3826): SHA-1 authentication and AES-128 privacy."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass

from dcops.dcim.snmp import ber
from dcops.dcim.snmp.pdu import Pdu, parse_pdu

VERSION_3 = 3
USM_MODEL = 3
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 0x01, 0x02, 0x04
AUTH_LENGTH = 12
# Report OIDs (usmStats*) and what they mean for the poller.
REPORTS = {
    "1.3.6.1.6.3.15.1.1.1.0": "unsupported security level",
    "1.3.6.1.6.3.15.1.1.2.0": "not in time window",
    "1.3.6.1.6.3.15.1.1.3.0": "unknown user name",
    "1.3.6.1.6.3.15.1.1.4.0": "unknown engine id",
    "1.3.6.1.6.3.15.1.1.5.0": "wrong digest (wrong authentication password)",
    "1.3.6.1.6.3.15.1.1.6.0": "decryption error (wrong privacy password)",
}


class UsmError(ValueError):
    """The message failed authentication or could not be decrypted."""


def password_key(password: bytes) -> bytes:
    """The SHA-1 key of a password (RFC 3414 A.2.2: hash of 1 MiB of the repeated password)."""
    if not password:
        raise UsmError("empty password")
    repeated = (password * (1048576 // len(password) + 1))[:1048576]
    return hashlib.sha1(repeated).digest()


def localized_key(key: bytes, engine_id: bytes) -> bytes:
    """A key bound to one engine (RFC 3414 2.6)."""
    return hashlib.sha1(key + engine_id + key).digest()


@dataclass(frozen=True)
class UserKeys:
    """A user's localized authentication and privacy keys for one engine."""

    user: bytes
    auth: bytes
    priv: bytes


def user_keys(user: str, auth_password: str, priv_password: str, engine_id: bytes) -> UserKeys:
    """Derive the localized keys of a user for an engine."""
    auth = localized_key(password_key(auth_password.encode()), engine_id)
    priv = localized_key(password_key(priv_password.encode()), engine_id)
    return UserKeys(user.encode(), auth, priv[:16])


@dataclass(frozen=True)
class Engine:
    """What discovery learned of the agent: engine id, boots and time."""

    engine_id: bytes
    boots: int
    time: int


@dataclass(frozen=True)
class Incoming:
    """A decoded v3 message: its id, flags, the security parameters and the PDU."""

    msg_id: int
    flags: int
    engine: Engine
    user: bytes
    pdu: Pdu
    context_engine_id: bytes = b""


def _aes(key: bytes, iv: bytes, data: bytes, encrypt: bool) -> bytes:
    from cryptography.hazmat.decrepit.ciphers.modes import CFB
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

    cipher = Cipher(algorithms.AES(key), CFB(iv))
    op = cipher.encryptor() if encrypt else cipher.decryptor()
    return op.update(data) + op.finalize()


def _security_parameters(engine: Engine, user: bytes, auth: bytes, salt: bytes) -> bytes:
    return ber.sequence(
        ber.octets(engine.engine_id),
        ber.integer(engine.boots),
        ber.integer(engine.time),
        ber.octets(user),
        ber.octets(auth),
        ber.octets(salt),
    )


def discovery_message(msg_id: int, pdu_bytes: bytes) -> bytes:
    """An unauthenticated request that makes the agent report its engine id, boots and time."""
    scoped = ber.sequence(ber.octets(b""), ber.octets(b""), pdu_bytes)
    return _message(
        msg_id, FLAG_REPORTABLE, _security_parameters(Engine(b"", 0, 0), b"", b"", b""), scoped
    )


def report_message(msg_id: int, engine: Engine, request_id: int, oid: str, count: int) -> bytes:
    """An unauthenticated Report from an authoritative engine (discovery answers, RFC 3414 4)."""
    varbinds = ber.sequence(ber.sequence(ber.oid(oid), ber.unsigned(count, ber.COUNTER32)))
    report = ber.sequence(
        ber.integer(request_id), ber.integer(0), ber.integer(0), varbinds, tag=0xA8
    )
    scoped = ber.sequence(ber.octets(engine.engine_id), ber.octets(b""), report)
    return _message(msg_id, 0, _security_parameters(engine, b"", b"", b""), scoped)


def _message(msg_id: int, flags: int, security: bytes, data: bytes) -> bytes:
    header = ber.sequence(
        ber.integer(msg_id), ber.integer(65507), ber.octets(bytes((flags,))), ber.integer(USM_MODEL)
    )
    return ber.sequence(ber.integer(VERSION_3), header, ber.octets(security), data)


def secure_message(
    msg_id: int,
    pdu_bytes: bytes,
    engine: Engine,
    keys: UserKeys,
    reportable: bool = True,
    context_engine_id: bytes | None = None,
) -> bytes:
    """An authPriv message: the scoped PDU AES-encrypted, the whole message HMAC-SHA-96 signed."""
    context = engine.engine_id if context_engine_id is None else context_engine_id
    scoped = ber.sequence(ber.octets(context), ber.octets(b""), pdu_bytes)
    salt = os.urandom(8)
    iv = engine.boots.to_bytes(4, "big") + engine.time.to_bytes(4, "big") + salt
    encrypted = ber.octets(_aes(keys.priv, iv, scoped, encrypt=True))
    security = _security_parameters(engine, keys.user, bytes(AUTH_LENGTH), salt)
    flags = FLAG_AUTH | FLAG_PRIV | (FLAG_REPORTABLE if reportable else 0)
    whole = bytearray(_message(msg_id, flags, security, encrypted))
    # The zeroed authentication parameters end just before the salt's 10 octets (tag, length, 8).
    end = len(whole) - len(encrypted) - 10
    whole[end - AUTH_LENGTH : end] = hmac.digest(keys.auth, whole, "sha1")[:AUTH_LENGTH]
    return bytes(whole)


def peek_msg_id(data: bytes) -> int | None:
    """The message id of a v3 message, or None if unreadable."""
    try:
        start, _ = ber.expect(data, 0, ber.SEQUENCE)
        _, pos = ber.read_int(data, start)
        header_start, _ = ber.expect(data, pos, ber.SEQUENCE)
        msg_id, _ = ber.read_int(data, header_start)
    except ber.BerError:
        return None
    return msg_id


def parse_message(data: bytes, keys: UserKeys | None) -> Incoming:
    """Decode a v3 message; verify and decrypt it when it is authenticated and keys are given."""
    start, _ = ber.expect(data, 0, ber.SEQUENCE)
    version, pos = ber.read_int(data, start)
    if version != VERSION_3:
        raise ber.BerError(f"not an SNMPv3 message (version {version})")
    header_start, header_end = ber.expect(data, pos, ber.SEQUENCE)
    msg_id, hpos = ber.read_int(data, header_start)
    _, hpos = ber.read_int(data, hpos)
    flags_raw, hpos = ber.read_octets(data, hpos)
    flags = flags_raw[0] if flags_raw else 0
    sec_start, sec_end = ber.expect(data, header_end, ber.OCTET_STRING)
    seq_start, _ = ber.expect(data, sec_start, ber.SEQUENCE)
    engine_id, spos = ber.read_octets(data, seq_start)
    boots, spos = ber.read_int(data, spos)
    time, spos = ber.read_int(data, spos)
    user, spos = ber.read_octets(data, spos)
    auth_start, auth_end = ber.expect(data, spos, ber.OCTET_STRING)
    salt, _ = ber.read_octets(data, auth_end)
    engine = Engine(engine_id, boots, time)
    if flags & FLAG_AUTH:
        if keys is None:
            raise UsmError("authenticated message but no keys")
        zeroed = data[:auth_start] + bytes(auth_end - auth_start) + data[auth_end:]
        digest = hmac.digest(keys.auth, zeroed, "sha1")[:AUTH_LENGTH]
        if not hmac.compare_digest(digest, data[auth_start:auth_end]):
            raise UsmError("response failed authentication")
    scoped = data[sec_end:]
    if flags & FLAG_PRIV:
        if keys is None:
            raise UsmError("encrypted message but no keys")
        cipher, _ = ber.read_octets(scoped, 0)
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + salt
        scoped = _aes(keys.priv, iv, cipher, encrypt=False)
    s_start, _ = ber.expect(scoped, 0, ber.SEQUENCE)
    context, ppos = ber.read_octets(scoped, s_start)
    _, ppos = ber.read_octets(scoped, ppos)
    return Incoming(msg_id, flags, engine, user, parse_pdu(scoped, ppos), context)
