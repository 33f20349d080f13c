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
