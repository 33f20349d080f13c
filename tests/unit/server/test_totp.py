"""TOTP against RFC 6238's known answers, and its refusal of replays and malformed codes."""

from __future__ import annotations

import base64
import io

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


def test_a_new_secret_is_160_bits_of_unpadded_base32_and_works() -> None:
    secret = totp.new_secret()
    assert len(secret) == 32 and "=" not in secret
    assert len(base64.b32decode(secret)) == 20
    assert secret != totp.new_secret()
    assert totp.code_at(secret, 1).isdigit()


def test_a_lower_case_or_unpadded_secret_gives_the_same_codes() -> None:
    unpadded = base64.b32encode(b"1234567890").decode().rstrip("=")  # 16 chars, no padding
    short = base64.b32encode(b"12345").decode()  # 8 characters
    assert totp.code_at(unpadded.lower(), 7) == totp.code_at(unpadded, 7)
    assert totp.code_at(short, 7) == totp.code_at(short.lower(), 7)
    odd = base64.b32encode(b"123456").decode().rstrip("=")  # needs "======" back
    assert totp.code_at(odd, 7) == totp.code_at(odd + "======", 7)


def test_steps_are_whole_30_second_periods() -> None:
    assert totp.step_of(59.9) == 1 and totp.step_of(60) == 2
    assert isinstance(totp.step_of(1234567890.5), int)


def test_only_one_step_of_drift_either_side_is_accepted() -> None:
    now = 1234567890
    current = totp.step_of(now)
    for offset, accepted in ((-2, False), (-1, True), (1, True), (2, False)):
        code = totp.code_at(SECRET, current + offset)
        found = totp.matching_step(SECRET, code, now, last_used=0)
        assert (found == current + offset) is accepted, offset


def test_codes_of_the_wrong_shape_are_refused_before_any_hashing() -> None:
    good = totp.code_at(SECRET, totp.step_of(1234567890))
    for bad in ("", "12345", "1234567", "12345a", good + "0", " " + good[1:]):
        assert totp.matching_step(SECRET, bad, 1234567890, last_used=0) is None, bad


def test_late_steps_need_the_full_64_bit_counter() -> None:
    step = 2**63 + 5  # a counter past the signed range still gives the RFC 4226 code
    assert totp.code_at(SECRET, step).isdigit()


def test_the_enrolment_uri_escapes_issuer_and_user_and_states_the_parameters() -> None:
    uri = totp.otpauth_uri("ABCDEF", "li na/2", "dcops/gdc 1")
    assert uri == (
        "otpauth://totp/dcops%2Fgdc%201%3Ali%20na%2F2?secret=ABCDEF&issuer=dcops%2Fgdc%201"
        "&algorithm=SHA1&digits=6&period=30"
    )


def test_the_qr_codes_carry_the_uri() -> None:
    import segno

    uri = totp.otpauth_uri(SECRET, "chenjing", "dcops-gdc")
    drawn = totp.qr_text(uri)
    expected = io.StringIO()
    segno.make(uri, error="m").terminal(out=expected, compact=True)
    assert drawn == expected.getvalue() and len(drawn.splitlines()) > 10
    assert totp.qr_svg_data_uri(uri) == segno.make(uri, error="m").svg_data_uri(scale=4)
