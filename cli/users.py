"""`dcops users`: accounts for the people in dcops.toml (security administrator role)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import session

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site
    from dcops.server.accounts import AccountStore

app = typer.Typer(
    help="Accounts of the people in dcops.toml: passwords, second factors, tokens.",
    no_args_is_help=True,
)
ROLE = "security"


def _store(site: Site) -> AccountStore:
    from dcops.server.accounts import account_store

    return account_store(site.paths.state)


def _admin(ctx: typer.Context, verb: str) -> tuple[Site, Actor]:
    state = session(ctx)
    return state.site, state.require(ROLE, action=f"dcops users {verb}")


def _person(site: Site, user: str) -> None:
    from dcops.core.errors import InputError
    from dcops.server.authentication import check_user_name

    check_user_name(user)
    if site.person(user) is None:
        known = ", ".join(p.user for p in site.config.people)
        raise InputError(
            f"dcops.toml 中没有此人 / {user!r} is not under [[people]] in dcops.toml; people are "
            f"declared there (reviewable in git) before they get an account; known: {known}"
        )


def _one_time_password() -> str:
    import secrets

    return f"Tmp-{secrets.token_urlsafe(12)}-{secrets.randbelow(90) + 10}"


@app.command("list")
def list_users(ctx: typer.Context) -> None:
    """List the people with their account state: password, second factor, lock, tokens."""
    import time

    from dcops.cli.views import output

    site, _ = _admin(ctx, "list")
    store = _store(site)
    accounts = {a.user: a for a in store.users()}
    now = time.time()
    rows = []
    for person in site.config.people:
        account = accounts.get(person.user)
        live = [t for t in store.tokens(person.user) if t.revoked is None and t.expires > now]
        rows.append(
            {
                "user": person.user,
                "name": person.name,
                "roles": person.roles,
                "password": bool(account and account.password_hash),
                "must_change": bool(account and account.must_change),
                "totp": bool(account and account.totp_secret),
                "disabled": bool(account and account.disabled),
                "locked": bool(account and account.locked_until > now),
                "live_tokens": len(live),
            }
        )
    if session(ctx).json:
        output.print_json(rows)
        return
    columns = [
        "user",
        "full name",
        "roles",
        "password",
        "totp",
        "disabled",
        "locked",
        "live_tokens",
    ]

    def cell(value: object) -> str:
        if isinstance(value, bool):
            return "yes" if value else "-"
        if isinstance(value, list):
            return ", ".join(value)
        return str(value)

    keys = [c.replace("full name", "name") for c in columns]
    output.show(output.table(None, columns, ([cell(r[k]) for k in keys] for r in rows)))


def _set_one_time(ctx: typer.Context, verb: str, user: str) -> None:
    import time

    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.server.passwords import hash_password

    site, actor = _admin(ctx, verb)
    _person(site, user)
    store = _store(site)
    password = _one_time_password()
    keep = site.config.identity.passwords.history
    with audited(site, actor, action=f"users.{verb}", target=f"account/{user}",
                 secrets=[password]) as op:  # fmt: skip
        now = time.time()
        store.set_password(user, hash_password(password), now, keep, must_change=True)
        revoked = store.revoke_all(user, now)
        op.attach(details={"revoked_tokens": revoked, "must_change": True})
    if session(ctx).json:
        output.print_json({"user": user, "one_time_password": password, "must_change": True})
        return
    output.show(f"{user}: one-time password {password}")
    output.show("  仅显示一次，首次登录须修改 / shown once; it must be changed at the first login")


@app.command("add")
def add(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user from [[people]].")
) -> None:
    """Give a person from dcops.toml an account with a one-time password (changed at first login)."""
    from dcops.core.errors import InputError

    site, _ = _admin(ctx, "add")
    _person(site, user)
    account = _store(site).account(user)
    if account is not None and account.password_hash:
        raise InputError(f"{user} already has an account; use dcops users reset-password {user}")
    _set_one_time(ctx, "add", user)


@app.command("reset-password")
def reset_password(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user with an account.")
) -> None:
    """Replace a password with a one-time one and end every session and token of the user."""
    _set_one_time(ctx, "reset-password", user)


def _switch(ctx: typer.Context, verb: str, user: str, disabled: bool) -> None:
    import time

    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.core.errors import InputError

    site, actor = _admin(ctx, verb)
    _person(site, user)
    store = _store(site)
    with audited(site, actor, action=f"users.{verb}", target=f"account/{user}") as op:
        if not store.set_disabled(user, disabled):
            raise InputError(f"{user} has no account yet; dcops users add {user}")
        revoked = store.revoke_all(user, time.time()) if disabled else 0
        op.attach(details={"revoked_tokens": revoked})
    output.show(f"{user}: {'disabled; sessions and tokens revoked' if disabled else 'enabled'}")


@app.command("disable")
def disable(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user with an account.")
) -> None:
    """Disable an account at once: logins fail and its sessions and tokens stop working."""
    _switch(ctx, "disable", user, True)


@app.command("enable")
def enable(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user with an account.")
) -> None:
    """Enable a disabled account again."""
    _switch(ctx, "enable", user, False)


@app.command("revoke-tokens")
def revoke_tokens(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user with an account.")
) -> None:
    """Revoke every session and API token of a user (the next request with one gets 401)."""
    import time

    from dcops.audit.recorder import audited
    from dcops.cli.views import output

    site, actor = _admin(ctx, "revoke-tokens")
    _person(site, user)
    with audited(site, actor, action="users.revoke-tokens", target=f"account/{user}") as op:
        revoked = _store(site).revoke_all(user, time.time())
        op.attach(details={"revoked_tokens": revoked})
    output.show(f"{user}: {revoked} sessions and tokens revoked")


@app.command("enrol-totp")
def enrol_totp(
    ctx: typer.Context, user: str = typer.Argument(..., help="A user with an account.")
) -> None:
    """Give a user a new TOTP secret and 10 recovery codes: QR code, otpauth URI, codes (shown once)."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.core.errors import InputError
    from dcops.server import totp
    from dcops.server.authentication import new_recovery_codes

    site, actor = _admin(ctx, "enrol-totp")
    _person(site, user)
    store = _store(site)
    if store.account(user) is None:
        raise InputError(f"{user} has no account yet; dcops users add {user}")
    secret = totp.new_secret()
    codes = new_recovery_codes()
    uri = totp.otpauth_uri(secret, user, f"dcops-{site.name}")
    with audited(site, actor, action="users.enrol-totp", target=f"account/{user}",
                 secrets=[secret, *codes]) as op:  # fmt: skip
        store.set_totp(user, secret, codes)
        op.attach(details={"recovery_codes": len(codes)})
    if session(ctx).json:
        output.print_json(
            {
                "user": user,
                "otpauth_uri": uri,
                "qr_svg": totp.qr_svg_data_uri(uri),
                "recovery_codes": codes,
            }
        )
        return
    typer.echo(totp.qr_text(uri))
    typer.echo(f"otpauth URI: {uri}")
    typer.echo("recovery codes (每个只能用一次 / each works once):")
    for code in codes:
        typer.echo(f"  {code}")
