"""`dcops alerts`: the alerts that are active now, by room, from Alertmanager."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session


def alerts(
    ctx: typer.Context,
    show_all: bool = typer.Option(
        False, "--all", help="Also show alerts that are inhibited or silenced."
    ),
    alertmanager: str | None = typer.Option(
        None, "--alertmanager", metavar="URL", help="Alertmanager to ask (default: the site's)."
    ),
) -> None:
    """List active alerts by room, most severe first, with what they say and where."""
    from dcops.cli.views import output
    from dcops.monitors.alertmanager_api import active_alerts

    state = session(ctx)
    url = alertmanager or state.site.config.monitors.alertmanager_url
    found = active_alerts(url.rstrip("/"), include_suppressed=show_all)
    if state.json:
        output.print_json([a.__dict__ for a in found])
        return
    if not found:
        output.show(f"no active alerts ({url})")
        return
    for room in dict.fromkeys(a.room for a in found):
        rows = [
            (a.severity, a.name, a.rack, a.device, a.state, a.since[:19], a.summary)
            for a in found
            if a.room == room
        ]
        title = f"room {room}" if room else "site-wide"
        columns = ["severity", "alert", "rack", "device", "state", "since (UTC)", "summary"]
        output.show(output.table(title, columns, rows))
    output.show(f"{len(found)} active alerts")
