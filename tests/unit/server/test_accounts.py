"""The credential store: accounts listed and disabled, tokens listed and revoked, what is shown."""

from __future__ import annotations

from pathlib import Path

import pytest

from dcops.server.accounts import AccountStore, Token, account_store

NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> AccountStore:
    """An empty store in a fresh state dir."""
    return account_store(tmp_path / "state")


def issue(store: AccountStore, user: str, *, now: float = NOW, kind: str = "session") -> Token:
    """A session (or token) of an hour for the user."""
    _, token = store.issue(
        user, kind=kind, scopes=("read", "write"), method="password", now=now, lifetime=3600
    )
    return token


def test_every_account_is_listed_by_name(store: AccountStore) -> None:
    for user in ("zhangwei", "wanglei", "lina"):
        store.set_password(user, f"hash-of-{user}", NOW, 5, must_change=False)
    store.set_totp("liuyang", "JBSWY3DPEHPK3PXP", [])  # a directory user: no password here
    listed = store.users()
    assert [a.user for a in listed] == ["lina", "liuyang", "wanglei", "zhangwei"]
    assert [a.password_hash for a in listed] == ["hash-of-lina", None, "hash-of-wanglei",
                                                 "hash-of-zhangwei"]  # fmt: skip


def test_disabling_an_account_that_does_not_exist_says_so(store: AccountStore) -> None:
    store.set_password("wanglei", "hash", NOW, 5, must_change=False)
    assert store.set_disabled("wanglei", True) is True
    assert store.set_disabled("nobody", True) is False
    found = store.account("wanglei")
    assert found is not None and found.disabled
    assert store.set_disabled("wanglei", False) is True
    found = store.account("wanglei")
    assert found is not None and not found.disabled


def test_revoking_all_of_a_users_tokens_counts_only_their_live_ones(store: AccountStore) -> None:
    first, second = issue(store, "wanglei"), issue(store, "wanglei", kind="cli")
    other = issue(store, "lina")
    assert store.revoke(first.id, NOW + 1)
    assert store.revoke_all("wanglei", NOW + 2) == 1
    assert store.revoke_all("wanglei", NOW + 3) == 0
    revoked = {t.id: t.revoked for t in store.tokens()}
    assert revoked == {first.id: NOW + 1, second.id: NOW + 2, other.id: None}


def test_tokens_are_listed_newest_first_for_everyone_or_for_one_user(store: AccountStore) -> None:
    made = [
        issue(store, user, now=NOW + n) for n, user in enumerate(["wanglei", "lina", "wanglei"])
    ]
    assert store.tokens() == [made[2], made[1], made[0]]
    assert store.tokens("wanglei") == [made[2], made[0]]


def test_a_listed_token_shows_its_public_facts_and_never_a_secret(store: AccountStore) -> None:
    _, token = store.issue(
        "wanglei", kind="api", scopes=("read",), method="password+totp", now=NOW,
        lifetime=86400, name="backup job",
    )  # fmt: skip
    store.touch(token.id, NOW + 60)
    store.revoke(token.id, NOW + 120)
    (listed,) = store.tokens("wanglei")
    assert listed.as_dict() == {
        "id": token.id, "user": "wanglei", "kind": "api", "name": "backup job",
        "scopes": ["read"], "method": "password+totp", "created": NOW,
        "expires": NOW + 86400, "last_seen": NOW + 60, "revoked": NOW + 120,
    }  # fmt: skip


def test_a_user_without_a_password_has_no_earlier_ones(store: AccountStore) -> None:
    assert store.earlier_passwords("nobody") == []
    store.set_totp("liuyang", "JBSWY3DPEHPK3PXP", [])  # a directory user's account row
    assert store.earlier_passwords("liuyang") == []
