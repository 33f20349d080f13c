"""`dcops monitors`: render, check, start and stop Prometheus and Alertmanager for the site."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import session

if TYPE_CHECKING:
    from dcops.monitors.processes import ServiceStatus

app = typer.Typer(
    help="Prometheus rules and Alertmanager for the machine room: render, check, up, down, status.",
    no_args_is_help=True,
)

_ROLES = ("ops", "facility")


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Check rule syntax, run the promtool unit tests, and check the rendered configs; exit 2 on a problem."""
    from dcops.cli.views import output
    from dcops.monitors.render import check_monitors

    steps = check_monitors(session(ctx).site)
    if session(ctx).json:
        output.print_json({"ok": True, "steps": [s.__dict__ for s in steps]})
        return
    output.show(
        output.table(
            None, ["check", "target", "result"], [(s.name, s.target, s.detail) for s in steps]
        )
    )
    output.show("monitors check: ok")


@app.command("render")
def render(
    ctx: typer.Context,
    pair: bool = typer.Option(
        False,
        "--pair",
        help="Render for two Prometheus servers and two Alertmanagers (as `up --pair`; kept).",
    ),
) -> None:
    """Write rules, prometheus.yml and alertmanager.yml into the state dir (checked first)."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.monitors.layout import layout_of
    from dcops.monitors.render import render_monitors

    state = session(ctx)
    actor = state.require(*_ROLES, action="dcops monitors render")
    with audited(state.site, actor, action="monitors.render", target="monitors/alerting") as op:
        if pair:
            layout_of(state.site).set_paired(True)
        layout, _ = render_monitors(state.site)
        files = [layout.prometheus_config, layout.alertmanager_config, layout.rules]
        shown = [state.site.paths.relative(f) for f in files]
        op.attach(links=dict(zip(("prometheus", "alertmanager", "rules"), shown, strict=True)))
    if state.json:
        output.print_json({"ok": True, "files": shown})
        return
    for name in shown:
        output.show(f"wrote {name}")
    output.show("monitors render: ok")


@app.command("up")
def up(
    ctx: typer.Context,
    pair: bool = typer.Option(
        False,
        "--pair",
        help="Run two Prometheus servers and a two-member Alertmanager cluster (kept until down).",
    ),
) -> None:
    """Render and check the configs, then start (or reload) Prometheus, Alertmanager and the shift log."""
    from dcops.audit.recorder import audited
    from dcops.monitors.layout import layout_of
    from dcops.monitors.processes import start
    from dcops.monitors.render import render_monitors

    state = session(ctx)
    actor = state.require(*_ROLES, action="dcops monitors up")
    with audited(
        state.site,
        actor,
        action="monitors.up",
        target="monitors/alerting",
        parameters={"pair": pair},
    ) as op:
        if pair:
            layout_of(state.site).set_paired(True)
        layout, _ = render_monitors(state.site)
        started = start(layout, state.site.config.monitors)
        op.attach(details={"services": [row.__dict__ for row in started]})
    _print_status(ctx, started, layout.alert_log)
    _fail_if_down(started)


@app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop what `dcops monitors up` started."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.monitors.layout import layout_of
    from dcops.monitors.processes import stop

    state = session(ctx)
    actor = state.require(*_ROLES, action="dcops monitors down")
    with audited(state.site, actor, action="monitors.down", target="monitors/alerting") as op:
        layout = layout_of(state.site)
        stopped = stop(layout)
        layout.set_paired(False)
        op.attach(details={"stopped": stopped})
    if state.json:
        output.print_json({"stopped": stopped})
        return
    output.show(f"stopped: {', '.join(stopped)}" if stopped else "nothing was running")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Show whether Prometheus, Alertmanager and the shift log run, and their URLs; exit 1 if any is down."""
    from dcops.monitors.layout import layout_of
    from dcops.monitors.processes import status as service_status

    site = session(ctx).site
    layout = layout_of(site)
    rows = service_status(layout, site.config.monitors)
    _print_status(ctx, rows, layout.alert_log)
    _fail_if_down(rows)


def _fail_if_down(rows: Sequence[ServiceStatus]) -> None:
    """Exit 1 when any service is not running, or its own process does not answer."""
    from dcops.core.errors import OperationFailed

    down = [s.name for s in rows if not (s.running and s.ready)]
    if down:
        raise OperationFailed(
            f"监控服务未就绪 not running or not answering from the process dcops started: "
            f"{', '.join(down)}"
        )


def _print_status(ctx: typer.Context, rows: Sequence[ServiceStatus], alert_log: Path) -> None:
    from dcops.cli.views import output

    log = session(ctx).site.paths.relative(alert_log)
    if session(ctx).json:
        output.print_json({"services": [s.__dict__ for s in rows], "alert_log": log})
        return
    table = [
        (
            s.name,
            "running" if s.running else "stopped",
            "yes" if s.ready else "no",
            s.pid or "",
            s.url,
        )
        for s in rows
    ]
    output.show(output.table(None, ["service", "state", "ready", "pid", "url"], table))
    output.show(f"shift log: {log}")


@app.command("sink", hidden=True)
def sink(
    listen: str = typer.Option(..., "--listen", help="HOST:PORT to listen on."),
    file: Path = typer.Option(..., "--file", help="JSON-lines file to append to."),
) -> None:
    """Run the shift-log webhook receiver in the foreground (started by `monitors up`)."""
    from dcops.core.errors import InputError
    from dcops.monitors.shift_log import alert_sink_server

    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise InputError(f"--listen {listen!r} is not HOST:PORT")
    server = alert_sink_server(host.strip("[]"), int(port), file)
    try:
        server.serve_forever()
    finally:
        server.server_close()


@app.command("notifier", hidden=True)
def notifier(
    ctx: typer.Context,
    listen: str = typer.Option(..., "--listen", help="HOST:PORT to listen on."),
    database: Path = typer.Option(..., "--database", help="The notifier's SQLite record."),
) -> None:
    """Run dcops' notifier in the foreground (started by `monitors up`): channels, roster, escalation."""
    import signal
    import threading

    from dcops.core.errors import InputError
    from dcops.monitors.notifier_server import serve_notifier, site_notifier

    host, _, port = listen.rpartition(":")
    if not port.isdigit():
        raise InputError(f"--listen {listen!r} is not HOST:PORT")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    serve_notifier(site_notifier(session(ctx).site, database), host.strip("[]"), int(port), stop)
