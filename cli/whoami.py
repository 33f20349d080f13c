"""`dcops whoami`: who dcops thinks you are, and your roles."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def whoami(ctx: typer.Context) -> None:
    """Show the user dcops acts as (your login; $DCOPS_USER where the site allows) and their roles."""
    from dcops.cli.views import output

    actor = session(ctx).actor
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
