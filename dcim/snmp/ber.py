"""The BER subset that SNMP needs: integers, strings, OIDs, sequences and the SNMP value types."""

from __future__ import annotations

from dataclasses import dataclass

INTEGER, OCTET_STRING, NULL, OBJECT_ID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82

EXCEPTIONS = {
    NO_SUCH_OBJECT: "noSuchObject",
    NO_SUCH_INSTANCE: "noSuchInstance",
    END_OF_MIB_VIEW: "endOfMibView",
}
_UNSIGNED = (COUNTER32, GAUGE32, TIMETICKS, COUNTER64)


class BerError(ValueError):
    """The bytes are not valid BER for what was expected (truncated, garbage, wrong type)."""


@dataclass(frozen=True)
class Exception_:
    """An SNMP varbind exception value (noSuchObject, noSuchInstance, endOfMibView)."""

    tag: int

    def __str__(self) -> str:
        return EXCEPTIONS.get(self.tag, f"exception 0x{self.tag:02x}")


Value = int | bytes | str | None | Exception_


def length(n: int) -> bytes:
    """The BER length octets for a content of n bytes."""
    if n < 0x80:
        return bytes((n,))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, content: bytes) -> bytes:
    """One tag-length-value element."""
    return bytes((tag,)) + length(len(content)) + content


def integer(value: int, tag: int = INTEGER) -> bytes:
    """A signed INTEGER (or an application integer type when tag says so)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def unsigned(value: int, tag: int) -> bytes:
    """An unsigned application integer (Counter32, Gauge32, TimeTicks, Counter64)."""
    size = max(1, (value.bit_length() + 8) // 8)
    return tlv(tag, value.to_bytes(size, "big", signed=False))


def octets(value: bytes, tag: int = OCTET_STRING) -> bytes:
    """An OCTET STRING."""
    return tlv(tag, value)


def oid(dotted: str) -> bytes:
    """An OBJECT IDENTIFIER from its dotted form."""
    parts = [int(p) for p in dotted.strip(".").split(".")]
    if len(parts) < 2:
        raise BerError(f"OID {dotted!r} needs at least two arcs")
    body = bytearray((parts[0] * 40 + parts[1],))
    for arc in parts[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(OBJECT_ID, bytes(body))


def sequence(*items: bytes, tag: int = SEQUENCE) -> bytes:
    """A SEQUENCE (or a constructed PDU when tag says so) of already encoded items."""
    return tlv(tag, b"".join(items))


def read(data: bytes, pos: int) -> tuple[int, int, int]:
    """The tag, content start and content end of the element at pos."""
    try:
        tag = data[pos]
        first = data[pos + 1]
    except IndexError:
        raise BerError(f"truncated element at byte {pos}") from None
    pos += 2
    if first & 0x80:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise BerError(f"bad length at byte {pos - 1}")
        size = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    else:
        size = first
    end = pos + size
    if end > len(data):
        raise BerError(f"element at byte {pos} runs past the end ({end} > {len(data)})")
    return tag, pos, end


def expect(data: bytes, pos: int, tag: int) -> tuple[int, int]:
    """The content start and end of the element at pos, which must have this tag."""
    found, start, end = read(data, pos)
    if found != tag:
        raise BerError(f"expected tag 0x{tag:02x} at byte {pos}, found 0x{found:02x}")
    return start, end


def read_int(data: bytes, pos: int) -> tuple[int, int]:
    """A signed INTEGER at pos and the position after it."""
    start, end = expect(data, pos, INTEGER)
    return int.from_bytes(data[start:end], "big", signed=True), end


def read_octets(data: bytes, pos: int) -> tuple[bytes, int]:
    """An OCTET STRING at pos and the position after it."""
    start, end = expect(data, pos, OCTET_STRING)
    return data[start:end], end


def decode_oid(body: bytes) -> str:
    """The dotted form of an OBJECT IDENTIFIER's content."""
    if not body:
        raise BerError("empty OID")
    first = body[0]
    arcs = [str(min(first // 40, 2)), str(first - 40 * min(first // 40, 2))]
    value = 0
    for byte in body[1:]:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(str(value))
            value = 0
    if body[-1] & 0x80:
        raise BerError("OID ends inside an arc")
    return ".".join(arcs)


def decode_value(tag: int, body: bytes) -> Value:
    """A varbind value: int for integer types, bytes for strings, str for OIDs and IPs."""
    if tag == INTEGER:
        return int.from_bytes(body, "big", signed=True)
    if tag in _UNSIGNED:
        return int.from_bytes(body, "big", signed=False)
    if tag in (OCTET_STRING, OPAQUE):
        return body
    if tag == OBJECT_ID:
        return decode_oid(body)
    if tag == IP_ADDRESS:
        return ".".join(str(b) for b in body)
    if tag == NULL:
        return None
    if tag in EXCEPTIONS:
        return Exception_(tag)
    raise BerError(f"unknown value type 0x{tag:02x}")
