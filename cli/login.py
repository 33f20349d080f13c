"""`dcops login` and `dcops logout`: prove who you are to the site's server and keep its token."""

from __future__ import annotations

import sys
import time

import typer

from dcops.cli.views.session import session


def _server(ctx: typer.Context) -> str:
    from dcops.cli.remote.client import server_of
    from dcops.core.errors import InputError

    server = server_of(session(ctx).site)
    if server is None:
        raise InputError(
            "本站点未配置服务器 / dcops.toml names no server ([identity] server), so there is "
            "nothing to log in to: dcops acts as your operating-system login (see dcops whoami)"
        )
    return server


def _password(from_stdin: bool) -> str:
    from dcops.core.errors import InputError

    if from_stdin:
        line = sys.stdin.readline(300).rstrip("\r\n")
        if not line:
            raise InputError("--password-stdin: standard input held no password (one line)")
        return line
    if not sys.stdin.isatty():
        raise InputError(
            "no terminal to ask for the password; give it on standard input with --password-stdin"
        )
    import getpass

    return getpass.getpass("密码 / password: ")


def login(
    ctx: typer.Context,
    user: str | None = typer.Option(
        None, "--user", "-u", help="Your user name in dcops.toml (default: your OS login)."
    ),
    code: str = typer.Option(
        "", "--code", metavar="CODE", help="One-time code (TOTP) or a recovery code."
    ),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from standard input (one line)."
    ),
) -> None:
    """Log in to the site's server (password, then a one-time code where your roles need one)."""
    import socket

    from dcops.cli.remote import credentials
    from dcops.cli.remote.client import ApiClient, CodeRequired, trust_for
    from dcops.cli.views import output
    from dcops.core.identity import os_login

    state = session(ctx)
    server = _server(ctx)
    name = user or os_login()
    body = {
        "user": name,
        "password": _password(password_stdin),
        "code": code.strip(),
        "name": f"cli@{socket.gethostname()}"[:64],
    }
    client = ApiClient(server, trust_for(state.site), None)
    try:
        answer = client.call("POST", "/api/v1/auth/token", json=body)
    except CodeRequired:
        if body["code"] or not sys.stdin.isatty():
            raise
        body["code"] = typer.prompt("动态口令 / one-time code").strip()
        answer = client.call("POST", "/api/v1/auth/token", json=body)
    saved = credentials.SavedLogin(
        server=server,
        user=str(answer["user"]),
        token=str(answer["token"]),
        id=str(answer["id"]),
        method=str(answer["method"]),
        expires=float(answer["expires"]),
    )
    path = credentials.save(saved)
    until = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(saved.expires))
    if state.json:
        output.print_json(
            {
                "server": server,
                "user": saved.user,
                "method": saved.method,
                "token_id": saved.id,
                "expires": saved.expires,
                "token_file": str(path),
            }
        )
        return
    output.show(
        f"已登录 / logged in to {server} as {output.inline(saved.user)} ({saved.method}) "
        f"until {until}"
    )
    output.show(f"token kept in {path} (0600)")


def logout(ctx: typer.Context) -> None:
    """Log out: the server revokes your token at once, and the saved copy is removed."""
    from dcops.cli.remote import credentials
    from dcops.cli.remote.client import ApiClient, trust_for
    from dcops.cli.views import output
    from dcops.core.errors import NotAuthenticated, OperationFailed

    state = session(ctx)
    server = _server(ctx)
    try:
        saved = credentials.load(server)
    except NotAuthenticated:
        credentials.forget(server)
        output.show(f"未登录 / not logged in to {server}; nothing to do")
        return
    client = ApiClient(server, trust_for(state.site), saved.token)
    try:
        client.call("POST", "/api/v1/auth/logout")
    except NotAuthenticated:
        pass  # revoked or expired already: nothing left to revoke
    except OperationFailed as exc:
        credentials.forget(server)
        raise OperationFailed(
            f"{exc}; the saved token was removed here, but it stays valid on the server until "
            "it expires: ask the security administrator to revoke it (dcops users revoke-tokens)"
        ) from None
    credentials.forget(server)
    if state.json:
        output.print_json({"server": server, "user": saved.user, "revoked": saved.id})
        return
    output.show(f"已退出 / logged out of {server} ({output.inline(saved.user)}); token revoked")
