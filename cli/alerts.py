"""`dcops alerts`: active alerts by room, acknowledging one, and the silences that hold them."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="Active alerts by room; acknowledge one (stops its escalation); list silences.",
    invoke_without_command=True,
)

_ROLES = ("ops", "facility")


def _alertmanagers(ctx: typer.Context, given: str | None) -> list[str]:
    """The one given, else the site's Alertmanagers in the order they are asked."""
    if given is not None:
        _check_url(given)
        return [given.rstrip("/")]
    site = session(ctx).site
    return site.config.monitors.alertmanager_members(site.paths.state)


_AM_OPTION = typer.Option(
    None,
    "--alertmanager",
    metavar="URL",
    help="Alertmanager to ask (default: the site's, its pair member if the first is down).",
)


@app.callback()
def alerts(
    ctx: typer.Context,
    show_all: bool = typer.Option(
        False, "--all", help="Also show alerts that are inhibited or silenced."
    ),
    alertmanager: str | None = _AM_OPTION,
) -> None:
    """List active alerts by room, most severe first, with what they say and where."""
    if ctx.invoked_subcommand is not None:
        return
    from dcops.cli.views import output
    from dcops.monitors.alertmanager_api import ActiveAlert, active_alerts
    from dcops.monitors.alertmanager_members import ask_in_turn

    state = session(ctx)
    if state.remote is not None:
        _server_asks_alertmanager(alertmanager)
        url = state.remote.server
        rows = state.remote.call("GET", "/api/v1/alerts", params={"all": str(show_all).lower()})
        found = [ActiveAlert(**{**r, "silenced_by": tuple(r["silenced_by"])}) for r in rows]
    else:
        members = _alertmanagers(ctx, alertmanager)
        answer = ask_in_turn(members, lambda url: active_alerts(url, include_suppressed=show_all))
        found, url = answer.value, answer.member
    if state.json:
        output.print_json([a.__dict__ for a in found])
        return
    if not found:
        output.show(f"no active alerts ({url})")
        return
    for room in dict.fromkeys(a.room for a in found):
        rows = [
            (
                a.severity,
                a.name,
                a.rack,
                a.device,
                a.state,
                a.since[:19],
                ("[模拟 SIMULATED] " if a.labels.get("simulated") == "true" else "") + a.summary,
            )
            for a in found
            if a.room == room
        ]
        title = f"room {room}" if room else "site-wide"
        columns = ["severity", "alert", "rack", "device", "state", "since (UTC)", "summary"]
        output.show(output.table(title, columns, rows))
    output.show(f"{len(found)} active alerts ({url})")


@app.command("ack")
def ack(
    ctx: typer.Context,
    alert: str = typer.Argument(
        ..., help="Fingerprint (or its first characters), NAME or NAME@DEVICE."
    ),
    window: str = typer.Option(
        ..., "--for", metavar="DURATION", help="How long, e.g. 30m (1m to 7d)."
    ),
    reason: str = typer.Option(..., "--reason", help="Why: what is being done about it."),
    alertmanager: str | None = _AM_OPTION,
) -> None:
    """Acknowledge an alert: silence exactly it for a while, saying who and why; escalation stops."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.monitors.acknowledgement import (
        ack_reason,
        ack_window,
        acknowledge_in_turn,
        alert_in_turn,
    )

    ack_window(window)
    ack_reason(reason)
    state = session(ctx)
    if state.remote is not None:
        _ack_remotely(ctx, alert, window, reason, alertmanager)
        return
    actor = state.require(*_ROLES, action="dcops alerts ack")
    members = _alertmanagers(ctx, alertmanager)
    lookup = alert_in_turn(members, alert)
    found = lookup.value
    # The member that answered first is asked first again; the others only if it stops.
    members = [lookup.member, *(m for m in members if m != lookup.member)]
    target = f"{found.name}@{found.device}"
    parameters = {"alert": alert, "for": window, "reason": reason}
    with audited(
        state.site, actor, action="alerts.ack", target=target, parameters=parameters
    ) as op:
        done = acknowledge_in_turn(members, found, window, reason, actor.user)
        op.attach(
            details={
                "silence": done.silence_id,
                "alertmanager": done.alertmanager,
                "fingerprint": done.alert.fingerprint,
                "labels": done.alert.labels,
                "until": done.until.isoformat(),
            }
        )
    if state.json:
        output.print_json(
            {
                "silence": done.silence_id,
                "alert": done.alert.name,
                "device": done.alert.device,
                "fingerprint": done.alert.fingerprint,
                "by": done.by,
                "reason": done.reason,
                "until": done.until.isoformat(),
                "alertmanager": done.alertmanager,
            }
        )
        return
    output.show(
        f"acknowledged {done.alert.name}@{done.alert.device} ({done.alert.fingerprint}) "
        f"until {done.until.isoformat(timespec='seconds')} by {done.by}: silence {done.silence_id}"
        f" (through {done.alertmanager})"
    )


def _ack_remotely(
    ctx: typer.Context, alert: str, window: str, reason: str, alertmanager: str | None
) -> None:
    """Acknowledge through the site's server: it knows who you are and keeps the record."""
    from urllib.parse import quote

    from dcops.cli.views import output

    state = session(ctx)
    _server_asks_alertmanager(alertmanager)
    assert state.remote is not None
    done = state.remote.call(
        "POST", f"/api/v1/alerts/{quote(alert[:100], safe='')}/acknowledge",
        json={"duration": window, "reason": reason},
    )  # fmt: skip
    if state.json:
        output.print_json(done)
        return
    output.show(
        f"acknowledged {output.inline(done['alert'])}@{output.inline(done['device'])} "
        f"({done['fingerprint']}) until {done['until'][:19]} by {output.inline(done['by'])}: "
        f"silence {done['silence']}"
        + (f" (through {output.inline(done['alertmanager'])})" if done.get("alertmanager") else "")
    )


@app.command("silences")
def silences(
    ctx: typer.Context,
    expired: bool = typer.Option(False, "--expired", help="Also list expired silences."),
    alertmanager: str | None = _AM_OPTION,
) -> None:
    """List Alertmanager's silences (acknowledgements among them): what, who, why, until when."""
    from dcops.cli.views import output
    from dcops.monitors.alertmanager_members import ask_in_turn
    from dcops.monitors.silences import list_silences

    state = session(ctx)
    if state.remote is not None:
        _server_asks_alertmanager(alertmanager)
        url = state.remote.server
        params = {"expired": str(expired).lower()}
        found = state.remote.call("GET", "/api/v1/alerts/silences", params=params)
    else:
        members = _alertmanagers(ctx, alertmanager)
        answer = ask_in_turn(members, lambda url: list_silences(url, include_expired=expired))
        found, url = [s.as_data() for s in answer.value], answer.member
    if state.json:
        output.print_json(found)
        return
    if not found:
        output.show(f"no silences ({url})")
        return
    rows = [
        (s["id"][:8], s["state"], s["created_by"], s["comment"], s["ends_at"][:19], s["matchers"])
        for s in found
    ]
    columns = ["id", "state", "by", "comment", "ends (UTC)", "matchers"]
    output.show(output.table(None, columns, rows))
    output.show(f"{len(found)} silences ({url})")


@app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    pending: bool = typer.Option(False, "--pending", help="Only notices not yet delivered."),
    limit: int = typer.Option(
        200, "--limit", help="List at most this many, newest first (1 to 1000)."
    ),
) -> None:
    """List the notifier's notices: alert, step, channel, who, attempts, delivered or why not yet."""
    from dcops.cli.views import output
    from dcops.monitors.layout import layout_of
    from dcops.monitors.notices import MAX_LIMIT, notice_limit, notices

    notice_limit(limit)
    state = session(ctx)
    if state.remote is not None:
        params = {"pending": str(pending).lower(), "limit": str(limit)}
        listed = state.remote.call("GET", "/api/v1/alerts/deliveries", params=params)
        where = f"on {state.remote.server}"
    else:
        listed = notices(state.site, pending=pending, limit=limit)
        where = state.site.paths.relative(layout_of(state.site).notifier_db)
    rows = listed["notices"]
    if rows is None:
        output.show(f"no notifier record yet ({where}); the notifier writes it once it runs")
        return
    if state.json:
        output.print_json(listed)
        return
    table = [
        (
            f"{r['alert']}@{r['device']}",
            r["kind"],
            r["step"] or "",
            r["channel"],
            ", ".join(r["recipients"]),
            r["attempts"],
            r["delivered_at"] or "pending",
            r["last_error"] or "",
        )
        for r in rows
    ]
    columns = [
        "alert",
        "kind",
        "step",
        "channel",
        "to",
        "attempts",
        "delivered (UTC)",
        "last error",
    ]
    output.show(output.table(None, columns, table))
    more = listed["total"] - len(rows)
    if more > 0:
        output.show(
            f"{len(rows)} of {listed['total']} notices, newest first; {more} older not shown"
            + (f" (--limit up to {MAX_LIMIT})" if limit < MAX_LIMIT else "")
        )
    else:
        output.show(f"{len(rows)} notices")


def _server_asks_alertmanager(given: str | None) -> None:
    """With a server named, it asks the site's Alertmanager: refuse an --alertmanager."""
    from dcops.core.errors import InputError

    if given is not None:
        raise InputError(
            "--alertmanager is not used when dcops.toml names a server: the server talks to "
            "the site's Alertmanager; leave the option out"
        )


def _check_url(url: str) -> None:
    """Refuse an --alertmanager that is not an http(s) URL with a host."""
    from urllib.parse import urlsplit

    from dcops.core.errors import InputError

    try:
        parts = urlsplit(url)
        usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 - raises on a port that is not a number
    except ValueError:
        usable = False
    if not usable:
        raise InputError(
            f"--alertmanager {url!r} is not a URL; allowed: http(s)://HOST:PORT, "
            "such as http://127.0.0.1:9093"
        )
