"""`dcops whoami`: who dcops thinks you are, and your roles."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def whoami(ctx: typer.Context) -> None:
    """Show the user dcops acts as ($DCOPS_USER or the login) and the roles dcops.toml gives them."""
    from dcops.cli.views import output

    actor = session(ctx).actor
    data = {
        "user": actor.user,
        "name": actor.name,
        "host": actor.host,
        "roles": sorted(actor.roles),
    }
    if session(ctx).json:
        output.print_json(data)
        return
    roles = ", ".join(data["roles"]) or "none (not listed under [[people]] in dcops.toml)"
    output.show(f"{actor.user} ({actor.name}) — roles: {roles}")
