"""Argon2id password hashes and the site's password policy (等保2.0 8.1.4.1 a)."""

from __future__ import annotations

import string
from collections.abc import Iterable
from typing import TYPE_CHECKING

from dcops.core.errors import InvalidInput, Problem

if TYPE_CHECKING:
    from argon2 import PasswordHasher

    from dcops.core.access import PasswordPolicy

# Argon2id, tuned so that one login's check costs 50-250 ms on the 2-core build machine, idle
# or loaded (docs/performance.md has the figures; bench/server_bench.py measures them): 46 MiB,
# 2 passes, 1 lane. OWASP's floor (19 MiB, 2 passes) took 34 ms here when the machine was quiet.
TIME_COST = 2
MEMORY_KIB = 47104
PARALLELISM = 1
MAX_PASSWORD_CHARS = 256

_hasher: PasswordHasher | None = None


def hasher() -> PasswordHasher:
    """The Argon2id hasher with the site's parameters (created once)."""
    global _hasher
    if _hasher is None:
        from argon2 import PasswordHasher, Type

        _hasher = PasswordHasher(
            time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM, type=Type.ID
        )
    return _hasher


def hash_password(password: str) -> str:
    """An Argon2id hash (PHC string: parameters and salt included)."""
    return hasher().hash(password)


def verify_password(encoded: str, password: str) -> bool:
    """Whether the password matches the hash; never raises on a mismatch."""
    from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

    if len(password) > MAX_PASSWORD_CHARS:
        return False
    try:
        return bool(hasher().verify(encoded, password))
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


_CLASSES = (
    ("lower case", set(string.ascii_lowercase)),
    ("upper case", set(string.ascii_uppercase)),
    ("digits", set(string.digits)),
)


def classes_in(password: str) -> int:
    """How many of lower case, upper case, digits and other characters the password uses."""
    used = sum(1 for _, chars in _CLASSES if chars & set(password))
    other = any(not (c.isascii() and c.isalnum()) for c in password)
    return used + (1 if other else 0)


def check_policy(
    password: str, policy: PasswordPolicy, user: str, earlier: Iterable[str] = ()
) -> None:
    """Refuse a new password the policy does not allow; the message never repeats the password."""
    wrong: list[str] = []
    if len(password) < policy.min_length:
        wrong.append(f"至少 {policy.min_length} 个字符 / at least {policy.min_length} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        wrong.append(f"至多 {MAX_PASSWORD_CHARS} 个字符 / at most {MAX_PASSWORD_CHARS} characters")
    if classes_in(password) < policy.classes:
        wrong.append(
            f"至少 {policy.classes} 类字符 / at least {policy.classes} of: lower case, upper "
            "case, digits, other characters"
        )
    if user and user.lower() in password.lower():
        wrong.append("不得包含用户名 / must not contain the user name")
    if not wrong and any(verify_password(old, password) for old in earlier):
        wrong.append(
            f"不得与最近 {policy.history} 个密码相同 / must differ from the last "
            f"{policy.history} passwords"
        )
    if wrong:
        raise InvalidInput(
            "密码不符合策略 / the password does not meet the site's policy",
            [Problem("request", "password", message) for message in wrong],
        )
