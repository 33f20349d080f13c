"""The server's credential store: password hashes, second factors, lockouts, sessions and tokens.

People and their roles stay in dcops.toml (reviewable in git); only credentials live here, in
SQLite (WAL) in the state dir, readable by the server's own user alone. Token secrets are
stored as SHA-256 digests: they are 256-bit random values, so a slow hash adds nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

SCHEMA_VERSION = 1
TOKEN_PREFIX = "dcops_"
MAX_TOKEN_CHARS = 200

_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    user TEXT PRIMARY KEY,
    password_hash TEXT,
    password_set_at REAL NOT NULL DEFAULT 0,
    must_change INTEGER NOT NULL DEFAULT 0,
    disabled INTEGER NOT NULL DEFAULT 0,
    totp_secret TEXT,
    totp_last_step INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS password_history (
    user TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    set_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS recovery_codes (
    user TEXT NOT NULL,
    digest TEXT NOT NULL,
    used_at REAL
);
CREATE TABLE IF NOT EXISTS tokens (
    id TEXT PRIMARY KEY,
    user TEXT NOT NULL,
    digest TEXT NOT NULL,
    kind TEXT NOT NULL,
    scopes TEXT NOT NULL,
    method TEXT NOT NULL,
    roles TEXT,
    csrf TEXT,
    name TEXT NOT NULL DEFAULT '',
    created REAL NOT NULL,
    expires REAL NOT NULL,
    last_seen REAL NOT NULL,
    revoked REAL
);
CREATE INDEX IF NOT EXISTS tokens_user ON tokens (user);
CREATE TABLE IF NOT EXISTS totp_enrolments (
    user TEXT PRIMARY KEY,
    secret TEXT NOT NULL,
    started REAL NOT NULL
);
"""


@dataclass(frozen=True)
class Account:
    """One person's credentials and lockout state."""

    user: str
    password_hash: str | None
    password_set_at: float
    must_change: bool
    disabled: bool
    totp_secret: str | None
    totp_last_step: int
    failures: int
    locked_until: float


@dataclass(frozen=True)
class Token:
    """A session (cookie) or an API token; the secret itself is never kept."""

    id: str
    user: str
    kind: str
    scopes: tuple[str, ...]
    method: str
    roles: tuple[str, ...] | None
    csrf: str | None
    name: str
    created: float
    expires: float
    last_seen: float
    revoked: float | None

    def as_dict(self) -> dict[str, object]:
        """The token's public facts, for listings."""
        return {
            "id": self.id,
            "user": self.user,
            "kind": self.kind,
            "name": self.name,
            "scopes": list(self.scopes),
            "method": self.method,
            "created": self.created,
            "expires": self.expires,
            "last_seen": self.last_seen,
            "revoked": self.revoked,
        }


def digest(secret: str) -> str:
    """The stored form of a token secret or recovery code."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def split_token(presented: str) -> tuple[str, str] | None:
    """A presented token as (id, secret), or None if it is not shaped like one of ours."""
    if len(presented) > MAX_TOKEN_CHARS or not presented.startswith(TOKEN_PREFIX):
        return None
    ident, sep, secret = presented[len(TOKEN_PREFIX) :].partition(".")
    if not sep or not ident.isalnum() or not secret:
        return None
    return ident, secret


class AccountStore:
    """Credentials in SQLite; every method is one short transaction."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fresh = not path.exists()
        if fresh:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.executescript(_SCHEMA)  # idempotent; commits on its own
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            db.commit()
        finally:
            db.close()

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA busy_timeout = 30000")
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
        finally:
            db.close()

    # accounts

    def account(self, user: str) -> Account | None:
        """The account of a user, if one was created."""
        with self._db() as db:
            row = db.execute(
                "SELECT user, password_hash, password_set_at, must_change, disabled, totp_secret,"
                " totp_last_step, failures, locked_until FROM accounts WHERE user = ?",
                (user,),
            ).fetchone()
        if row is None:
            return None
        return Account(
            row[0], row[1], row[2], bool(row[3]), bool(row[4]), row[5], row[6], row[7], row[8]
        )

    def users(self) -> list[Account]:
        """Every account, by user."""
        with self._db() as db:
            names = [r[0] for r in db.execute("SELECT user FROM accounts ORDER BY user")]
        return [a for a in (self.account(n) for n in names) if a is not None]

    def set_password(
        self, user: str, encoded: str, now: float, keep: int, *, must_change: bool
    ) -> None:
        """Give the user a new password hash (creating the account), keeping `keep` earlier ones."""
        with self._db() as db:
            db.execute(
                "INSERT INTO accounts (user) VALUES (?) ON CONFLICT (user) DO NOTHING", (user,)
            )
            old = db.execute(
                "SELECT password_hash FROM accounts WHERE user = ?", (user,)
            ).fetchone()[0]
            if old:
                db.execute(
                    "INSERT INTO password_history (user, password_hash, set_at) VALUES (?, ?, ?)",
                    (user, old, now),
                )
            db.execute(
                "UPDATE accounts SET password_hash = ?, password_set_at = ?, must_change = ?,"
                " failures = 0, locked_until = 0 WHERE user = ?",
                (encoded, now, int(must_change), user),
            )
            db.execute(
                "DELETE FROM password_history WHERE user = ? AND rowid NOT IN (SELECT rowid FROM"
                " password_history WHERE user = ? ORDER BY set_at DESC LIMIT ?)",
                (user, user, keep),
            )

    def earlier_passwords(self, user: str) -> list[str]:
        """Hashes of the current and kept earlier passwords, newest first."""
        with self._db() as db:
            rows = db.execute(
                "SELECT password_hash FROM password_history WHERE user = ? ORDER BY set_at DESC",
                (user,),
            ).fetchall()
            current = db.execute(
                "SELECT password_hash FROM accounts WHERE user = ?", (user,)
            ).fetchone()
        found = [current[0]] if current and current[0] else []
        return found + [r[0] for r in rows]

    def set_disabled(self, user: str, disabled: bool) -> bool:
        """Disable or enable an account; False if there is none."""
        with self._db() as db:
            done = db.execute(
                "UPDATE accounts SET disabled = ? WHERE user = ?", (int(disabled), user)
            )
            return done.rowcount == 1

    def failed(self, user: str, now: float, limit: int, lock_seconds: float) -> bool:
        """Count a failed login of an existing account; True when this failure locked it."""
        with self._db() as db:
            row = db.execute(
                "UPDATE accounts SET failures = failures + 1 WHERE user = ? RETURNING failures",
                (user,),
            ).fetchone()
            if row is not None and row[0] >= limit:
                db.execute(
                    "UPDATE accounts SET failures = 0, locked_until = ? WHERE user = ?",
                    (now + lock_seconds, user),
                )
                return True
        return False

    def succeeded(self, user: str) -> None:
        """Clear the count of failed logins after a good one."""
        with self._db() as db:
            db.execute("UPDATE accounts SET failures = 0 WHERE user = ?", (user,))

    # second factor

    def set_totp(self, user: str, secret: str | None, codes: list[str]) -> None:
        """Set (or clear) the TOTP secret and replace the recovery codes (a directory user gets
        an account row without a password)."""
        with self._db() as db:
            db.execute(
                "INSERT INTO accounts (user) VALUES (?) ON CONFLICT (user) DO NOTHING", (user,)
            )
            db.execute("DELETE FROM totp_enrolments WHERE user = ?", (user,))
            db.execute(
                "UPDATE accounts SET totp_secret = ?, totp_last_step = 0 WHERE user = ?",
                (secret, user),
            )
            db.execute("DELETE FROM recovery_codes WHERE user = ?", (user,))
            db.executemany(
                "INSERT INTO recovery_codes (user, digest) VALUES (?, ?)",
                [(user, digest(c)) for c in codes],
            )

    def begin_enrolment(self, user: str, secret: str, now: float) -> None:
        """Keep a TOTP secret the user has been shown until they confirm it with a code."""
        with self._db() as db:
            db.execute(
                "INSERT INTO totp_enrolments (user, secret, started) VALUES (?, ?, ?) ON CONFLICT"
                " (user) DO UPDATE SET secret = excluded.secret, started = excluded.started",
                (user, secret, now),
            )

    def pending_enrolment(self, user: str) -> tuple[str, float] | None:
        """The secret waiting for confirmation and when it was shown, if any."""
        with self._db() as db:
            row = db.execute(
                "SELECT secret, started FROM totp_enrolments WHERE user = ?", (user,)
            ).fetchone()
        return (str(row[0]), float(row[1])) if row else None

    def used_step(self, user: str, step: int) -> bool:
        """Record the TOTP step just used; False if it (or a later one) was used already."""
        with self._db() as db:
            done = db.execute(
                "UPDATE accounts SET totp_last_step = ? WHERE user = ? AND totp_last_step < ?",
                (step, user, step),
            )
            return done.rowcount == 1

    def use_recovery_code(self, user: str, code: str, now: float) -> bool:
        """Spend a recovery code; False if it is unknown or spent."""
        with self._db() as db:
            done = db.execute(
                "UPDATE recovery_codes SET used_at = ? WHERE user = ? AND digest = ?"
                " AND used_at IS NULL",
                (now, user, digest(code.strip().lower())),
            )
            return done.rowcount == 1

    # sessions and tokens

    def issue(
        self,
        user: str,
        *,
        kind: str,
        scopes: tuple[str, ...],
        method: str,
        now: float,
        lifetime: float,
        roles: tuple[str, ...] | None = None,
        name: str = "",
    ) -> tuple[str, Token]:
        """A new session or token; returns the secret to hand out once, and the stored record."""
        ident = secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        csrf = secrets.token_urlsafe(24) if kind == "session" else None
        token = Token(
            ident, user, kind, scopes, method, roles, csrf, name, now, now + lifetime, now, None
        )
        with self._db() as db:
            db.execute(
                "INSERT INTO tokens (id, user, digest, kind, scopes, method, roles, csrf, name,"
                " created, expires, last_seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    ident,
                    user,
                    digest(secret),
                    kind,
                    json.dumps(list(scopes)),
                    method,
                    json.dumps(list(roles)) if roles is not None else None,
                    csrf,
                    name,
                    now,
                    now + lifetime,
                    now,
                ),
            )
        return f"{TOKEN_PREFIX}{ident}.{secret}", token

    def find(self, presented: str) -> Token | None:
        """The token a presented secret belongs to (revoked or expired ones too), else None."""
        parts = split_token(presented)
        if parts is None:
            return None
        ident, secret = parts
        with self._db() as db:
            row = db.execute(
                "SELECT id, user, kind, scopes, method, roles, csrf, name, created, expires,"
                " last_seen, revoked, digest FROM tokens WHERE id = ?",
                (ident,),
            ).fetchone()
        if row is None or not hmac.compare_digest(row[12], digest(secret)):
            return None
        return _token(row)

    def touch(self, ident: str, now: float) -> None:
        """Note that a token was just used (the idle timeout counts from here)."""
        with self._db() as db:
            db.execute("UPDATE tokens SET last_seen = ? WHERE id = ?", (now, ident))

    def revoke(self, ident: str, now: float) -> bool:
        """Revoke one token; False if it does not exist or was revoked already."""
        with self._db() as db:
            done = db.execute(
                "UPDATE tokens SET revoked = ? WHERE id = ? AND revoked IS NULL", (now, ident)
            )
            return done.rowcount == 1

    def revoke_all(self, user: str, now: float) -> int:
        """Revoke every live session and token of a user; how many were revoked."""
        with self._db() as db:
            done = db.execute(
                "UPDATE tokens SET revoked = ? WHERE user = ? AND revoked IS NULL", (now, user)
            )
            return done.rowcount

    def tokens(self, user: str | None = None) -> list[Token]:
        """Tokens and sessions, newest first (of one user if given)."""
        query = (
            "SELECT id, user, kind, scopes, method, roles, csrf, name, created, expires,"
            " last_seen, revoked FROM tokens"
        )
        with self._db() as db:
            if user is None:
                rows = db.execute(query + " ORDER BY created DESC").fetchall()
            else:
                rows = db.execute(
                    query + " WHERE user = ? ORDER BY created DESC", (user,)
                ).fetchall()
        return [_token(r) for r in rows]


def _token(row: tuple[object, ...]) -> Token:
    roles = json.loads(str(row[5])) if row[5] is not None else None
    return Token(
        id=str(row[0]),
        user=str(row[1]),
        kind=str(row[2]),
        scopes=tuple(json.loads(str(row[3]))),
        method=str(row[4]),
        roles=tuple(roles) if roles is not None else None,
        csrf=str(row[6]) if row[6] is not None else None,
        name=str(row[7]),
        created=float(row[8]),  # type: ignore[arg-type]
        expires=float(row[9]),  # type: ignore[arg-type]
        last_seen=float(row[10]),  # type: ignore[arg-type]
        revoked=float(row[11]) if row[11] is not None else None,  # type: ignore[arg-type]
    )


def account_store(state: Path) -> AccountStore:
    """The site's credential store in its state dir."""
    return AccountStore(state / "server" / "accounts.sqlite")
