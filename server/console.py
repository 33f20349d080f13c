"""The web console's base: templates, who is looking, CSRF on forms, login and logout pages.

Pages are rendered on the server from the same functions the API calls; a form is checked
for its CSRF token here and then handed to the API's own handler, so one code path decides.
"""

from __future__ import annotations

import hmac
import secrets
import time
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from dcops.core.errors import (
    AccessDenied,
    DcopsError,
    InputError,
    InvalidInput,
    NotAuthenticated,
    Problem,
    SecondFactorNeeded,
)
from dcops.core.identity import require_role
from dcops.server.context import (
    ENROLMENT_PATHS,
    SESSION_COOKIE,
    actor,
    caller,
    context,
    principal,
)
from dcops.server.problems import status_of

if TYPE_CHECKING:
    from jinja2 import Environment
    from pydantic import BaseModel
    from starlette.datastructures import FormData

    from dcops.server.authentication import Principal

router = APIRouter(prefix="/console", include_in_schema=False)
M = TypeVar("M", bound="BaseModel")
LOGIN_COOKIE = "dcops_login_csrf"
PENDING_SECONDS = 120
MAX_PENDING = 1000
TITLES = {
    "not authenticated": "未登录",
    "forbidden": "禁止访问",
    "invalid input": "输入无效",
    "operation failed": "操作失败",
    "bad request": "请求有误",
    "not done": "未完成",
}
# Where each role starts, in the order a person holding several roles sees them.
HOMES = (
    ("facility", "/console/room", "机房 Room"),
    ("ops", "/console/ops", "运维 Ops"),
    ("ops", "/console/room", "机房 Room"),
    ("approver", "/console/queue", "审批 Approvals"),
    ("department", "/console/requests", "我的申请 My requests"),
    ("auditor", "/console/audit", "审计 Audit"),
)


@cache
def templates() -> Environment:
    """The console's Jinja2 environment (autoescaped: every value a page shows is escaped)."""
    from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

    env = Environment(
        loader=PackageLoader("dcops.server", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["num"] = lambda v, digits=1: "—" if v is None else f"{v:.{digits}f}"
    env.filters["qty"] = lambda v: (
        format(v.normalize(), "f") if v == v.to_integral() else f"{v:.2f}"
    )
    return env


def site_time(request: Request, stamp: float | None = None) -> str:
    """A moment in the site's zone, with the zone named: 2026-03-01 09:30:00 CST (Asia/Shanghai)."""
    zone = context(request).site.config.site.timezone
    moment = datetime.fromtimestamp(time.time() if stamp is None else stamp, ZoneInfo(zone))
    return f"{moment:%Y-%m-%d %H:%M:%S} {moment.tzname()} ({zone})"


def render(
    request: Request, name: str, status: int = 200, who: Principal | None = None, **values: Any
) -> HTMLResponse:
    """A page: the template with the site, the time in its zone, the viewer and their CSRF token."""
    site = context(request).site
    person = site.person(who.user) if who else None
    page = (
        templates()
        .get_template(name)
        .render(
            site=site.name,
            site_title=site.config.site.title,
            now=site_time(request),
            user=who.user if who else "",
            user_name=person.name if person else (who.user if who else ""),
            roles=sorted(who.roles) if who else [],
            nav=_nav(who),
            csrf=who.token.csrf if who else "",
            **values,
        )
    )
    return HTMLResponse(page, status_code=status)


def _nav(who: Principal | None) -> list[tuple[str, str]]:
    if who is None:
        return []
    seen: dict[str, str] = {}
    for role, path, label in HOMES:
        held = any(r == role or r.startswith(role + ":") for r in who.roles)
        if held and path not in seen:
            seen[path] = label
    return list(seen.items())


def viewer(request: Request, *roles: str, action: str) -> Principal:
    """The logged-in person looking at a page; AccessDenied unless they hold one of the roles."""
    who = principal(request)
    if roles:
        require_role(actor(request), *roles, action=action)
    return who


async def submitted(request: Request, *roles: str, action: str) -> tuple[Principal, FormData]:
    """A posted form whose CSRF field matches the session's token, and who posted it."""
    form = await request.form(max_files=0, max_fields=100)
    presented = request.cookies.get(SESSION_COOKIE, "")
    if not presented:
        raise NotAuthenticated("未登录 / not logged in: log in again")
    ctx = context(request)
    who = ctx.auth.authenticate(presented, caller(request))
    given = str(form.get("csrf", ""))
    if not who.token.csrf or not hmac.compare_digest(who.token.csrf, given):
        raise AccessDenied(
            "跨站请求校验失败 / the form's CSRF token is missing or wrong; reload the page and "
            "submit it again"
        )
    if "write" not in who.scopes and request.url.path not in ENROLMENT_PATHS:
        raise AccessDenied(
            "请先登记第二因子 / this login may only enrol a second factor: /console/totp"
        )
    request.state.principal = who
    if roles:
        require_role(actor(request), *roles, action=action)
    return who, form


def field(form: FormData, name: str, limit: int = 2000) -> str:
    """A text field of a posted form, trimmed and bounded."""
    value = form.get(name, "")
    return value[:limit].strip() if isinstance(value, str) else ""


def parsed(model: type[M], values: dict[str, Any], source: str) -> M:
    """A form's fields as the API's model; InvalidInput naming each bad field otherwise."""
    from pydantic import ValidationError

    try:
        return model.model_validate(values)
    except ValidationError as exc:
        problems = [
            Problem(source, ".".join(str(p) for p in e["loc"]), str(e["msg"])[:300])
            for e in exc.errors()[:20]
        ]
        raise InvalidInput("表单内容无效 / the form is not valid", problems) from None


def error_page(request: Request, error: DcopsError) -> Response:
    """A console error: to the login page when not logged in, else the message as a page."""
    if isinstance(error, NotAuthenticated) and request.method == "GET":
        return RedirectResponse(f"/console/login?next={quote(request.url.path)}", 303)
    status, title = status_of(error)
    title = f"{TITLES.get(title, '出错')} {title}"
    who = getattr(request.state, "principal", None)
    details = error.details()[:20]
    return render(
        request, "error.html", status, who, title=title, message=str(error), details=details
    )


@router.get("")
def home(request: Request) -> Response:
    """Each person starts on the page of their first role."""
    who = principal(request)
    nav = _nav(who)
    if nav:
        return RedirectResponse(nav[0][0], 303)
    return render(
        request,
        "error.html",
        403,
        who,
        title="forbidden",
        details=[],
        message="没有可用页面 / none of your roles has a page in the console",
    )


@router.get("/login")
def login_page(request: Request, next: str = "/console") -> Response:
    """The login form, with a fresh token for its CSRF check."""
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", next=_safe_next(next), login_csrf=token, error="",
                  directory=_directory(request))  # fmt: skip
    _login_cookie(request, page, token)
    return page


def _directory(request: Request) -> bool:
    """Whether the site logs people in against its directory (LDAP) as well."""
    return context(request).site.config.identity.ldap is not None


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the password; ask for the one-time code where the account needs one."""
    form = await _login_form(request)
    user, password = field(form, "user", 64), str(form.get("password", ""))[:256]
    target = _safe_next(field(form, "next", 300))
    try:
        return _open_session(request, user, password, "", target)
    except SecondFactorNeeded:
        ticket = secrets.token_urlsafe(24)
        _pending(request)[ticket] = (user, password, time.monotonic() + PENDING_SECONDS)
        token = secrets.token_urlsafe(24)
        page = render(
            request,
            "login_code.html",
            next=target,
            login_csrf=token,
            ticket=ticket,
            login_user=user,
            error="",
        )
        _login_cookie(request, page, token)
        return page
    except NotAuthenticated as exc:
        return _login_again(request, target, str(exc))


@router.post("/login/code")
async def login_code(request: Request) -> Response:
    """The second step: the one-time code (or a recovery code) for the password just checked."""
    form = await _login_form(request)
    target = _safe_next(field(form, "next", 300))
    held = _pending(request).pop(field(form, "ticket", 64), None)
    if held is None or held[2] < time.monotonic():
        return _login_again(request, target, "登录已超时 / the login timed out; start again")
    try:
        return _open_session(request, held[0], held[1], field(form, "code", 32), target)
    except NotAuthenticated as exc:
        return _login_again(request, target, str(exc))


@router.get("/password")
def password_page(request: Request) -> Response:
    """The form to change one's password (also for a password that has expired)."""
    return _password_form(request, "", 200)


@router.post("/password")
async def change_password(request: Request) -> Response:
    """Change the password through the API's handler: the old one (and code) proves who it is."""
    from dcops.server import auth_api

    form = await _login_form(request)
    new = str(form.get("new_password", ""))[:256]
    if new != str(form.get("new_again", ""))[:256]:
        return _password_form(request, "两次输入的新密码不一致 / the new passwords differ", 400)
    values = {"user": field(form, "user", 64), "password": str(form.get("password", ""))[:256],
              "code": field(form, "code", 32), "new_password": new}  # fmt: skip
    try:
        body = parsed(auth_api.PasswordChange, values, "password form")
        await run_in_threadpool(auth_api.change_password, body, request)
    except InputError as exc:
        status, _ = status_of(exc)
        lines = [str(exc), *exc.details()]
        return _password_form(request, " ".join(lines)[:1000], status)
    return render(request, "password_changed.html")


def _password_form(request: Request, error: str, status: int) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(request, "password.html", status, login_csrf=token, error=error)
    _login_cookie(request, page, token)
    return page


@router.get("/totp")
def second_factor(request: Request) -> Response:
    """The person's second factor: whether they have one, and enrolling one."""
    from dcops.server import auth_api

    who = principal(request)
    state = auth_api.second_factor(request)
    return render(request, "totp.html", who=who, state=state, started=None, codes=None)


@router.post("/totp")
async def begin_second_factor(request: Request) -> Response:
    """A new secret with its QR code, waiting for a code from it."""
    from dcops.server import auth_api

    who, _ = await submitted(request, action="POST /console/totp")
    started = await run_in_threadpool(auth_api.enrol_second_factor, request)
    state = auth_api.second_factor(request)
    return render(request, "totp.html", who=who, state=state, started=started, codes=None)


@router.post("/totp/confirm")
async def confirm_second_factor(request: Request) -> Response:
    """Confirm the new secret with its code; the recovery codes are shown this once."""
    from dcops.server import auth_api

    who, form = await submitted(request, action="POST /console/totp/confirm")
    body = parsed(auth_api.CodeConfirmation, {"code": field(form, "code", 8)}, "code form")
    done = await run_in_threadpool(auth_api.confirm_second_factor, body, request)
    return render(request, "totp.html", who=who, state=None, started=None,
                  codes=done["recovery_codes"])  # fmt: skip


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session and go back to the login page."""
    who, _ = await submitted(request, action="logging out")
    context(request).auth.logout(who, caller(request))
    done = RedirectResponse("/console/login", 303)
    done.delete_cookie(SESSION_COOKIE, path="/")
    return done


def _open_session(request: Request, user: str, password: str, code: str, target: str) -> Response:
    ctx = context(request)
    secret, token = ctx.auth.login(
        user, password, code, caller(request), kind="session", enrol=True
    )
    done = RedirectResponse(target if "read" in token.scopes else "/console/totp", 303)
    done.set_cookie(
        SESSION_COOKIE,
        secret,
        max_age=int(token.expires - token.created),
        httponly=True,
        secure=ctx.secure_cookies,
        samesite="strict",
        path="/",
    )
    done.delete_cookie(LOGIN_COOKIE, path="/console")
    return done


def _login_again(request: Request, target: str, message: str) -> Response:
    token = secrets.token_urlsafe(24)
    page = render(request, "login.html", 401, next=target, login_csrf=token, error=message,
                  directory=_directory(request))  # fmt: skip
    _login_cookie(request, page, token)
    return page


async def _login_form(request: Request) -> FormData:
    """The login form, refused unless its CSRF field matches the cookie set with the form."""
    form = await request.form(max_files=0, max_fields=10)
    expected = request.cookies.get(LOGIN_COOKIE, "")
    given = str(form.get("login_csrf", ""))
    if not expected or not hmac.compare_digest(expected, given):
        raise AccessDenied(
            "跨站请求校验失败 / the login form's CSRF token is missing or wrong; reload the page"
        )
    return form


def _login_cookie(request: Request, page: Response, token: str) -> None:
    page.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=900,
        httponly=True,
        samesite="strict",
        secure=context(request).secure_cookies,
        path="/console",
    )


def _pending(request: Request) -> dict[str, tuple[str, str, float]]:
    """Logins waiting for their code (kept in memory for two minutes, then dropped)."""
    held: dict[str, tuple[str, str, float]] = request.app.state.pending_logins
    now = time.monotonic()
    for ticket in [t for t, (_, _, until) in held.items() if until < now]:
        del held[ticket]
    while len(held) >= MAX_PENDING:  # a flood of half-logins pushes out the oldest
        del held[next(iter(held))]
    return held


def _safe_next(target: str) -> str:
    """Only a path of the console itself: never another host."""
    if target.startswith("/console") and "//" not in target and "\\" not in target:
        return target[:300]
    return "/console"
