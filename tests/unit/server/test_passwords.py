"""Argon2id hashes with the documented cost, and the password policy's refusals field by field."""

from __future__ import annotations

import pytest

from dcops.core.access import PasswordPolicy
from dcops.core.errors import InvalidInput
from dcops.server import passwords
from dcops.server.passwords import (
    MAX_PASSWORD_CHARS,
    check_policy,
    classes_in,
    hash_password,
    verify_password,
)

POLICY = PasswordPolicy()  # 12 characters, 3 classes, the last 5 passwords
GOOD = "Zq9-longer-Passw0rd!"


def refusals(password: str, user: str = "wanglei", earlier: tuple[str, ...] = ()) -> list[str]:
    """The policy's messages for a password ([] when it is allowed)."""
    try:
        check_policy(password, POLICY, user, earlier)
    except InvalidInput as refused:
        assert str(refused).startswith(
            "密码不符合策略 / the password does not meet the site's policy: "
        )
        assert all(p.source == "request" and p.field == "password" for p in refused.problems)
        assert all(password not in str(p) for p in refused.problems)  # never repeated
        return [p.message for p in refused.problems]
    return []


def test_hashes_are_argon2id_with_the_documented_cost(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(passwords, "_hasher", None)  # as in a fresh server process
    encoded = hash_password(GOOD)
    assert encoded.startswith("$argon2id$v=19$m=47104,t=2,p=1$")
    assert encoded != hash_password(GOOD)  # salted
    assert verify_password(encoded, GOOD)
    assert not verify_password(encoded, GOOD + "x")
    assert not verify_password("not a hash", GOOD)


def test_a_password_past_the_longest_allowed_never_verifies() -> None:
    longest = "aB3!" * (MAX_PASSWORD_CHARS // 4)
    assert len(longest) == MAX_PASSWORD_CHARS
    assert verify_password(hash_password(longest), longest)
    too_long = longest + "x"
    assert not verify_password(hash_password(too_long), too_long)


@pytest.mark.parametrize(
    ("password", "classes"),
    [("", 0), ("abc", 1), ("ABC", 1), ("123", 1), ("密码", 1), ("aB", 2), ("aB3", 3),
     ("aB3!", 4), ("aB3密", 4), ("a-b-c", 2)],
)  # fmt: skip
def test_character_classes_are_counted_once_each(password: str, classes: int) -> None:
    assert classes_in(password) == classes


def test_a_password_that_meets_the_policy_exactly_is_allowed() -> None:
    assert refusals("abcdefghijK1") == []  # 12 characters, 3 classes
    assert refusals("aB3!" * (MAX_PASSWORD_CHARS // 4)) == []


def test_each_rule_says_what_is_allowed() -> None:
    assert refusals("abcdefghiK1") == ["至少 12 个字符 / at least 12 characters"]
    assert refusals("abcdefghijkl") == [
        "至少 3 类字符 / at least 3 of: lower case, upper case, digits, other characters"
    ]
    assert refusals("aB3!" * (MAX_PASSWORD_CHARS // 4) + "x") == [
        f"至多 {MAX_PASSWORD_CHARS} 个字符 / at most {MAX_PASSWORD_CHARS} characters"
    ]
    assert refusals("xx-WangLei-2026", user="wanglei") == [
        "不得包含用户名 / must not contain the user name"
    ]
    assert refusals("xx-wanglei-2026X", user="WangLei") == [
        "不得包含用户名 / must not contain the user name"
    ]


def test_every_broken_rule_is_reported_at_once() -> None:
    assert len(refusals("wanglei", user="wanglei")) == 3  # short, one class, the user's name


def test_an_earlier_password_is_refused_again() -> None:
    earlier = (hash_password("Older-Passw0rd-1"), hash_password(GOOD))
    assert refusals(GOOD, earlier=earlier) == [
        "不得与最近 5 个密码相同 / must differ from the last 5 passwords"
    ]
    assert refusals("Brand-New-Passw0rd", earlier=earlier) == []
