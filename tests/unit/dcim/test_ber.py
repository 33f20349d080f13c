"""BER and SNMP message coding: round trips, and bad packets raise instead of crashing."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dcops.dcim.snmp import ber, usm
from dcops.dcim.snmp.pdu import (
    GET,
    RESPONSE,
    community_message,
    parse_community_message,
    pdu,
    varbind_list,
)

OIDS = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).map(
    lambda arcs: "1.3." + ".".join(map(str, arcs))
)


@given(OIDS)
def test_oid_round_trip(oid: str) -> None:
    encoded = ber.oid(oid)
    start, end = ber.expect(encoded, 0, ber.OBJECT_ID)
    assert ber.decode_oid(encoded[start:end]) == oid


@given(st.integers(-(2**63), 2**63 - 1))
def test_integer_round_trip(value: int) -> None:
    assert ber.read_int(ber.integer(value), 0)[0] == value


def test_request_parses_back() -> None:
    message = community_message(
        b"public", pdu(GET, 42, varbind_list(["1.3.6.1.2.1.33.1.2.1.0", "1.3.6.1.2.1.1.1.0"]))
    )
    version, community, parsed = parse_community_message(message)
    assert (version, community, parsed.kind, parsed.request_id) == (1, b"public", GET, 42)
    assert [name for name, _ in parsed.varbinds] == ["1.3.6.1.2.1.33.1.2.1.0", "1.3.6.1.2.1.1.1.0"]


def test_response_values_and_exceptions() -> None:
    varbinds = ber.sequence(
        ber.sequence(ber.oid("1.3.6.1.2.1.33.1.2.1.0"), ber.integer(2)),
        ber.sequence(ber.oid("1.3.6.1.2.1.33.1.2.2.0"), ber.tlv(ber.NO_SUCH_OBJECT, b"")),
        ber.sequence(
            ber.oid("1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"), ber.unsigned(4_000_000_000, ber.GAUGE32)
        ),
        ber.sequence(ber.oid("1.3.6.1.2.1.33.1.6.2.1.2.1"), ber.oid("1.3.6.1.2.1.33.1.6.3.2")),
    )
    _, _, parsed = parse_community_message(community_message(b"c", pdu(RESPONSE, 7, varbinds)))
    values = dict(parsed.varbinds)
    assert values["1.3.6.1.2.1.33.1.2.1.0"] == 2
    assert str(values["1.3.6.1.2.1.33.1.2.2.0"]) == "noSuchObject"
    assert values["1.3.6.1.4.1.318.1.1.12.2.3.1.1.2.1"] == 4_000_000_000
    assert values["1.3.6.1.2.1.33.1.6.2.1.2.1"] == "1.3.6.1.2.1.33.1.6.3.2"


@given(st.binary(max_size=200))
def test_garbage_never_escapes_as_anything_but_ber_error(data: bytes) -> None:
    with contextlib.suppress(ber.BerError):
        parse_community_message(data)


def test_truncated_response_is_a_ber_error() -> None:
    whole = community_message(b"public", pdu(RESPONSE, 1, varbind_list(["1.3.6.1.2.1.1.1.0"])))
    for cut in range(1, len(whole)):
        with pytest.raises(ber.BerError):
            parse_community_message(whole[:cut])


def test_key_localisation_matches_rfc_3414_vector() -> None:
    # RFC 3414 A.3.2: password "maplesyrup", engine 000000000000000000000002, SHA-1.
    key = usm.localized_key(
        usm.password_key(b"maplesyrup"), bytes.fromhex("000000000000000000000002")
    )
    assert key.hex() == "6695febc9288e36282235fc7151f128497b38f3f"


def test_integers_are_written_in_the_fewest_octets() -> None:
    # other SNMP tools reject or misread padded integers
    assert ber.integer(5) == bytes.fromhex("020105")
    assert ber.integer(127) == bytes.fromhex("02017f")
    assert ber.integer(128) == bytes.fromhex("02020080")
    assert ber.integer(-1) == bytes.fromhex("0201ff")
    assert ber.unsigned(5, ber.GAUGE32) == bytes.fromhex("420105")
    assert ber.unsigned(255, ber.GAUGE32) == bytes.fromhex("420200ff")
    assert ber.unsigned(2**32 - 1, ber.COUNTER32) == bytes.fromhex("410500ffffffff")


def test_readings_keep_their_sign_and_counters_never_turn_negative() -> None:
    assert ber.decode_value(ber.INTEGER, bytes.fromhex("fb")) == -5  # e.g. -5 °C outside
    assert ber.decode_value(ber.INTEGER, bytes.fromhex("0100")) == 256
    # some agents send counters without the leading zero octet
    assert ber.decode_value(ber.COUNTER32, bytes.fromhex("ffffffff")) == 2**32 - 1
    assert ber.decode_value(ber.GAUGE32, bytes.fromhex("0100")) == 256
    assert ber.decode_value(ber.COUNTER64, bytes.fromhex("80" + "00" * 7)) == 2**63


def test_ip_addresses_decode_in_dotted_form() -> None:
    assert ber.decode_value(ber.IP_ADDRESS, bytes([10, 30, 0, 21])) == "10.30.0.21"


def test_unknown_value_types_and_exceptions_are_named() -> None:
    with pytest.raises(ber.BerError, match="unknown value type 0x47"):
        ber.decode_value(0x47, b"")
    assert str(ber.Exception_(ber.NO_SUCH_INSTANCE)) == "noSuchInstance"
    assert str(ber.Exception_(0x83)) == "exception 0x83"


def test_long_lengths_are_written_and_read_as_x690_says() -> None:
    # a walk of a long sysDescr or a bulk response passes 127 bytes: long-form lengths
    assert ber.length(127) == bytes.fromhex("7f")
    assert ber.length(128) == bytes.fromhex("8180")
    assert ber.length(255) == bytes.fromhex("81ff")
    assert ber.length(256) == bytes.fromhex("820100")
    assert ber.length(65536) == bytes.fromhex("83010000")
    for size in (128, 300, 70000):
        element = ber.octets(b"x" * size)
        value, end = ber.read_octets(element + b"tail", 0)
        assert value == b"x" * size and end == len(element)
    assert ber.unsigned(127, ber.GAUGE32) == bytes.fromhex("42017f")  # fewest octets here too


@pytest.mark.parametrize(
    ("data", "told"),
    [
        (bytes.fromhex("04"), "truncated element at byte 0"),
        (bytes.fromhex("0480"), "bad length at byte 1"),  # indefinite length: not in SNMP
        (bytes.fromhex("04850000000001") + b"x", "bad length at byte 1"),  # 5 length octets
        (bytes.fromhex("048201"), "bad length at byte 1"),  # length octets cut off
        (bytes.fromhex("0405616263"), "element at byte 2 runs past the end (7 > 5)"),
        (bytes.fromhex("04820100") + b"x" * 255, "element at byte 4 runs past the end (260 > 259)"),
    ],
)
def test_a_malformed_element_is_refused_saying_where(data: bytes, told: str) -> None:
    with pytest.raises(ber.BerError) as refused:
        ber.read(data, 0)
    assert str(refused.value) == told


def test_the_longest_and_shortest_allowed_lengths_are_read() -> None:
    assert ber.read(bytes.fromhex("048400000001") + b"x", 0) == (ber.OCTET_STRING, 6, 7)
    assert ber.read(bytes.fromhex("048100"), 0) == (ber.OCTET_STRING, 3, 3)
    assert ber.read(b"\x00\x00" + bytes.fromhex("0481027879"), 2) == (ber.OCTET_STRING, 5, 7)


def test_oids_need_two_arcs_and_decode_their_first_octet_by_x690() -> None:
    assert ber.oid("1.3") == bytes.fromhex("06012b")
    assert ber.oid(".1.3.6.") == ber.oid("1.3.6")
    with pytest.raises(ber.BerError) as one:
        ber.oid("1")
    assert str(one.value) == "OID '1' needs at least two arcs"
    assert ber.decode_oid(bytes([40])) == "1.0"
    assert ber.decode_oid(bytes([79])) == "1.39"
    assert ber.decode_oid(bytes([80])) == "2.0"
    assert ber.decode_oid(bytes([120, 5])) == "2.40.5"  # the first arc is never above 2
    for body, told in ((b"", "empty OID"), (bytes([43, 0x86]), "OID ends inside an arc")):
        with pytest.raises(ber.BerError) as refused:
            ber.decode_oid(body)
        assert str(refused.value) == told


def test_an_element_of_the_wrong_type_is_refused_naming_both_tags() -> None:
    with pytest.raises(ber.BerError) as refused:
        ber.read_int(b"\x00" + ber.octets(b"a"), 1)
    assert str(refused.value) == "expected tag 0x02 at byte 1, found 0x04"
