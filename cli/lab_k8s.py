"""`dcops lab k8s`: a lab Kubernetes control plane (etcd, kube-apiserver, controller manager)."""

from __future__ import annotations

import typer

from dcops.cli.views.session import session

app = typer.Typer(
    help="A lab Kubernetes API server with its controller manager and etcd, on 127.0.0.1.",
    no_args_is_help=True,
)


@app.command("up")
def up(ctx: typer.Context) -> None:
    """Start the lab cluster (an intact one is kept); write kubeconfigs for ops and departments."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.lab import k8s_cluster

    state = session(ctx)
    actor = state.require("ops", action="dcops lab k8s up")
    target = f"lab-k8s/{state.site.name}"
    with (
        audited(state.site, actor, action="lab.k8s.up", target=target) as op,
        output.error_console().status("lab k8s up: 启动 etcd, kube-apiserver, controller manager"),
    ):
        report = k8s_cluster.up(state.site)
        op.attach(details=k8s_cluster.status_dict(report))
    if state.json:
        output.print_json(k8s_cluster.status_dict(report))
        return
    if report.cleaned:
        output.show(f"cleared leftovers of an earlier cluster: {', '.join(report.cleaned)}")
    if report.already_up:
        output.show(f"lab k8s: already up at {report.server} — nothing to do")
    else:
        phases = ", ".join(f"{name} {s:.1f} s" for name, s in report.phases.items())
        output.show(f"lab k8s: up at {report.server} in {report.seconds:.1f} s ({phases})")
    rows = [(who, path) for who, path in report.kubeconfigs.items()]
    output.show(output.table(None, ["kubeconfig", "path"], rows))


@app.command("down")
def down(
    ctx: typer.Context,
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Stop the lab cluster and remove its data, keys and kubeconfigs."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.lab import k8s_cluster

    state = session(ctx)
    actor = state.require("ops", action="dcops lab k8s down")
    if not yes:
        confirm_change(
            "拆除实验集群及其全部数据 Tear down the lab Kubernetes cluster and all its data?",
            "lab k8s down",
        )
    with audited(
        state.site, actor, action="lab.k8s.down", target=f"lab-k8s/{state.site.name}"
    ) as op:
        removed = k8s_cluster.down(state.site)
        op.attach(details={"removed": removed})
    if state.json:
        output.print_json({"removed": removed})
        return
    output.show(
        f"lab k8s: down, {'removed ' + str(len(removed)) + ' items' if removed else 'nothing was up'}"
    )


@app.command("status")
def status(ctx: typer.Context) -> None:
    """The control-plane processes with their memory and the API server's /readyz; exit 1 if not ready."""
    from dcops.cli.views import output
    from dcops.lab import k8s_cluster

    state = session(ctx)
    report = k8s_cluster.status(state.site)
    if state.json:
        output.print_json(k8s_cluster.status_dict(report))
    else:
        rows = [(p.name, p.pid, f"{p.rss_bytes / 2**20:.0f} MiB") for p in report.processes]
        if rows:
            output.show(output.table(None, ["process", "pid", "memory"], rows))
        verdict = "ready" if report.ready else "NOT ready"
        output.show(f"lab k8s: {report.server} {verdict}: {report.readyz}")
    if not report.ready:
        raise typer.Exit(1)
