"""Keep secrets out of the journal: redact parameters by key name and by known secret values."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[REDACTED]"

# Key names (case-insensitive, anywhere in the name) whose values are always secret.
SECRET_KEY_PARTS = (
    "psk",
    "pre_shared",
    "preshared",
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "private",
    "credential",
    "api_key",
    "apikey",
    "auth_key",
    "access_key",
    "community",
    "cookie",
    "session",
)
# Key names that are secret only when they are exactly this word or end in it (not "keyboard").
SECRET_KEY_WORDS = ("key", "pin", "otp")
_WORD = re.compile(r"(^|[_\-.])(" + "|".join(SECRET_KEY_WORDS) + r")$")
_MIN_SECRET = 4  # shorter explicit values would redact ordinary words


def is_secret_key(name: str) -> bool:
    """Whether a parameter named like this holds a secret (psk, password, token, key...)."""
    lowered = name.lower()
    return any(part in lowered for part in SECRET_KEY_PARTS) or bool(_WORD.search(lowered))


def redact(value: Any, secrets: Iterable[str] = ()) -> Any:
    """A copy of value (nested dicts, lists, strings) with secrets replaced by [REDACTED]."""
    known = sorted({s for s in secrets if isinstance(s, str) and len(s) >= _MIN_SECRET}, key=len)
    return _redact(value, known[::-1])


def _redact(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, Mapping):
        return {
            str(k): REDACTED
            if is_secret_key(str(k)) and value[k] not in (None, "")
            else _redact(v, secrets)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return [_redact(v, secrets) for v in items]
    if isinstance(value, str):
        for secret in secrets:
            value = value.replace(secret, REDACTED)
        return value
    if value is None or isinstance(value, bool | int | float):
        return value
    return _redact(str(value), secrets)
