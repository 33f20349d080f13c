"""The CLI as a client of `dcops serve`: verified TLS, the saved token, server errors as CLI errors."""

from __future__ import annotations

import os
import re
import ssl
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dcops.core.errors import (
    AccessDenied,
    DcopsError,
    InputError,
    InvalidInput,
    NotAuthenticated,
    OperationFailed,
    Problem,
)

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site

TIMEOUT_S = 60.0
MAX_DETAIL = 4000
_COUNT_SUFFIX = re.compile(r": \d+ problems?$")
CODE_REQUIRED = "one-time code required"  # the problem title the server gives


class ServerError(DcopsError):
    """The server refused with a status the CLI has no narrower error for (exit 1)."""


class CodeRequired(NotAuthenticated):
    """The account needs a one-time code (TOTP or recovery) and none was given."""


def server_of(site: Site) -> str | None:
    """The server the site names under [identity], if any."""
    return site.config.identity.server


def trust_for(site: Site) -> ssl.SSLContext | None:
    """Which CA the CLI trusts for the site's server (None for plain HTTP on loopback)."""
    server = site.config.identity.server or ""
    if server.startswith("http://"):
        return None
    named = site.config.identity.server_ca
    if named is not None:
        path = (site.paths.root / named).resolve()
        if not path.is_file():
            raise InputError(
                f"[identity] server_ca = {named!r}: {path} does not exist; allowed: the PEM CA "
                "file of the server's certificate, relative to dcops.toml"
            )
        return ssl.create_default_context(cafile=str(path))
    generated = site.paths.state / "server" / "tls" / "ca.pem"
    if _readable(generated):
        return ssl.create_default_context(cafile=str(generated))
    return ssl.create_default_context()


def _readable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.R_OK)


class ApiClient:
    """Calls /api/v1 on the site's server, with the saved token unless told otherwise."""

    def __init__(self, server: str, trust: ssl.SSLContext | None, token: str | None) -> None:
        self.server = server
        self.trust = trust
        self.token = token

    @classmethod
    def for_site(cls, site: Site, *, authenticated: bool = True) -> ApiClient:
        """A client for the site's server; with the login `dcops login` saved if asked."""
        from dcops.cli.remote import credentials

        server = server_of(site)
        assert server is not None
        token = credentials.load(server).token if authenticated else None
        return cls(server, trust_for(site), token)

    def call(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        content: str | None = None,
        content_type: str | None = None,
        params: dict[str, str] | None = None,
    ) -> Any:
        """Send one request; the decoded JSON answer, or the server's error as a DcopsError."""
        answer = self._send(method, path, json, content, content_type, params, "application/json")
        return _body(answer)

    def text(self, path: str, params: dict[str, str] | None = None) -> str:
        """GET a document (a report) as text, or the server's error as a DcopsError."""
        answer = self._send("GET", path, None, None, None, params, "*/*")
        return str(answer.text)

    def _send(
        self,
        method: str,
        path: str,
        json: Any,
        content: str | None,
        content_type: str | None,
        params: dict[str, str] | None,
        accept: str,
    ) -> Any:
        import httpx

        headers = {"User-Agent": "dcops-cli", "Accept": accept}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        try:
            with httpx.Client(
                base_url=self.server,
                verify=self.trust if self.trust is not None else False,
                timeout=TIMEOUT_S,
            ) as client:
                answer = client.request(
                    method, path, json=json, content=content, params=params, headers=headers
                )
        except httpx.ConnectError as exc:
            raise OperationFailed(_unreachable(self.server, exc)) from None
        except httpx.TimeoutException:
            raise OperationFailed(
                f"服务器无响应 / {self.server} did not answer within {TIMEOUT_S:.0f} s; try again"
            ) from None
        except httpx.HTTPError as exc:
            raise OperationFailed(
                f"与服务器通信失败 / talking to {self.server} failed: {type(exc).__name__}"
            ) from None
        if answer.status_code >= 400:
            raise error_from(answer.status_code, _body(answer))
        return answer


def query(**values: str | int | None) -> dict[str, str]:
    """Query parameters for a call: the options given, the unset ones left out."""
    return {name: str(value) for name, value in values.items() if value is not None}


def _unreachable(server: str, exc: Exception) -> str:
    if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate" in str(exc).lower():
        return (
            f"证书不可信 / the certificate of {server} is not trusted: set [identity] server_ca "
            "in dcops.toml to the CA that signed it (nothing was sent)"
        )
    return f"无法连接服务器 / cannot reach {server}: is dcops serve running there?"


def _body(answer: Any) -> Any:
    if not answer.content:
        return None
    try:
        return answer.json()
    except ValueError:
        return {"detail": answer.text[:MAX_DETAIL]}


def error_from(status: int, body: Any) -> DcopsError:
    """The CLI error for a server's problem details: the same message, the same exit code."""
    detail = body.get("detail") if isinstance(body, dict) else None
    message = str(detail)[:MAX_DETAIL] if detail else f"the server answered {status}"
    if status == 401:
        needs_code = isinstance(body, dict) and body.get("title") == CODE_REQUIRED
        return CodeRequired(message) if needs_code else NotAuthenticated(message)
    if status == 403:
        return AccessDenied(message)
    if status == 422:
        raw = body.get("problems") if isinstance(body, dict) else None
        problems = [_problem(p) for p in raw or [] if isinstance(p, dict)][:200]
        if problems:
            return InvalidInput(_COUNT_SUFFIX.sub("", message), problems)
        return InputError(message)
    if status in (400, 404, 405, 413, 415):
        return InputError(message)
    if status in (502, 503, 504):
        return OperationFailed(message)
    return ServerError(message)


def _problem(raw: dict[str, Any]) -> Problem:
    line = raw.get("line")
    return Problem(
        source=str(raw.get("source") or "request")[:300],
        field=str(raw.get("field") or "")[:300],
        message=str(raw.get("message") or "")[:1000],
        line=line if isinstance(line, int) else None,
    )


def remote_actor(client: ApiClient, site: Site) -> Actor:
    """Who the server knows the saved login as, with the roles it gives them."""
    import socket

    from dcops.core.identity import Actor

    me = client.call("GET", "/api/v1/whoami")
    return Actor(
        user=str(me["user"]),
        name=str(me.get("name") or me["user"]),
        host=socket.gethostname(),
        roles=frozenset(str(r) for r in me.get("roles", [])),
        login=str(me["user"]),
        method=str(me.get("method", "token")),
    )
