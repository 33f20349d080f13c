"""TOTP against RFC 6238's known answers, and its refusal of replays and malformed codes."""

from __future__ import annotations

import base64

from dcops.server import totp

# RFC 6238 appendix B, SHA-1 secret "12345678901234567890"; the 8-digit answers' last 6 digits.
SECRET = base64.b32encode(b"12345678901234567890").decode()
KNOWN = {59: "287082", 1111111109: "081804", 1234567890: "005924", 2000000000: "279037"}


def test_codes_match_the_rfc_6238_vectors() -> None:
    for moment, code in KNOWN.items():
        assert totp.code_at(SECRET, totp.step_of(moment)) == code


def test_a_code_is_accepted_once_and_only_near_its_time() -> None:
    step = totp.matching_step(SECRET, "005924", 1234567890, last_used=0)
    assert step == totp.step_of(1234567890)
    assert totp.matching_step(SECRET, "005924", 1234567890, last_used=step) is None
    assert totp.matching_step(SECRET, "005924", 1234567890 + 300, last_used=0) is None
    assert totp.matching_step(SECRET, "00592x", 1234567890, last_used=0) is None


def test_the_enrolment_uri_names_issuer_and_user() -> None:
    uri = totp.otpauth_uri(SECRET, "chenjing", "dcops-gdc")
    assert uri.startswith("otpauth://totp/dcops-gdc%3Achenjing?secret=")
    assert totp.qr_svg_data_uri(uri).startswith("data:image/svg+xml")
