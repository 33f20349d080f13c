"""The ASGI application: routes, problem details, size limits, metrics and security headers."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import PlainTextResponse, Response

from dcops.core.errors import AccessDenied, DcopsError, InvalidInput, Problem
from dcops.server import audit_api, auth_api, console, site_api, tenancy_api
from dcops.server.access_audit import AccessLog
from dcops.server.accounts import account_store
from dcops.server.authentication import Authenticator
from dcops.server.clock import SystemClock
from dcops.server.context import ServerContext, caller
from dcops.server.deliverer import Deliverer
from dcops.server.metrics import RequestMetrics
from dcops.server.problems import from_error, problem_response, unexpected

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from dcops.core.site import Site
    from dcops.server.clock import Clock

API_VERSION = "v1"
# Pages load only the console's own files: no inline script, no other origin, no framing, and
# no <base> element that would send the pages' relative addresses to another host.
CSP = (
    b"default-src 'self'; img-src 'self' data:; base-uri 'none'; frame-ancestors 'none'; "
    b"form-action 'self'"
)


class Guard:
    """ASGI middleware: refuse oversized bodies, time every request, add security headers."""

    def __init__(self, app: ASGIApp, limit: int, metrics: RequestMetrics, https: bool) -> None:
        self.app = app
        self.limit = limit
        self.metrics = metrics
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one connection event."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._too_large(scope, receive, send)
            self.metrics.observe(scope, 413, started)
            return
        seen = 0

        async def bounded() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise _TooLarge()
            return message

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers += [
                    (b"x-content-type-options", b"nosniff"),
                    (b"cache-control", b"no-store"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                headers.append((b"content-security-policy", CSP))
                if self.https:
                    headers.append((b"strict-transport-security", b"max-age=31536000"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, bounded, sending)
        except _TooLarge:
            status = 413
            await self._too_large(scope, receive, send)
        finally:
            self.metrics.observe(scope, status, started)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem_response(
            413, "payload too large",
            f"请求体过大 / the request body is larger than {self.limit} bytes "
            "([server] max_body_bytes)",
        )  # fmt: skip
        await response(scope, receive, send)


class _TooLarge(Exception):
    """The body grew past the limit while it was read."""


def _policy_judges() -> Any:
    """The stacks' admission module, whose worker pool judges submits; None without the extra."""
    import importlib.util

    if any(importlib.util.find_spec(m) is None for m in ("pulumi", "pulumi_policy")):
        return None
    from dcops.stacks import admission

    return admission


def create_app(site: Site, clock: Clock | None = None, *, https: bool = True) -> FastAPI:
    """The dcops API for a site; the clock is injectable for tests of lockouts and expiry."""
    from dcops.audit.journal import Journal

    clock = clock or SystemClock()
    journal = Journal.of(site)
    log = AccessLog(site, journal)
    store = account_store(site.paths.state)
    auth = Authenticator(site, store, clock, log)
    metrics = RequestMetrics()
    deliverer = Deliverer(site, site.config.server.deliver_every_s)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        deliverer.start()
        app.state.floor_cache.keep()
        app.state.room_feed.start()
        judges = _policy_judges()
        if judges is not None:
            judges.open_judges()
        yield
        if judges is not None:
            judges.close_judges()
        app.state.room_feed.stop()
        app.state.floor_cache.stop()
        deliverer.stop()

    app = FastAPI(
        lifespan=lifespan,
        title=f"dcops API ({site.name})",
        version=API_VERSION,
        description="政务大数据中心运维 API / the dcops API: tenancies, IPAM, audit, alerts, site.",
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.dcops = ServerContext(site, auth, log, journal, clock, secure_cookies=https)
    for module in (auth_api, tenancy_api, audit_api, site_api):
        app.include_router(module.router)
    _add_console(app)

    @app.exception_handler(DcopsError)
    async def dcops_error(request: Request, error: DcopsError) -> Response:
        if isinstance(error, AccessDenied):
            who = getattr(request.state, "principal", None)
            log.record(
                "auth.denied", who.user if who else "(anonymous)", caller(request),
                method=who.method if who else "none", ok=False, reason=str(error)[:500],
                details={"request": f"{request.method} {request.url.path}"[:300]},
            )  # fmt: skip
        if request.url.path.startswith("/console"):
            return console.error_page(request, error)
        return from_error(error)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        problems = [_field_problem(e) for e in error.errors()[:50]]
        if request.url.path.startswith("/console"):
            shown = InvalidInput("请求无效 / the request is not valid",
                                 [Problem("request", p["field"], p["message"]) for p in problems])  # fmt: skip
            return console.error_page(request, shown)
        return problem_response(
            422, "invalid input", "请求内容无效 / the request is not valid", problems
        )

    app.add_exception_handler(Exception, unexpected)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz() -> Response:
        from dcops.tenancy.store import open_store

        try:
            store.users()
            with open_store(site).reading():
                pass
        except Exception as exc:  # readiness reports any failure of its dependencies
            return problem_response(503, "not ready", f"not ready: {type(exc).__name__}")
        return PlainTextResponse("ready\n")

    @app.get("/metrics", include_in_schema=False)
    def metrics_page() -> Response:
        return Response(metrics.exposition(), media_type="text/plain; version=0.0.4")

    limit = site.config.server.max_body_bytes
    app.add_middleware(Guard, limit=limit, metrics=metrics, https=https)
    return app


def _add_console(app: FastAPI) -> None:
    """The web console's pages and its own static files (nothing from another origin)."""
    from importlib.resources import files

    from starlette.responses import RedirectResponse
    from starlette.staticfiles import StaticFiles

    from dcops.server import console_audit, console_ops, console_requests, console_room
    from dcops.server.room_feed import RoomFeed
    from dcops.server.room_view import SERIES

    app.state.pending_logins = {}
    site = app.state.dcops.site
    feed = RoomFeed(site.name, list(site.config.monitors.exporters), set(SERIES.values()))
    app.state.room_feed = feed
    app.state.floor_cache = console_room.FloorCache(console_room.reader(site, feed))
    feed.on_change = app.state.floor_cache.wake
    for module in (console, console_room, console_requests, console_audit, console_ops):
        app.include_router(module.router)
    static = files("dcops.server") / "static"
    app.mount("/static", StaticFiles(directory=str(static)), name="static")

    @app.get("/", include_in_schema=False)
    def root() -> Response:
        return RedirectResponse("/console", 303)


def _field_problem(error: Any) -> dict[str, Any]:
    location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    return {"source": "request", "line": None, "field": ".".join(location),
            "message": str(error.get("msg", ""))[:300]}  # fmt: skip
