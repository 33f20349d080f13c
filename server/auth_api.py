"""/api/v1/auth: log in and out, tokens for the CLI and automation, password changes, whoami."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from dcops.server.context import SESSION_COOKIE, caller, context, principal

router = APIRouter(prefix="/api/v1", tags=["auth"])


class Credentials(BaseModel):
    """A user name, password and, where the account has one, a one-time code."""

    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)
    code: str = Field(default="", max_length=32, description="TOTP code or a recovery code")
    enrol: bool = Field(
        default=False,
        description="no second factor yet but the roles need one: log in only to enrol it "
        "(the session or token gets scope enrol)",
    )


class TokenLogin(Credentials):
    """Credentials plus a name for the token the CLI keeps."""

    name: str = Field(default="cli", max_length=64)


class PasswordChange(Credentials):
    """The current credentials and the new password."""

    new_password: str = Field(min_length=1, max_length=256)


class TokenRequest(BaseModel):
    """An API token for automation: its name, scopes and lifetime."""

    name: str = Field(min_length=1, max_length=64)
    scopes: list[str] = Field(default=["read"], max_length=2)
    days: int = Field(default=30, ge=1, le=366)


@router.post("/auth/login")
def login(body: Credentials, request: Request, response: Response) -> dict[str, Any]:
    """Log in with a password (and code) and get a session cookie plus its CSRF token."""
    ctx = context(request)
    secret, token = ctx.auth.login(
        body.user, body.password, body.code, caller(request), kind="session", enrol=body.enrol
    )
    response.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(token.expires - token.created),
        httponly=True,
        secure=ctx.secure_cookies,
        samesite="strict",
        path="/",
    )
    return {"user": token.user, "method": token.method, "csrf": token.csrf,
            "expires": token.expires, "scopes": list(token.scopes)}  # fmt: skip


@router.post("/auth/token")
def token_login(body: TokenLogin, request: Request) -> dict[str, Any]:
    """Log in and get a short-lived bearer token (what `dcops login` keeps)."""
    ctx = context(request)
    secret, token = ctx.auth.login(
        body.user, body.password, body.code, caller(request), kind="cli", name=body.name,
        enrol=body.enrol,
    )  # fmt: skip
    return {"token": secret, "id": token.id, "user": token.user, "method": token.method,
            "expires": token.expires, "scopes": list(token.scopes)}  # fmt: skip


@router.post("/auth/logout")
def logout(request: Request, response: Response) -> dict[str, Any]:
    """End this session, or revoke the token this request used."""
    who = principal(request)
    context(request).auth.logout(who, caller(request))
    response.delete_cookie(SESSION_COOKIE, path="/")
    return {"revoked": who.token.id}


@router.post("/auth/password")
def change_password(body: PasswordChange, request: Request) -> dict[str, Any]:
    """Set a new password (policy: length, classes, history) after proving the current one."""
    context(request).auth.change_password(
        body.user, body.password, body.code, body.new_password, caller(request)
    )
    return {"user": body.user, "changed": True}


class CodeConfirmation(BaseModel):
    """The current code from the authenticator app, to confirm the new secret."""

    code: str = Field(min_length=6, max_length=8, pattern=r"^\s*\d{6,8}\s*$")


@router.get("/auth/totp")
def second_factor(request: Request) -> dict[str, bool]:
    """Whether the caller has a second factor, one waiting for confirmation, and needs one."""
    from dcops.server import enrolment

    return enrolment.state_of(context(request).auth, principal(request)).as_dict()


@router.post("/auth/totp")
def enrol_second_factor(request: Request) -> dict[str, str]:
    """Start enrolling TOTP: a new secret as an otpauth URI and a QR code (SVG data URI).

    Not active until confirmed. Replacing an existing second factor needs a login made with it.
    """
    from dcops.server import enrolment

    ctx = context(request)
    return enrolment.begin(ctx.auth, principal(request), caller(request))


@router.post("/auth/totp/confirm")
def confirm_second_factor(body: CodeConfirmation, request: Request) -> dict[str, Any]:
    """Confirm the new secret with its current code; from now on logins need a code.

    Returns ten single-use recovery codes, shown this once. A login with scope enrol ends
    here: log in again with the password and a code.
    """
    from dcops.server import enrolment

    ctx = context(request)
    who = principal(request)
    codes = enrolment.confirm(ctx.auth, who, body.code, caller(request))
    return {"user": who.user, "enrolled": True, "recovery_codes": codes}


@router.get("/auth/tokens")
def my_tokens(request: Request) -> list[dict[str, object]]:
    """The caller's sessions and tokens (never their secrets)."""
    who = principal(request)
    return [t.as_dict() for t in context(request).auth.store.tokens(who.user)]


@router.post("/auth/tokens", status_code=201)
def issue_token(body: TokenRequest, request: Request) -> dict[str, Any]:
    """Issue a scoped, expiring API token for automation; its secret is shown only here."""
    who = principal(request)
    secret, token = context(request).auth.issue_token(
        who, caller(request), name=body.name, scopes=tuple(body.scopes), days=body.days
    )
    return {"token": secret, **token.as_dict()}


@router.delete("/auth/tokens/{ident}")
def revoke_token(ident: str, request: Request) -> dict[str, Any]:
    """Revoke a token at once (its next use gets 401)."""
    who = principal(request)
    context(request).auth.revoke(who, ident[:32], caller(request))
    return {"revoked": ident[:32]}


@router.get("/whoami")
def whoami(request: Request) -> dict[str, Any]:
    """Who the server knows the caller as, their roles and how they proved it."""
    who = principal(request)
    person = context(request).site.person(who.user)
    return {
        "user": who.user,
        "name": person.name if person else who.user,
        "roles": sorted(who.roles),
        "method": who.method,
        "scopes": list(who.scopes),
        "token": who.token.id,
        "expires": who.token.expires,
    }
