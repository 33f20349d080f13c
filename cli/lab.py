"""`dcops lab`: disposable lab hosts (network namespaces) that look like the room."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="Lab hosts in network namespaces for rehearsing playbooks (needs root).",
    no_args_is_help=True,
)


@app.command("up")
def up(ctx: typer.Context) -> None:
    """Build the lab from inventory/hosts.yml: namespaces, cables, a root and sshd per host."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.lab import lifecycle
    from dcops.lab.topology import topology

    state = session(ctx)
    actor = state.require("ops", action="dcops lab up")
    lifecycle.ensure_capable()
    target = f"lab/{topology(state.site).prefix}"
    with (
        audited(state.site, actor, action="lab.up", target=target) as op,
        output.error_console().status("lab up: building hosts (首次需 debootstrap 约 1-2 分钟)"),
    ):
        report = lifecycle.up(state.site)
        op.attach(details=report.__dict__)
    if state.json:
        output.print_json(report.__dict__)
        return
    if report.already_up:
        output.show(f"lab {report.prefix}: already up, {len(report.hosts)} hosts — nothing to do")
        return
    if report.cleaned:
        output.show(f"cleared leftovers of an earlier lab: {len(report.cleaned)} items")
    base = "built with debootstrap" if report.base_built else "from cache"
    output.show(
        f"lab {report.prefix}: up, {len(report.hosts)} hosts, base {base}, {report.seconds:.1f} s"
    )


@app.command("down")
def down(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Stop every lab host and remove namespaces, mounts and files (the base cache stays)."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.lab import lifecycle
    from dcops.lab.topology import topology

    state = session(ctx)
    actor = state.require("ops", action="dcops lab down")
    lifecycle.ensure_capable()
    topo = topology(state.site)
    if not yes:
        confirm_change(
            f"拆除实验环境 Tear down lab {topo.prefix} ({len(topo.hosts)} hosts)?", "lab down"
        )
    with audited(state.site, actor, action="lab.down", target=f"lab/{topo.prefix}") as op:
        removed = lifecycle.down(state.site, topo)
        op.attach(details={"removed": removed})
    if state.json:
        output.print_json({"prefix": topo.prefix, "removed": removed})
        return
    what = f"removed {len(removed)} items" if removed else "nothing was up"
    output.show(f"lab {topo.prefix}: down, {what}")


@app.command("rebuild")
def rebuild(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="Lab host name, e.g. mgmt-1."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Lose one lab host (processes, namespace, files) and start a fresh one in its place."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.lab import lifecycle
    from dcops.lab.topology import topology

    state = session(ctx)
    actor = state.require("ops", action="dcops lab rebuild")
    topo = topology(state.site)
    topo.host(host)
    lifecycle.ensure_capable()
    if not yes:
        confirm_change(
            f"重建实验主机 Lose lab host {host} with everything on it and start a fresh one?",
            "lab rebuild",
        )
    with audited(state.site, actor, action="lab.rebuild", target=f"lab/{topo.prefix}/{host}") as op:
        removed = lifecycle.rebuild(state.site, host)
        op.attach(details={"removed": removed})
    if state.json:
        output.print_json({"host": host, "removed": removed})
        return
    output.show(f"lab host {host}: rebuilt fresh, removed {len(removed)} items")


@app.command("status")
def status(ctx: typer.Context) -> None:
    """Each lab host: namespace, processes and whether sshd answers."""
    from dcops.cli.views import output
    from dcops.lab import lifecycle

    state = session(ctx)
    lifecycle.ensure_capable()
    hosts = lifecycle.status(state.site)
    if state.json:
        output.print_json([h.__dict__ for h in hosts])
        return
    rows = [
        (
            h.name,
            h.group,
            h.address,
            h.namespace if h.namespace_exists else "-",
            h.processes,
            "up" if h.ssh else "down",
        )
        for h in hosts
    ]
    columns = ["host", "group", "address", "namespace", "processes", "ssh"]
    output.show(output.table(None, columns, rows))
    running = sum(h.ssh for h in hosts)
    output.show(f"lab: {running} of {len(hosts)} hosts up")


@app.command("ssh", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    ctx: typer.Context,
    host: str = typer.Argument(..., help="Lab host name, e.g. leaf-1."),
) -> None:
    """Open a shell on a lab host, or run the command given after the host name."""
    import subprocess

    from dcops.lab import lifecycle
    from dcops.lab.access import ssh_command
    from dcops.lab.topology import topology

    state = session(ctx)
    state.require("ops", action="dcops lab ssh")
    target = topology(state.site).host(host)
    lifecycle.ensure_capable()
    command = ssh_command(lifecycle.lab_dir(state.site), target.address, list(ctx.args))
    raise typer.Exit(subprocess.run(command, check=False).returncode)


cloud = typer.Typer(
    help="The lab OpenStack: a real control plane from Debian's packages on 127.0.0.1 (needs root).",
    no_args_is_help=True,
)
app.add_typer(cloud, name="cloud")


@cloud.command("up")
def cloud_up(
    ctx: typer.Context,
    flavors: bool = typer.Option(
        False,
        "--flavors",
        help="Also register the catalogue's flavors (normally the platform stack makes them).",
    ),
) -> None:
    """Start MariaDB, RabbitMQ and OpenStack's services; register images and the external network."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.lab.cloud import lifecycle
    from dcops.lab.cloud.layout import cloud_layout

    state = session(ctx)
    actor = state.require("ops", action="dcops lab cloud up")
    lifecycle.ensure_capable()
    target = f"lab-cloud/{cloud_layout(state.site).port_base}"
    with (
        audited(state.site, actor, action="lab.cloud.up", target=target) as op,
        output.error_console().status("lab cloud up: starting OpenStack (约 1-2 分钟)"),
    ):
        report = lifecycle.up(state.site, flavors=flavors)
        op.attach(details={"seconds": report.seconds, "registered": report.registered})
    if state.json:
        output.print_json(report.__dict__)
        return
    mib = report.pss_bytes / 2**20
    if report.already_up:
        output.show(f"lab cloud: already up ({mib:.0f} MiB PSS) — nothing to do")
    else:
        made = ", ".join(f"{len(v)} {k}" for k, v in report.registered.items() if v) or "nothing"
        output.show(
            f"lab cloud: up in {report.seconds:.0f} s, {mib:.0f} MiB PSS; registered {made}"
        )
    output.show(f"clouds.yaml: {report.clouds_yaml} (entry {report.cloud!r})")


@cloud.command("down")
def cloud_down(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Stop every process of the lab cloud and remove its databases, configs and logs."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.lab.cloud import lifecycle
    from dcops.lab.cloud.layout import cloud_layout

    state = session(ctx)
    actor = state.require("ops", action="dcops lab cloud down")
    layout = cloud_layout(state.site)
    if not yes:
        confirm_change("拆除实验云 Tear down the lab cloud and delete its data?", "lab cloud down")
    with audited(
        state.site, actor, action="lab.cloud.down", target=f"lab-cloud/{layout.port_base}"
    ) as op:
        removed = lifecycle.down(state.site)
        op.attach(details={"removed": removed})
    if state.json:
        output.print_json({"removed": removed})
        return
    processes = sum(item.startswith("process ") for item in removed)
    what = f"stopped {processes} processes, removed {layout.root}" if removed else "nothing was up"
    output.show(f"lab cloud: down, {what}")


@cloud.command("status")
def cloud_status(ctx: typer.Context) -> None:
    """Each service of the lab cloud: port, pid and health; exit 1 if any is down."""
    from dcops.cli.views import output
    from dcops.lab.cloud import lifecycle
    from dcops.lab.cloud.layout import cloud_layout

    state = session(ctx)
    rows = lifecycle.status(state.site)
    down = [r.name for r in rows if not r.healthy]
    if state.json:
        output.print_json([r.__dict__ for r in rows])
    else:
        table = [
            (r.name, r.port or "-", r.pid or "-", "up" if r.healthy else "DOWN", r.detail)
            for r in rows
        ]
        output.show(output.table(None, ["service", "port", "pid", "health", "detail"], table))
        layout = cloud_layout(state.site)
        mib = lifecycle.memory(layout) / 2**20
        output.show(f"lab cloud: {len(rows) - len(down)} of {len(rows)} up, {mib:.0f} MiB PSS")
    if down:
        raise typer.Exit(1)
