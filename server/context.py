"""What every request handler needs: the site, the authenticator, and who is calling."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dcops.core.errors import AccessDenied, NotAuthenticated
from dcops.core.identity import Actor, actor_for
from dcops.server.access_audit import Caller

if TYPE_CHECKING:
    from starlette.requests import Request

    from dcops.audit.journal import Journal
    from dcops.core.site import Site
    from dcops.server.access_audit import AccessLog
    from dcops.server.authentication import Authenticator, Principal
    from dcops.server.clock import Clock

SESSION_COOKIE = "dcops_session"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
# What a login that still has to enrol its second factor (scope enrol) may call.
ENROLMENT_PATHS = (
    "/api/v1/auth/totp",
    "/api/v1/auth/totp/confirm",
    "/api/v1/auth/logout",
    "/api/v1/whoami",
    "/console/totp",
    "/console/totp/confirm",
    "/console/logout",
)


@dataclass
class ServerContext:
    """The server's long-lived parts, shared by every request."""

    site: Site
    auth: Authenticator
    log: AccessLog
    journal: Journal
    clock: Clock
    secure_cookies: bool


def context(request: Request) -> ServerContext:
    """The server context of the app handling this request."""
    found: ServerContext = request.app.state.dcops
    return found


def caller(request: Request) -> Caller:
    """The client's address and user agent (bounded)."""
    host = request.client.host if request.client else ""
    return Caller(host, request.headers.get("user-agent", "")[:200])


def principal(request: Request) -> Principal:
    """The authenticated caller: bearer token, else session cookie (with CSRF on changes)."""
    found: Principal | None = getattr(request.state, "principal", None)
    if found is not None:
        return found
    ctx = context(request)
    header = request.headers.get("authorization", "")
    by_cookie = False
    if header[:7].lower() == "bearer ":
        presented = header[7:].strip()
    else:
        presented = request.cookies.get(SESSION_COOKIE, "")
        by_cookie = True
    if not presented:
        raise NotAuthenticated(
            "未登录 / not logged in: send a bearer token (dcops login) or a session cookie"
        )
    who = ctx.auth.authenticate(presented, caller(request))
    request.state.principal = who
    if by_cookie and request.method not in SAFE_METHODS:
        expected = who.token.csrf or ""
        given = request.headers.get(CSRF_HEADER, "")
        if not expected or not hmac.compare_digest(expected, given):
            raise AccessDenied(
                "跨站请求校验失败 / the CSRF token is missing or wrong: a change made with a "
                "session cookie needs the X-CSRF-Token header the login returned"
            )
    if "read" not in who.scopes:
        if request.url.path not in ENROLMENT_PATHS:
            raise AccessDenied(
                "请先登记第二因子 / this login may only enrol a second factor (scope enrol): "
                "POST /api/v1/auth/totp, confirm with a code, then log in again with the code"
            )
        return who
    if request.method not in SAFE_METHODS and "write" not in who.scopes:
        raise AccessDenied(
            "只读令牌 / this token is read-only (scope read); changes need scope write"
        )
    return who


def actor(request: Request) -> Actor:
    """The authenticated caller as the Actor that the areas' code expects."""
    who = principal(request)
    ctx = context(request)
    origin = caller(request)
    return actor_for(
        ctx.site,
        who.user,
        login=who.user,
        method=who.method,
        source=origin.source,
        agent=origin.agent,
        roles=who.roles,
    )
