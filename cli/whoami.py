"""`dcops whoami`: who dcops thinks you are, and your roles."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def whoami(ctx: typer.Context) -> None:
    """Show who dcops acts as: your login to the site's server, else your OS login, and your roles."""
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None:
        _whoami_remotely(ctx)
        return
    actor = state.actor
    data = {
        "user": actor.user,
        "name": actor.name,
        "host": actor.host,
        "roles": sorted(actor.roles),
        "login": actor.login,
        "method": actor.method,
    }
    if session(ctx).json:
        output.print_json(data)
        return
    roles = ", ".join(data["roles"]) or "none (not listed under [[people]] in dcops.toml)"
    output.show(f"{actor.user} ({actor.name}) — roles: {roles}")
    if actor.method == "override":
        output.show(
            f"登录名 / OS login: {actor.login} (DCOPS_USER allowed by this site; "
            "audit entries keep both names)"
        )


def _whoami_remotely(ctx: typer.Context) -> None:
    """Who the site's server knows you as: the user of your saved login, not your OS login."""
    from dcops.cli.views import output

    state = session(ctx)
    assert state.remote is not None
    me = state.remote.call("GET", "/api/v1/whoami")
    if state.json:
        output.print_json({**me, "server": state.remote.server})
        return
    roles = ", ".join(me["roles"]) or "none"
    output.show(f"{output.inline(me['user'])} ({output.inline(me['name'])}) — roles: {roles}")
    output.show(f"服务器 / server: {state.remote.server} (logged in with {me['method']})")
