"""Who is let in: logins, lockouts, second factors, token expiry and the directory, with real parts.

A real credential store (SQLite in tmp_path), real Argon2id hashes, TOTP codes computed from
the secret, a clock the test moves, and the site's real audit journal read back. Only the
directory is a fake (a real slapd runs in tests/integration/server/test_ldap.py), except where
it is really unreachable.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dcops.audit.journal import Journal
from dcops.core.errors import (
    AccessDenied,
    InputError,
    InvalidInput,
    NotAuthenticated,
    OperationFailed,
    SecondFactorNeeded,
)
from dcops.core.loader import load_site
from dcops.core.site import Site
from dcops.server import authentication, directory, passwords, totp
from dcops.server.access_audit import AccessLog, Caller
from dcops.server.accounts import AccountStore, Token, account_store
from dcops.server.authentication import (
    WRONG,
    Authenticator,
    Principal,
    _dummy_hash,
    check_user_name,
    needs_second_factor,
    new_recovery_codes,
)
from dcops.server.clock import ManualClock
from dcops.server.directory import DirectoryEntry, DirectoryError
from dcops.server.passwords import hash_password

PASSWORD = "Dept-Passw0rd-2026"
START = 1_800_000_000.0
CALLER = Caller("192.0.2.7", "pytest")
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
RECOVERY = "7f3a-91c2-0b4e"
LOOKUP_PASSWORD = "lookup-Passw0rd"


@dataclass
class Desk:
    """The authenticator of a site copy, with its store, clock and journal at hand."""

    site: Site
    store: AccountStore
    clock: ManualClock
    auth: Authenticator

    def events(self, action: str | None = None) -> list[dict[str, Any]]:
        """Access events recorded so far (of one action, if given)."""
        found = Journal.of(self.site).events()
        return [e for e in found if action is None or e["action"] == action]

    def last(self, action: str = "auth.login") -> dict[str, Any]:
        """The newest event of an action."""
        return self.events(action)[-1]

    def login(
        self, user: str = "wanglei", password: str = PASSWORD, code: str = "", **kw: Any
    ) -> tuple[str, Token]:
        """Log in as a session unless told otherwise."""
        kw.setdefault("kind", "session")
        return self.auth.login(user, password, code, CALLER, **kw)

    def code(self, offset: int = 0) -> str:
        """The TOTP code for the clock's step (plus offset steps)."""
        return totp.code_at(SECRET, totp.step_of(self.clock.now()) + offset)

    def principal(self, secret: str) -> Principal:
        """Who a presented token stands for."""
        return self.auth.authenticate(secret, CALLER)


@pytest.fixture(scope="module")
def hashed() -> str:
    """One Argon2id hash of PASSWORD, shared (hashing is slow on purpose)."""
    return hash_password(PASSWORD)


def _desk(site_dir: Path, hashed: str, extra: str = "") -> Desk:
    toml = site_dir / "dcops.toml"
    text = toml.read_text(encoding="utf-8").replace("cli_token_hours = 8", "cli_token_hours = 12")
    toml.write_text(text + extra, encoding="utf-8")
    site = load_site(site_dir)
    clock = ManualClock(START)
    store = account_store(site.paths.state)
    for user in ("wanglei", "zhangwei", "sunli", "zhouqiang"):
        store.set_password(user, hashed, START, 5, must_change=False)
    store.set_totp("sunli", SECRET, [RECOVERY])
    log = AccessLog(site, Journal.of(site))
    return Desk(site, store, clock, Authenticator(site, store, clock, log))


@pytest.fixture
def desk(site_dir: Path, hashed: str) -> Desk:
    """Local accounts: wanglei (department), zhangwei (ops, no TOTP), sunli (auditor, TOTP)."""
    return _desk(site_dir, hashed)


# names, roles and recovery codes


def test_user_names_are_bounded_ascii_without_spaces() -> None:
    for good in ("wanglei", "a", "w.lei_2-x", "A" * 64, "9lives"):
        check_user_name(good)
    for bad in ("", "wang lei", ".hidden", "-dash", "A" * 65, "王磊", "x\n", "a/b"):
        with pytest.raises(InputError) as refused:
            check_user_name(bad)
        message = str(refused.value)
        assert message.startswith(f"用户名无效 / user name {bad[:64]!r} is not valid; allowed: ")
        assert message.endswith("1-64 characters of letters, digits, dot, dash and underscore")
    with pytest.raises(InputError) as long:
        check_user_name("B" * 200)
    assert "B" * 64 + "'" in str(long.value) and "B" * 65 not in str(long.value)


def test_second_factor_roles() -> None:
    assert needs_second_factor(frozenset({"ops"}))
    assert needs_second_factor(frozenset({"facility", "security"}))
    assert not needs_second_factor(frozenset({"facility", "department:fgw"}))
    assert not needs_second_factor(frozenset())


def test_recovery_codes_are_ten_distinct_by_default() -> None:
    codes = new_recovery_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(re.fullmatch(r"[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}", c) for c in codes)
    assert len(new_recovery_codes(3)) == 3


def test_unknown_users_cost_a_real_password_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stand-in hash is a real Argon2id one, so an unknown name takes as long as a known one."""
    monkeypatch.setattr(authentication, "_DUMMY_HASH", [])  # as in a fresh server process
    monkeypatch.setattr(passwords, "_hasher", None)  # the site's cost, not the tests' cheap one
    first = _dummy_hash()
    assert first.startswith("$argon2id$v=19$m=47104,t=2,p=1$")
    cached = authentication._DUMMY_HASH
    assert _dummy_hash() == first and cached == [first]


# local logins


def test_a_good_password_opens_a_session_of_the_sites_lifetime(desk: Desk) -> None:
    secret, token = desk.login()
    assert token.user == "wanglei" and token.kind == "session" and token.method == "password"
    assert token.scopes == ("read", "write") and token.roles is None
    assert token.expires == START + 8 * 3600
    principal = desk.principal(secret)
    assert principal.user == "wanglei" and principal.roles == frozenset({"department:fgw"})
    assert principal.method == "password" and principal.scopes == ("read", "write")
    event = desk.last()
    assert event["result"] == {"status": "success", "error": None}
    assert event["actor"]["user"] == "wanglei" and event["actor"]["method"] == "password"
    assert event["actor"]["source"] == "192.0.2.7" and event["actor"]["name"] == "王磊"
    assert event["details"] == {"kind": "session", "token": token.id, "scopes": ["read", "write"]}


def test_a_cli_token_lives_its_own_hours_and_a_given_lifetime_wins(desk: Desk) -> None:
    _, cli = desk.login(kind="cli", name="laptop")
    assert cli.kind == "cli" and cli.expires == START + 12 * 3600 and cli.name == "laptop"
    _, short = desk.login(kind="cli", lifetime=600, scopes=("read",))
    assert short.expires == START + 600 and short.scopes == ("read",)
    assert desk.last()["details"]["scopes"] == ["read"]


def test_a_wrong_password_is_refused_and_audited(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(password="Wrong-Passw0rd-2026")
    assert str(refused.value) == WRONG
    event = desk.last()
    assert event["result"] == {"status": "failure", "error": "wrong password"}
    assert event["actor"]["method"] == "password" and event["actor"]["user"] == "wanglei"
    account = desk.store.account("wanglei")
    assert account is not None and account.failures == 1


def test_a_bad_user_name_is_refused_before_anything_is_recorded(desk: Desk) -> None:
    with pytest.raises(InputError):
        desk.login(user="wang lei")
    assert desk.events() == []


@pytest.mark.parametrize(
    ("user", "prepare"),
    [("lina", "person without account"), ("ghost", "account without person")],
)
def test_unknown_users_are_refused_as_wrong(desk: Desk, user: str, prepare: str) -> None:
    if prepare == "account without person":
        desk.store.set_password(user, hash_password(PASSWORD), START, 5, must_change=False)
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user=user)
    assert str(refused.value) == WRONG
    assert desk.last()["result"]["error"] == "unknown user"


def test_an_account_without_a_password_never_logs_in_locally(desk: Desk) -> None:
    desk.store.set_totp("lina", SECRET, [])  # a row with a second factor but no password
    for password in (PASSWORD, ""):
        with pytest.raises(NotAuthenticated):
            desk.login(user="lina", password=password, code=desk.code())
    assert desk.last()["result"]["error"] == "wrong password"


def test_a_disabled_account_is_refused_with_the_right_password(desk: Desk) -> None:
    desk.store.set_disabled("wanglei", True)
    with pytest.raises(NotAuthenticated) as refused:
        desk.login()
    assert str(refused.value) == WRONG
    assert desk.last()["result"]["error"] == "account disabled"


def test_an_account_locks_after_five_failures_for_exactly_fifteen_minutes(desk: Desk) -> None:
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            desk.login(password="nope")
    assert desk.events("auth.lockout") == []
    with pytest.raises(NotAuthenticated):
        desk.login(password="nope")
    lockout = desk.last("auth.lockout")
    assert lockout["details"] == {"minutes": 15, "failures": 5}
    assert lockout["result"] == {"status": "success", "error": None}
    assert lockout["actor"]["method"] == "password" and lockout["actor"]["user"] == "wanglei"
    desk.clock.advance(15 * 60 - 1)
    with pytest.raises(NotAuthenticated) as locked:
        desk.login()
    until = time.strftime("%H:%M:%S", time.localtime(START + 15 * 60))
    assert str(locked.value) == (
        f"账户已锁定 / account wanglei is locked after repeated failures until {until}; "
        "wait, or ask the security administrator"
    )
    assert desk.last()["result"] == {"status": "failure", "error": "account locked"}
    assert desk.last()["actor"]["method"] == "password"
    desk.clock.advance(1)
    _, token = desk.login()
    assert token.user == "wanglei"


def test_a_good_login_clears_the_count_of_failures(desk: Desk) -> None:
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            desk.login(password="nope")
    desk.login()
    for _ in range(4):
        with pytest.raises(NotAuthenticated):
            desk.login(password="nope")
    desk.login()
    assert desk.events("auth.lockout") == []


def test_a_password_expires_after_ninety_days_not_a_second_before(desk: Desk) -> None:
    desk.clock.advance(90 * 86400)
    desk.login()
    desk.clock.advance(1)
    with pytest.raises(NotAuthenticated) as refused:
        desk.login()
    assert str(refused.value) == (
        "密码已过期 / the password has expired or was reset; set a new one "
        "(POST /api/v1/auth/password with the current one)"
    )
    event = desk.last()
    assert event["result"]["error"] == "password expired" and event["actor"]["method"] == "password"


def test_a_reset_password_must_be_changed_first(desk: Desk) -> None:
    desk.store.set_password("wanglei", hash_password(PASSWORD), START, 5, must_change=True)
    with pytest.raises(NotAuthenticated, match="expired or was reset"):
        desk.login()


# the second factor


def test_a_second_factor_role_without_totp_is_told_to_enrol(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="zhangwei")
    assert str(refused.value) == (
        "需要第二因子 / the roles of zhangwei need a second factor and none is enrolled; log "
        "in with enrol = true to enrol one (POST /api/v1/auth/totp), or ask the security "
        "administrator (dcops users enrol-totp)"
    )
    event = desk.last()
    assert event["result"]["error"] == "second factor not enrolled"
    assert event["actor"]["method"] == "password"


def test_an_enrolling_login_may_only_enrol(desk: Desk) -> None:
    secret, token = desk.login(user="zhangwei", enrol=True)
    assert token.scopes == ("enrol",)
    assert desk.principal(secret).scopes == ("enrol",)
    assert desk.last()["details"]["scopes"] == ["enrol"]
    _, department = desk.login(enrol=True)  # no second factor needed: a full login
    assert department.scopes == ("read", "write")
    _, enrolled = desk.login(user="sunli", code=desk.code(), enrol=True)
    assert enrolled.scopes == ("read", "write") and enrolled.method == "password+totp"


def test_a_totp_code_lets_in_once(desk: Desk) -> None:
    code = desk.code()
    _, token = desk.login(user="sunli", code=code)
    assert token.method == "password+totp"
    assert desk.last()["actor"]["method"] == "password+totp"
    with pytest.raises(NotAuthenticated) as replayed:
        desk.login(user="sunli", code=code)
    assert str(replayed.value) == WRONG
    event = desk.last()
    assert event["result"]["error"] == "wrong or reused one-time code"
    assert event["actor"]["method"] == "password+totp"
    desk.clock.advance(totp.STEP_SECONDS)
    assert desk.login(user="sunli", code=desk.code())[1].method == "password+totp"


def test_a_password_alone_asks_for_the_code_without_counting_a_failure(desk: Desk) -> None:
    for _ in range(6):
        with pytest.raises(SecondFactorNeeded) as asked:
            desk.login(user="sunli")
    assert str(asked.value) == (
        "需要动态口令 / a one-time code (TOTP) or a recovery code is needed for this account"
    )
    account = desk.store.account("sunli")
    assert account is not None and account.failures == 0 and account.locked_until == 0


def test_a_wrong_password_with_a_good_code_is_refused(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated):
        desk.login(user="sunli", password="nope", code=desk.code())
    assert desk.last()["result"]["error"] == "wrong password"
    assert desk.login(user="sunli", code=desk.code())[1].method == "password+totp"


def test_an_overlong_code_is_refused_as_malformed(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="sunli", code="1" * 33)
    assert str(refused.value) == WRONG
    assert desk.last()["result"]["error"] == "malformed code"
    assert desk.last()["actor"]["method"] == "password+totp"
    with pytest.raises(NotAuthenticated):
        desk.login(user="sunli", code="1" * 32)
    assert desk.last()["result"]["error"] == "wrong or reused one-time code"
    account = desk.store.account("sunli")
    assert account is not None and account.failures == 2


def test_a_recovery_code_lets_in_once(desk: Desk) -> None:
    _, token = desk.login(user="sunli", code=RECOVERY)
    assert token.method == "password+recovery"
    with pytest.raises(NotAuthenticated):
        desk.login(user="sunli", code=RECOVERY)
    assert desk.last()["result"]["error"] == "wrong or reused one-time code"


def test_expiry_is_judged_after_the_second_factor(desk: Desk) -> None:
    desk.clock.advance(91 * 86400)
    with pytest.raises(NotAuthenticated, match="expired"):
        desk.login(user="sunli", code=desk.code())
    assert desk.last()["actor"]["method"] == "password+totp"


# sessions and tokens


def test_an_unknown_token_is_refused_and_audited(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        desk.principal("dcops_0123456789abcdef.not-a-secret")
    assert str(refused.value) == (
        "未登录或登录已失效 / not logged in: the session or token is unknown token; "
        "log in again (dcops login)"
    )
    event = desk.last("auth.token")
    assert event["actor"]["user"] == "(unknown)" and event["actor"]["method"] == "token"
    assert event["result"] == {"status": "failure", "error": "unknown token"}


def test_a_token_expires_at_its_limit_and_not_a_second_before(desk: Desk) -> None:
    secret, _ = desk.login(kind="api", lifetime=3 * 3600)
    for _ in range(3):  # an API token has no idle limit
        desk.clock.advance(3600 - 1)
        assert desk.principal(secret).user == "wanglei"
    desk.clock.advance(2)
    assert desk.principal(secret).user == "wanglei"
    desk.clock.advance(1)
    with pytest.raises(NotAuthenticated, match="is expired;"):
        desk.principal(secret)
    assert desk.last("auth.token")["actor"]["user"] == "wanglei"


def test_a_session_idle_for_its_limit_ends(desk: Desk) -> None:
    secret, _ = desk.login()
    desk.clock.advance(15 * 60 - 1)
    desk.principal(secret)
    desk.clock.advance(15 * 60 - 1)
    desk.principal(secret)
    desk.clock.advance(15 * 60)
    with pytest.raises(NotAuthenticated, match="is idle too long;"):
        desk.principal(secret)
    assert desk.last("auth.token")["result"]["error"] == "idle too long"


def test_use_is_written_down_at_most_every_fifteen_seconds(desk: Desk) -> None:
    secret, token = desk.login()
    desk.clock.advance(15)
    assert desk.principal(secret).token.last_seen == START
    assert _stored(desk, token).last_seen == START
    desk.clock.advance(1)
    desk.principal(secret)
    assert _stored(desk, token).last_seen == START + 16


def _stored(desk: Desk, token: Token) -> Token:
    return next(t for t in desk.store.tokens("wanglei") if t.id == token.id)


def test_logging_out_ends_the_session(desk: Desk) -> None:
    secret, token = desk.login()
    desk.auth.logout(desk.principal(secret), CALLER)
    event = desk.last("auth.logout")
    assert event["actor"]["user"] == "wanglei" and event["actor"]["method"] == "password"
    assert event["details"] == {"token": token.id}
    assert event["result"]["status"] == "success"
    with pytest.raises(NotAuthenticated, match="is revoked;"):
        desk.principal(secret)


def test_a_disabled_account_loses_its_sessions(desk: Desk) -> None:
    secret, _ = desk.login()
    desk.store.set_disabled("wanglei", True)
    with pytest.raises(NotAuthenticated, match="is account disabled;"):
        desk.principal(secret)


def test_roles_come_from_the_site_now(desk: Desk) -> None:
    secret, _ = desk.store.issue(
        "ghost", kind="api", scopes=("read",), method="password", now=START, lifetime=600
    )
    assert desk.principal(secret).roles == frozenset()
    secret, _ = desk.store.issue(
        "zhouqiang", kind="api", scopes=("read",), method="password", now=START, lifetime=600
    )
    assert desk.principal(secret).roles == frozenset({"security"})


def test_an_api_token_is_issued_within_the_callers_rights(desk: Desk) -> None:
    principal = desk.principal(desk.login()[0])
    secret, token = desk.auth.issue_token(
        principal, CALLER, name="n" * 80, scopes=("read",), days=90
    )
    assert token.kind == "api" and token.scopes == ("read",) and token.name == "n" * 64
    assert token.expires == START + 90 * 86400 and token.method == "password"
    assert token.roles is None and token.user == "wanglei"
    assert desk.principal(secret).user == "wanglei"
    event = desk.last("auth.token.issue")
    assert event["details"] == {"token": token.id, "scopes": ["read"], "days": 90}
    assert event["actor"]["user"] == "wanglei" and event["actor"]["method"] == "password"
    assert desk.auth.issue_token(principal, CALLER, name="", scopes=("read",), days=1)[
        1
    ].expires == (START + 86400)


@pytest.mark.parametrize(
    ("scopes", "days", "message"),
    [
        (("admin",), 1, "unknown scope ['admin']; allowed: read, write"),
        (("read", "sudo"), 1, "unknown scope ['sudo']; allowed: read, write"),
        (("admin", "sudo"), 1, "unknown scope ['admin']; allowed: read, write"),
        ((), 1, "unknown scope (); allowed: read, write"),
        (("read",), 0, "days 0 is out of range; allowed: 1 to 90"),
        (("read",), 91, "days 91 is out of range; allowed: 1 to 90"),
    ],
)
def test_a_bad_token_request_is_refused(
    desk: Desk, scopes: tuple[str, ...], days: int, message: str
) -> None:
    principal = desk.principal(desk.login()[0])
    with pytest.raises(InputError) as refused:
        desk.auth.issue_token(principal, CALLER, name="x", scopes=scopes, days=days)
    assert str(refused.value) == message
    assert desk.events("auth.token.issue") == []


def test_a_token_cannot_be_wider_than_its_issuer(desk: Desk) -> None:
    reader = desk.principal(desk.login(scopes=("read",))[0])
    with pytest.raises(AccessDenied) as refused:
        desk.auth.issue_token(reader, CALLER, name="x", scopes=("read", "write"), days=1)
    assert (
        str(refused.value) == "令牌权限不能超出自身 / a token cannot have scopes its issuer lacks"
    )
    enrolling = desk.principal(desk.login(user="zhangwei", enrol=True)[0])
    with pytest.raises(AccessDenied):
        desk.auth.issue_token(enrolling, CALLER, name="x", scopes=("read",), days=1)


def test_people_revoke_their_own_tokens_and_security_any(desk: Desk) -> None:
    owner = desk.principal(desk.login()[0])
    _, mine = desk.auth.issue_token(owner, CALLER, name="ci", scopes=("read",), days=1)
    other = desk.principal(desk.login(user="zhangwei", enrol=True)[0])
    with pytest.raises(AccessDenied) as denied:
        desk.auth.revoke(other, mine.id, CALLER)
    assert str(denied.value) == f"令牌不存在或不属于你 / no token {mine.id!r} of yours"
    desk.auth.revoke(owner, mine.id, CALLER)
    event = desk.last("auth.token.revoke")
    assert event["details"] == {"token": mine.id} and event["actor"]["user"] == "wanglei"
    assert event["actor"]["method"] == "password" and event["result"]["status"] == "success"
    with pytest.raises(InputError) as again:
        desk.auth.revoke(owner, mine.id, CALLER)
    assert str(again.value) == f"令牌不存在或已吊销 / token {mine.id!r} is unknown or revoked"
    _, second = desk.auth.issue_token(owner, CALLER, name="ci", scopes=("read",), days=1)
    security = desk.principal(desk.store.issue(
        "zhouqiang", kind="api", scopes=("read", "write"), method="password+totp", now=START,
        lifetime=600,
    )[0])  # fmt: skip
    desk.auth.revoke(security, second.id, CALLER)
    assert desk.last("auth.token.revoke")["actor"]["user"] == "zhouqiang"
    with pytest.raises(AccessDenied, match=r"no token 'x{32}' of yours"):
        desk.auth.revoke(other, "x" * 40, CALLER)
    with pytest.raises(InputError, match=r"token 'y{32}' is unknown or revoked"):
        desk.auth.revoke(security, "y" * 40, CALLER)


# changing a password


def test_a_password_is_changed_after_proving_the_old_one(desk: Desk) -> None:
    desk.clock.advance(60)
    desk.auth.change_password("wanglei", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    event = desk.last("auth.password")
    assert event["actor"]["user"] == "wanglei" and event["result"]["status"] == "success"
    assert event["actor"]["method"] == "password"
    account = desk.store.account("wanglei")
    assert account is not None and account.password_set_at == START + 60
    assert not account.must_change
    with pytest.raises(NotAuthenticated):
        desk.login()
    assert desk.login(password="Fresh-Passw0rd-2027")[1].user == "wanglei"


def test_a_password_change_with_a_wrong_old_one_counts_as_a_failure(desk: Desk) -> None:
    with pytest.raises(NotAuthenticated) as refused:
        desk.auth.change_password("wanglei", "nope", "", "Fresh-Passw0rd-2027", CALLER)
    assert str(refused.value) == WRONG
    assert desk.last()["result"]["error"] == "wrong password (change)"
    assert desk.last()["actor"]["method"] == "password"
    for user in ("lina", "ghost"):  # a person without an account; no one at all
        with pytest.raises(NotAuthenticated):
            desk.auth.change_password(user, PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    with pytest.raises(InputError):
        desk.auth.change_password("bad name", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    desk.store.set_disabled("wanglei", True)
    with pytest.raises(NotAuthenticated):
        desk.auth.change_password("wanglei", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    assert desk.last()["result"]["error"] == "wrong password (change)"


def test_a_locked_account_cannot_change_its_password(desk: Desk) -> None:
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            desk.login(password="nope")
    with pytest.raises(NotAuthenticated) as refused:
        desk.auth.change_password("wanglei", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    assert str(refused.value) == WRONG
    assert desk.events("auth.password") == []
    desk.clock.advance(15 * 60)
    desk.auth.change_password("wanglei", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)


def test_a_password_change_needs_the_second_factor_too(desk: Desk) -> None:
    with pytest.raises(SecondFactorNeeded):
        desk.auth.change_password("sunli", PASSWORD, "", "Fresh-Passw0rd-2027", CALLER)
    with pytest.raises(NotAuthenticated):
        desk.auth.change_password("sunli", PASSWORD, "000000", "Fresh-Passw0rd-2027", CALLER)
    desk.auth.change_password("sunli", PASSWORD, desk.code(), "Fresh-Passw0rd-2027", CALLER)
    assert desk.last("auth.password")["actor"]["user"] == "sunli"


def test_the_new_password_obeys_the_policy_and_its_history(desk: Desk) -> None:
    older = [f"Older-Passw0rd-{n}" for n in range(7)]
    for n, password in enumerate(older):  # kept under an earlier, longer history of 10
        desk.store.set_password(
            "wanglei", hash_password(password), START + n, 10, must_change=False
        )
    current = older[-1]
    for reused, broken in (
        (current, "last 5"),
        (older[1], "last 5"),
        ("Short-1", "at least 12"),
        ("Wanglei-Passw0rd-2027", "user name"),
    ):
        with pytest.raises(InvalidInput) as refused:  # the current one; the 5th before it
            desk.auth.change_password("wanglei", current, "", reused, CALLER)
        assert [p.field for p in refused.value.problems] == ["password"]
        assert broken in refused.value.problems[0].message
    assert desk.events("auth.password") == []
    desk.auth.change_password("wanglei", current, "", older[0], CALLER)  # 6th before: allowed
    assert desk.login(password=older[0])[1].user == "wanglei"
    assert len(desk.store.earlier_passwords("wanglei")) == 1 + 5  # trimmed to today's history


# the directory (LDAP)


def _ldap(port: int = 636, *, lookup: bool = True, ca: bool = True) -> str:
    lines = [
        "",
        "[identity.ldap]",
        f'url = "ldaps://127.0.0.1:{port}"',
        'user_dn = "uid={user},ou=people,dc=gdc,dc=example"',
        'group_base = "ou=groups,dc=gdc,dc=example"',
        "timeout_s = 5",
    ]
    if ca:
        lines.append('ca_file = "ldap-ca.pem"')
    if lookup:
        lines += [
            'lookup_dn = "cn=dcops,dc=gdc,dc=example"',
            'lookup_password_file = "lookup.secret"',
        ]
    lines += ["[identity.ldap.group_roles]", 'fgw = ["department:fgw"]', 'yw = ["ops", "facility"]']
    return "\n".join(lines) + "\n"


@dataclass
class FakeDirectory:
    """What the directory says of each user, and what the server asked of it."""

    entries: dict[str, DirectoryEntry] = field(default_factory=dict)
    passwords: dict[str, str] = field(default_factory=dict)
    binds: list[tuple[Any, str]] = field(default_factory=list)
    lookups: list[tuple[Any, str, str]] = field(default_factory=list)
    down: bool = False

    def bind_and_groups(self, settings: Any, user: str, password: str) -> DirectoryEntry | None:
        """Bind as the user: their entry, or None for a wrong password."""
        self.binds.append((settings, user))
        if self.down:
            raise DirectoryError("LDAP ldaps://127.0.0.1:636: LDAPSocketOpenError")
        if self.passwords.get(user) != password:
            return None
        return self.entries.get(user, DirectoryEntry(found=False, disabled=False, groups=()))

    def look_up(self, settings: Any, user: str, lookup_password: str) -> DirectoryEntry:
        """Read the user's entry with the lookup account."""
        self.lookups.append((settings, user, lookup_password))
        if self.down:
            raise DirectoryError("LDAP ldaps://127.0.0.1:636 lookup bind: LDAPSocketOpenError")
        return self.entries.get(user, DirectoryEntry(found=False, disabled=False, groups=()))


@pytest.fixture
def ldap(
    site_dir: Path, hashed: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[Desk, FakeDirectory]]:
    """A site whose directory knows zhaoli (fgw) and liuyang (ops group), with a lookup account."""
    (site_dir / "lookup.secret").write_text(LOOKUP_PASSWORD + "\n", encoding="utf-8")
    fake = FakeDirectory()
    fake.passwords = {"zhaoli": "dir-pass", "liuyang": "dir-pass", "wanglei": "dir-pass"}
    fake.entries = {
        "zhaoli": DirectoryEntry(found=True, disabled=False, groups=("fgw", "other")),
        "liuyang": DirectoryEntry(found=True, disabled=False, groups=("yw",)),
        "wanglei": DirectoryEntry(found=True, disabled=False, groups=("fgw",)),
    }
    monkeypatch.setattr(directory, "bind_and_groups", fake.bind_and_groups)
    monkeypatch.setattr(directory, "look_up", fake.look_up)
    yield _desk(site_dir, hashed, _ldap()), fake


def test_a_directory_login_takes_its_roles_from_the_groups(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, fake = ldap
    secret, token = desk.login(user="zhaoli", password="dir-pass")
    assert token.method == "ldap" and token.roles == ("department:fgw",)
    settings, user = fake.binds[-1]
    assert user == "zhaoli"
    assert settings.ca_file == str(desk.site.paths.root / "ldap-ca.pem")
    principal = desk.principal(secret)
    assert principal.roles == frozenset({"department:fgw"}) and principal.method == "ldap"
    assert fake.lookups == []  # the bind just confirmed it
    event = desk.last()
    assert event["actor"]["method"] == "ldap" and event["result"]["status"] == "success"


def test_a_local_password_still_wins_over_the_directory(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    _, token = desk.login()
    assert token.method == "password" and fake.binds == []
    with pytest.raises(NotAuthenticated):
        desk.login(password="dir-pass")
    assert fake.binds == []


def test_a_directory_refusal_is_a_wrong_password(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, _ = ldap
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="zhaoli", password="nope")
    assert str(refused.value) == WRONG
    event = desk.last()
    assert event["result"]["error"] == "directory refused the password"
    assert event["actor"]["method"] == "ldap"
    with pytest.raises(NotAuthenticated):
        desk.login(user="nobody", password="nope")


def test_a_directory_without_the_entry_refuses(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    fake.passwords["gone"] = "dir-pass"
    with pytest.raises(NotAuthenticated):
        desk.login(user="gone", password="dir-pass")
    assert desk.last()["result"]["error"] == "directory refused the password"


def test_a_disabled_directory_or_local_account_is_refused(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    fake.entries["zhaoli"] = DirectoryEntry(found=True, disabled=True, groups=("fgw",))
    with pytest.raises(NotAuthenticated):
        desk.login(user="zhaoli", password="dir-pass")
    assert desk.last()["result"]["error"] == "account disabled"
    assert desk.last()["actor"]["method"] == "ldap"
    desk.store.set_totp("liuyang", None, [])  # a directory user's row, without a password
    desk.store.set_disabled("liuyang", True)
    with pytest.raises(NotAuthenticated):
        desk.login(user="liuyang", password="dir-pass", enrol=True)
    assert desk.last()["result"]["error"] == "account disabled"


def test_a_directory_user_in_no_mapped_group_is_refused(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    fake.entries["zhaoli"] = DirectoryEntry(found=True, disabled=False, groups=("other",))
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="zhaoli", password="dir-pass")
    assert str(refused.value) == (
        "目录账户无角色 / zhaoli is in no directory group that dcops maps to a role "
        "([identity.ldap] group_roles)"
    )
    event = desk.last()
    assert event["result"]["error"] == "no mapped group" and event["actor"]["method"] == "ldap"


def test_a_directory_login_with_a_second_factor(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, _ = ldap
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="liuyang", password="dir-pass")
    assert "need a second factor and none is enrolled" in str(refused.value)
    assert desk.last()["actor"]["method"] == "ldap"
    _, enrolling = desk.login(user="liuyang", password="dir-pass", enrol=True)
    assert enrolling.scopes == ("enrol",) and enrolling.method == "ldap"
    desk.store.set_totp("liuyang", SECRET, [RECOVERY])
    _, token = desk.login(user="liuyang", password="dir-pass", code=desk.code(), enrol=True)
    assert token.method == "ldap+totp" and token.scopes == ("read", "write")
    assert token.roles == ("facility", "ops")
    _, recovered = desk.login(user="liuyang", password="dir-pass", code=RECOVERY)
    assert recovered.method == "ldap+recovery"


def test_a_directory_that_does_not_answer_is_named(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    fake.down = True
    with pytest.raises(NotAuthenticated) as refused:
        desk.login(user="zhaoli", password="dir-pass")
    assert (
        str(refused.value)
        == "目录服务不可用 / the directory (LDAP) did not answer; try again later"
    )
    event = desk.last()
    assert event["result"] == {
        "status": "failure",
        "error": "LDAP ldaps://127.0.0.1:636: LDAPSocketOpenError",
    }
    assert event["actor"]["method"] == "ldap" and event["actor"]["user"] == "zhaoli"


def test_a_directory_really_unreachable_refuses_the_login(site_dir: Path, hashed: str) -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    desk = _desk(site_dir, hashed, _ldap(port, lookup=False, ca=False))
    with pytest.raises(NotAuthenticated, match="did not answer"):
        desk.login(user="zhaoli", password="dir-pass")
    error = desk.last()["result"]["error"]
    assert error.startswith(f"LDAP ldaps://127.0.0.1:{port}")


def test_directory_logins_are_rechecked_every_five_minutes(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, fake = ldap
    secret, token = desk.login(user="zhaoli", password="dir-pass", kind="api")
    desk.clock.advance(299)
    desk.principal(secret)
    assert fake.lookups == []
    desk.clock.advance(1)
    desk.principal(secret)
    settings, user, password = fake.lookups[-1]
    assert user == "zhaoli" and password == LOOKUP_PASSWORD
    assert settings.ca_file == str(desk.site.paths.root / "ldap-ca.pem")
    desk.clock.advance(299)
    desk.principal(secret)
    assert len(fake.lookups) == 1  # confirmed 299 s ago
    fake.entries["zhaoli"] = DirectoryEntry(found=True, disabled=False, groups=("yw",))
    desk.clock.advance(1)
    with pytest.raises(NotAuthenticated, match="is directory groups changed;"):
        desk.principal(secret)
    with pytest.raises(NotAuthenticated, match="is revoked;"):
        desk.principal(secret)
    assert [t.revoked for t in desk.store.tokens("zhaoli") if t.id == token.id] == [START + 600]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (DirectoryEntry(found=False, disabled=False, groups=()), "removed from the directory"),
        (DirectoryEntry(found=True, disabled=True, groups=("fgw",)), "disabled in the directory"),
    ],
)
def test_a_directory_user_removed_or_disabled_loses_the_token(
    ldap: tuple[Desk, FakeDirectory], entry: DirectoryEntry, problem: str
) -> None:
    desk, fake = ldap
    secret, _ = desk.login(user="zhaoli", password="dir-pass", kind="api")
    fake.entries["zhaoli"] = entry
    desk.clock.advance(300)
    with pytest.raises(NotAuthenticated, match=f"is {problem};"):
        desk.principal(secret)
    event = desk.last("auth.token")
    assert event["result"]["error"] == problem and event["actor"]["user"] == "zhaoli"


def test_a_directory_down_at_recheck_fails_closed(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    secret, _ = desk.login(user="zhaoli", password="dir-pass", kind="api")
    fake.down = True
    desk.clock.advance(300)
    with pytest.raises(OperationFailed) as failed:
        desk.principal(secret)
    assert str(failed.value) == (
        "目录服务不可用 / the directory (LDAP) did not answer, so a directory login "
        "cannot be confirmed now; try again later"
    )
    event = desk.last("auth.token")
    assert event["actor"]["method"] == "ldap" and event["actor"]["user"] == "zhaoli"
    assert event["result"]["error"] == "LDAP ldaps://127.0.0.1:636 lookup bind: LDAPSocketOpenError"


def test_local_tokens_are_not_rechecked_in_the_directory(ldap: tuple[Desk, FakeDirectory]) -> None:
    desk, fake = ldap
    secret, _ = desk.login(kind="api")
    desk.clock.advance(3600)
    desk.principal(secret)
    assert fake.lookups == []


def test_without_a_lookup_account_nothing_is_rechecked(
    site_dir: Path, hashed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeDirectory(
        entries={"zhaoli": DirectoryEntry(found=True, disabled=False, groups=("fgw",))},
        passwords={"zhaoli": "dir-pass"},
    )
    monkeypatch.setattr(directory, "bind_and_groups", fake.bind_and_groups)
    monkeypatch.setattr(directory, "look_up", fake.look_up)
    desk = _desk(site_dir, hashed, _ldap(lookup=False, ca=False))
    secret, _ = desk.login(user="zhaoli", password="dir-pass", kind="api")
    assert fake.binds[-1][0].ca_file is None
    desk.clock.advance(3600)
    assert desk.principal(secret).user == "zhaoli" and fake.lookups == []


def test_the_lookup_password_file_is_read_bounded_and_named_when_bad(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, fake = ldap
    secret_file = desk.site.paths.root / "lookup.secret"
    secret_file.write_text("  " + "p" * 2000, encoding="utf-8")
    secret, _ = desk.login(user="zhaoli", password="dir-pass", kind="api")
    desk.clock.advance(300)
    desk.principal(secret)
    assert fake.lookups[-1][2] == "p" * 1022
    for content, error in ((b"\xff\xfe", "UnicodeDecodeError"), (None, "FileNotFoundError")):
        if content is None:
            secret_file.unlink()
        else:
            secret_file.write_bytes(content)
        desk.clock.advance(300)
        with pytest.raises(OperationFailed) as failed:
            desk.principal(secret)
        assert str(failed.value) == (
            f"[identity.ldap] lookup_password_file {secret_file} cannot be read: {error}; "
            "allowed: a UTF-8 file readable by the server (0600)"
        )


def test_a_directory_login_is_rechecked_at_once_after_a_restart(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, fake = ldap
    secret, _ = desk.login(user="zhaoli", password="dir-pass", kind="api")
    restarted = Authenticator(desk.site, desk.store, desk.clock, desk.auth.log)
    desk.clock.advance(1)
    assert restarted.authenticate(secret, CALLER).user == "zhaoli"
    assert [user for _, user, _ in fake.lookups] == ["zhaoli"]


def test_a_directory_logins_api_token_keeps_the_directory_roles(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, _ = ldap
    principal = desk.principal(desk.login(user="zhaoli", password="dir-pass")[0])
    secret, token = desk.auth.issue_token(principal, CALLER, name="ci", scopes=("read",), days=1)
    assert token.roles == ("department:fgw",) and token.method == "ldap"
    assert desk.principal(secret).roles == frozenset({"department:fgw"})


def test_a_directory_user_with_an_account_is_locked_out_too(
    ldap: tuple[Desk, FakeDirectory],
) -> None:
    desk, fake = ldap
    desk.store.set_totp("liuyang", SECRET, [RECOVERY])  # the account row a second factor makes
    for _ in range(5):
        with pytest.raises(NotAuthenticated):
            desk.login(user="liuyang", password="nope", code=desk.code())
    assert desk.last("auth.lockout")["actor"]["method"] == "ldap"
    binds = len(fake.binds)
    desk.clock.advance(15 * 60 - 1)
    with pytest.raises(NotAuthenticated, match="account liuyang is locked"):
        desk.login(user="liuyang", password="dir-pass", code=desk.code())
    assert len(fake.binds) == binds  # not even asked
    event = desk.last()
    assert event["result"]["error"] == "account locked" and event["actor"]["method"] == "ldap"
    desk.clock.advance(1)
    assert (
        desk.login(user="liuyang", password="dir-pass", code=desk.code())[1].method == "ldap+totp"
    )
