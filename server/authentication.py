"""Who is calling: password + TOTP or LDAP logins, lockouts, sessions and tokens (等保2.0 8.1.4.1)."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

from dcops.core.access import SECOND_FACTOR_ROLES
from dcops.core.errors import (
    AccessDenied,
    InputError,
    NotAuthenticated,
    OperationFailed,
    SecondFactorNeeded,
)
from dcops.server import totp
from dcops.server.passwords import check_policy, hash_password, verify_password

if TYPE_CHECKING:
    from dcops.core.access import LdapSettings
    from dcops.core.site import Site
    from dcops.server.access_audit import AccessLog, Caller
    from dcops.server.accounts import Account, AccountStore, Token
    from dcops.server.clock import Clock

USER_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
SCOPES = ("read", "write")
ENROL_ONLY = ("enrol",)  # a login that may only enrol its missing second factor
WRONG = "用户名或密码错误 / wrong user name, password or code"
_DUMMY_HASH: list[str] = []


@dataclass(frozen=True)
class Principal:
    """An authenticated caller: the user, their roles now, how they proved it, what they may do."""

    user: str
    roles: frozenset[str]
    method: str
    scopes: tuple[str, ...]
    token: Token


def check_user_name(user: str) -> None:
    """Refuse a user name that is not one dcops could have (bounded, ASCII, no spaces)."""
    if not USER_RULE.fullmatch(user):  # match with $ would let a trailing newline through
        raise InputError(
            f"用户名无效 / user name {user[:64]!r} is not valid; allowed: 1-64 characters of "
            "letters, digits, dot, dash and underscore"
        )


def needs_second_factor(roles: frozenset[str]) -> bool:
    """Whether these roles must log in with a second factor."""
    return any(role in roles for role in SECOND_FACTOR_ROLES)


def new_recovery_codes(count: int = 10) -> list[str]:
    """Single-use recovery codes such as 7f3a-91c2-0b4e, shown once at enrolment."""
    return ["-".join(secrets.token_hex(2) for _ in range(3)) for _ in range(count)]


class Authenticator:
    """Checks credentials against the store (or the directory), and issues and checks tokens."""

    def __init__(self, site: Site, store: AccountStore, clock: Clock, log: AccessLog) -> None:
        self.site = site
        self.store = store
        self.clock = clock
        self.log = log
        self.settings = site.config.identity
        self._checked: dict[str, float] = {}  # token id → when the directory last confirmed it

    # logging in

    def login(
        self,
        user: str,
        password: str,
        code: str,
        caller: Caller,
        *,
        kind: str,
        scopes: tuple[str, ...] = SCOPES,
        lifetime: float | None = None,
        name: str = "",
        enrol: bool = False,
    ) -> tuple[str, Token]:
        """Check the credentials and open a session or issue a token; audit the outcome either way.

        With `enrol`, a person whose roles need a second factor and who has none yet gets a
        token that can only enrol one (scope `enrol`).
        """
        check_user_name(user)
        now = self.clock.now()
        account = self.store.account(user)
        ldap = self.settings.ldap
        if ldap is not None and (account is None or account.password_hash is None):
            user_roles, method = self._ldap(user, account, password, code, caller, enrol)
        else:
            user_roles, method = self._local(user, account, password, code, caller, now, enrol)
        if enrol and needs_second_factor(user_roles) and "+" not in method:
            scopes = ENROL_ONLY  # no second factor yet: this login can only enrol one
        if lifetime is None:
            sessions = self.settings.sessions
            hours = sessions.lifetime_hours if kind == "session" else sessions.cli_token_hours
            lifetime = hours * 3600
        secret, token = self.store.issue(
            user,
            kind=kind,
            scopes=scopes,
            method=method,
            now=now,
            lifetime=lifetime,
            roles=tuple(sorted(user_roles)) if method.startswith("ldap") else None,
            name=name,
        )
        self.store.succeeded(user)
        if method.startswith("ldap"):
            self._checked[token.id] = now  # the bind just confirmed it
        self.log.record(
            "auth.login", user, caller, method=method, ok=True,
            details={"kind": kind, "token": token.id, "scopes": list(scopes)},
        )  # fmt: skip
        return secret, token

    def _refuse(self, user: str, caller: Caller, method: str, reason: str, shown: str) -> NoReturn:
        self.log.record("auth.login", user, caller, method=method, ok=False, reason=reason)
        raise NotAuthenticated(shown)

    def _local(
        self,
        user: str,
        account: Account | None,
        password: str,
        code: str,
        caller: Caller,
        now: float,
        enrol: bool,
    ) -> tuple[frozenset[str], str]:
        person = self.site.person(user)
        self._check_lock(user, account, caller, "password", now)
        encoded = account.password_hash if account is not None else None
        good = verify_password(encoded or _dummy_hash(), password) and encoded is not None
        if not good or account is None or person is None or account.disabled:
            reason = "unknown user" if account is None or person is None else "wrong password"
            if account is not None and account.disabled:
                reason = "account disabled"
            self._failed(user, caller, "password", reason, now)
        assert account is not None and person is not None
        roles = frozenset(person.roles)
        method = "password"
        if account.totp_secret is not None:
            method = self._second_factor(user, account, code, caller, now)
        elif needs_second_factor(roles) and not enrol:
            self._not_enrolled(user, caller, "password")
        max_age = self.settings.passwords.max_age_days * 86400
        if account.must_change or account.password_set_at + max_age < now:
            self._refuse(
                user, caller, method, "password expired",
                "密码已过期 / the password has expired or was reset; set a new one "
                "(POST /api/v1/auth/password with the current one)",
            )  # fmt: skip
        return roles, method

    def _check_lock(
        self, user: str, account: Account | None, caller: Caller, method: str, now: float
    ) -> None:
        """Refuse an account locked after repeated failures, until its lock ends."""
        if account is not None and account.locked_until > now:
            until = time.strftime("%H:%M:%S", time.localtime(account.locked_until))
            self._refuse(
                user, caller, method, "account locked",
                f"账户已锁定 / account {user} is locked after repeated failures until {until}; "
                "wait, or ask the security administrator",
            )  # fmt: skip

    def _not_enrolled(self, user: str, caller: Caller, method: str) -> NoReturn:
        self._refuse(
            user, caller, method, "second factor not enrolled",
            f"需要第二因子 / the roles of {user} need a second factor and none is enrolled; log "
            "in with enrol = true to enrol one (POST /api/v1/auth/totp), or ask the security "
            "administrator (dcops users enrol-totp)",
        )  # fmt: skip

    def _second_factor(
        self, user: str, account: Account, code: str, caller: Caller, now: float
    ) -> str:
        assert account.totp_secret is not None  # the callers check it
        if not code:
            raise SecondFactorNeeded(
                "需要动态口令 / a one-time code (TOTP) or a recovery code is needed for this account"
            )
        if len(code) > 32:
            self._failed(user, caller, "password+totp", "malformed code", now)
        step = totp.matching_step(account.totp_secret, code, now, account.totp_last_step)
        if step is not None and self.store.used_step(user, step):
            return "password+totp"
        if step is None and self.store.use_recovery_code(user, code, now):
            return "password+recovery"
        self._failed(user, caller, "password+totp", "wrong or reused one-time code", now)

    def _failed(self, user: str, caller: Caller, method: str, reason: str, now: float) -> NoReturn:
        lockout = self.settings.lockout
        locked = self.store.failed(user, now, lockout.failures, lockout.minutes * 60)
        self.log.record("auth.login", user, caller, method=method, ok=False, reason=reason)
        if locked:
            self.log.record(
                "auth.lockout", user, caller, method=method, ok=True,
                reason=None, details={"minutes": lockout.minutes, "failures": lockout.failures},
            )  # fmt: skip
        raise NotAuthenticated(WRONG)

    def _ldap(
        self,
        user: str,
        account: Account | None,
        password: str,
        code: str,
        caller: Caller,
        enrol: bool,
    ) -> tuple[frozenset[str], str]:
        from dcops.server.directory import DirectoryError, bind_and_groups

        settings = self._directory()
        self._check_lock(user, account, caller, "ldap", self.clock.now())
        try:
            entry = bind_and_groups(settings, user, password)
        except DirectoryError as exc:
            self.log.record("auth.login", user, caller, method="ldap", ok=False, reason=str(exc))
            raise NotAuthenticated(
                "目录服务不可用 / the directory (LDAP) did not answer; try again later"
            ) from None
        now = self.clock.now()
        if entry is None or not entry.found:
            self._failed(user, caller, "ldap", "directory refused the password", now)
        assert entry is not None
        if entry.disabled or (account is not None and account.disabled):
            self._failed(user, caller, "ldap", "account disabled", now)
        roles = frozenset(r for g in entry.groups for r in settings.group_roles.get(g, []))
        if not roles:
            self._refuse(
                user, caller, "ldap", "no mapped group",
                f"目录账户无角色 / {user} is in no directory group that dcops maps to a role "
                "([identity.ldap] group_roles)",
            )  # fmt: skip
        if account is not None and account.totp_secret is not None:
            proof = self._second_factor(user, account, code, caller, now)
            return roles, "ldap+" + proof.partition("+")[2]
        if needs_second_factor(roles) and not enrol:
            self._not_enrolled(user, caller, "ldap")
        return roles, "ldap"

    def _directory_allows(self, token: Token, caller: Caller, now: float) -> str | None:
        """Why a directory login's token is no longer good (removed, disabled, regrouped), if so."""
        from dcops.server.directory import DirectoryError, look_up

        if not token.method.startswith("ldap"):
            return None
        settings = self._directory()
        if settings.lookup_dn is None:
            return None
        if now - self._checked.get(token.id, float("-inf")) < settings.recheck_seconds:
            return None
        try:
            entry = look_up(settings, token.user, self._lookup_password())
        except DirectoryError as exc:
            self.log.record(
                "auth.token", token.user, caller, method="ldap", ok=False, reason=str(exc)
            )
            raise OperationFailed(
                "目录服务不可用 / the directory (LDAP) did not answer, so a directory login "
                "cannot be confirmed now; try again later"
            ) from None
        roles = {r for g in entry.groups for r in settings.group_roles.get(g, [])}
        if not entry.found:
            return "removed from the directory"
        if entry.disabled:
            return "disabled in the directory"
        if roles != set(token.roles or ()):
            return "directory groups changed"
        self._checked[token.id] = now
        return None

    def _directory(self) -> LdapSettings:
        """The [identity.ldap] settings with the CA file found relative to dcops.toml."""
        settings = self.settings.ldap
        assert settings is not None
        if settings.ca_file is None:
            return settings
        return settings.model_copy(update={"ca_file": str(self.site.paths.root / settings.ca_file)})

    def _lookup_password(self) -> str:
        settings = self.settings.ldap
        assert settings is not None and settings.lookup_password_file is not None
        path = self.site.paths.root / settings.lookup_password_file
        try:
            return path.read_bytes()[:1024].decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise OperationFailed(
                f"[identity.ldap] lookup_password_file {path} cannot be read: "
                f"{type(exc).__name__}; allowed: a UTF-8 file readable by the server (0600)"
            ) from None

    # checking tokens

    def authenticate(self, presented: str, caller: Caller) -> Principal:
        """The principal behind a session cookie or bearer token; NotAuthenticated otherwise."""
        token = self.store.find(presented)
        now = self.clock.now()
        problem = None
        if token is None:
            problem = "unknown token"
        elif token.revoked is not None:
            problem = "revoked"
        elif token.expires <= now:
            problem = "expired"
        elif (
            token.kind == "session"
            and token.last_seen + self.settings.sessions.idle_minutes * 60 <= now
        ):
            problem = "idle too long"
        account = self.store.account(token.user) if token is not None else None
        if token is not None and problem is None and account is not None and account.disabled:
            problem = "account disabled"
        if token is not None and problem is None:
            problem = self._directory_allows(token, caller, now)
            if problem is not None:
                self.store.revoke(token.id, now)
        if problem is not None:
            user = token.user if token is not None else "(unknown)"
            self.log.record("auth.token", user, caller, method="token", ok=False, reason=problem)
            raise NotAuthenticated(
                f"未登录或登录已失效 / not logged in: the session or token is {problem}; "
                "log in again (dcops login)"
            )
        assert token is not None
        if now - token.last_seen > 15:
            self.store.touch(token.id, now)
        if token.roles is not None:
            roles = frozenset(token.roles)
        else:
            person = self.site.person(token.user)
            roles = frozenset(person.roles) if person else frozenset()
        return Principal(token.user, roles, token.method, token.scopes, token)

    def logout(self, principal: Principal, caller: Caller) -> None:
        """End the caller's session or revoke the token they used."""
        self.store.revoke(principal.token.id, self.clock.now())
        self.log.record(
            "auth.logout", principal.user, caller, method=principal.method, ok=True,
            details={"token": principal.token.id},
        )  # fmt: skip

    def issue_token(
        self, principal: Principal, caller: Caller, *, name: str, scopes: tuple[str, ...], days: int
    ) -> tuple[str, Token]:
        """An API token for automation, no wider than the caller's own scopes."""
        wrong = [s for s in scopes if s not in SCOPES]
        if wrong or not scopes:
            raise InputError(f"unknown scope {wrong[:1] or scopes!r}; allowed: read, write")
        if any(s not in principal.scopes for s in scopes):
            raise AccessDenied("令牌权限不能超出自身 / a token cannot have scopes its issuer lacks")
        limit = self.settings.sessions.max_token_days
        if not 1 <= days <= limit:
            raise InputError(f"days {days} is out of range; allowed: 1 to {limit}")
        secret, token = self.store.issue(
            principal.user,
            kind="api",
            scopes=scopes,
            method=principal.method,
            now=self.clock.now(),
            lifetime=days * 86400,
            roles=principal.token.roles,
            name=name[:64],
        )
        self.log.record(
            "auth.token.issue", principal.user, caller, method=principal.method, ok=True,
            details={"token": token.id, "scopes": list(scopes), "days": days},
        )  # fmt: skip
        return secret, token

    def revoke(self, principal: Principal, ident: str, caller: Caller) -> None:
        """Revoke one of the caller's own tokens (the security administrator may revoke any)."""
        mine = {t.id: t for t in self.store.tokens(principal.user)}
        if ident not in mine and "security" not in principal.roles:
            raise AccessDenied(f"令牌不存在或不属于你 / no token {ident[:32]!r} of yours")
        if not self.store.revoke(ident, self.clock.now()):
            raise InputError(f"令牌不存在或已吊销 / token {ident[:32]!r} is unknown or revoked")
        self.log.record(
            "auth.token.revoke", principal.user, caller, method=principal.method, ok=True,
            details={"token": ident},
        )  # fmt: skip

    def change_password(
        self, user: str, password: str, code: str, new: str, caller: Caller
    ) -> None:
        """Set a new password after proving the old one (and the second factor)."""
        check_user_name(user)
        now = self.clock.now()
        account = self.store.account(user)
        if account is not None and account.locked_until > now:
            raise NotAuthenticated(WRONG)
        encoded = account.password_hash if account is not None else None
        good = verify_password(encoded or _dummy_hash(), password)
        if not good or account is None or account.disabled:
            self._failed(user, caller, "password", "wrong password (change)", now)
        assert account is not None
        if account.totp_secret is not None:  # none yet: the password is all there is to prove
            self._second_factor(user, account, code, caller, now)
        policy = self.settings.passwords
        check_policy(new, policy, user, self.store.earlier_passwords(user)[: policy.history + 1])
        self.store.set_password(user, hash_password(new), now, policy.history, must_change=False)
        self.log.record("auth.password", user, caller, method="password", ok=True)


def _dummy_hash() -> str:
    """A hash to verify against when the user is unknown, so timing does not tell."""
    if not _DUMMY_HASH:
        _DUMMY_HASH.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY_HASH[0]
