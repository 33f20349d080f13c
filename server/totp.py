"""Time-based one-time passwords (RFC 6238, HMAC-SHA1, 30 s steps, 6 digits) and enrolment URIs."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import struct
from urllib.parse import quote

STEP_SECONDS = 30
DIGITS = 6
WINDOW = 1  # steps either side accepted, for clock drift


def new_secret() -> str:
    """A fresh 160-bit secret in base32, as authenticator apps expect."""
    return base64.b32encode(secrets.token_bytes(20)).decode("ascii").rstrip("=")


def _key(secret: str) -> bytes:
    padded = secret.upper() + "=" * (-len(secret) % 8)
    return base64.b32decode(padded)


def code_at(secret: str, step: int) -> str:
    """The code for one time step (RFC 4226 dynamic truncation)."""
    digest = hmac.new(_key(secret), struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return str(value % 10**DIGITS).zfill(DIGITS)


def step_of(now: float) -> int:
    """The time step a moment falls in."""
    return int(now // STEP_SECONDS)


def matching_step(secret: str, code: str, now: float, last_used: int) -> int | None:
    """The step whose code matches (within the drift window, after last_used), else None.

    A code is good once: steps at or before last_used are refused, so a code seen over a
    shoulder or in a log cannot be replayed.
    """
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_of(now)
    for step in range(current - WINDOW, current + WINDOW + 1):
        if step > last_used and hmac.compare_digest(code_at(secret, step), code):
            return step
    return None


def otpauth_uri(secret: str, user: str, issuer: str) -> str:
    """The otpauth:// URI that authenticator apps read from a QR code."""
    label = quote(f"{issuer}:{user}", safe="")
    return (
        f"otpauth://totp/{label}?secret={secret}&issuer={quote(issuer, safe='')}"
        f"&algorithm=SHA1&digits={DIGITS}&period={STEP_SECONDS}"
    )


def qr_svg_data_uri(uri: str) -> str:
    """The URI as a QR code, an SVG image in a data: URI (for a page or a terminal link)."""
    import segno

    return str(segno.make(uri, error="m").svg_data_uri(scale=4))


def qr_text(uri: str) -> str:
    """The URI as a QR code drawn with block characters, for a terminal."""
    import io

    import segno

    out = io.StringIO()
    segno.make(uri, error="m").terminal(out=out, compact=True)
    return out.getvalue()
