"""`dcops configure`: run the room's playbooks (network, backup, restore drill) and collect configs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from dcops.cli.views.session import Session, session

if TYPE_CHECKING:
    from dcops.lab.playbook import RunResult

app = typer.Typer(
    help="Configure the machine room with Ansible playbooks; back up device configs.",
    no_args_is_help=True,
)

PLACES = {"site": "机房主机上", "lab": "实验环境上"}  # the prompt's Chinese for the plan's target
_LIMIT = typer.Option(
    None, "--limit", "-l", metavar="HOSTS", help="Only these hosts (Ansible pattern)."
)
_CHECK = typer.Option(False, "--check", help="Dry run: report what would change, change nothing.")
_DIFF = typer.Option(False, "--diff", help="Show the changes made to files.")
_YES = typer.Option(False, "--yes", "-y", help="Do not ask before changing hosts.")
_LAB = typer.Option(
    False, "--lab", help="Run against the lab hosts (`dcops lab up`) instead of the room."
)


def _command(name: str, summary: str) -> None:
    def command(
        ctx: typer.Context,
        limit: str | None = _LIMIT,
        check: bool = _CHECK,
        diff: bool = _DIFF,
        yes: bool = _YES,
        lab: bool = _LAB,
    ) -> None:
        _run(session(ctx), name, limit=limit, check=check, diff=diff, yes=yes, lab=lab)

    command.__doc__ = summary
    app.command(name)(command)


_command("network", "Base settings, nftables firewall, SNMPv3 on every host; BGP on the fabric.")
_command("backup", "restic backups of the servers to the backup host: keys, schedule, retention.")
_command(
    "backup-verify", "Restore drill: restore the latest snapshot, compare checksums, restic check."
)
_command("all", "network, then backup, then backup-verify.")
_command(
    "dcops-server",
    "dcops itself on the management host: user, state, TLS, the server and exporters as services.",
)


def _run(
    state: Session, name: str, *, limit: str | None, check: bool, diff: bool, yes: bool, lab: bool
) -> None:
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.cli.views.confirm import confirm_change
    from dcops.cli.views.playbook_progress import PlaybookProgress
    from dcops.lab import playbook

    actor = state.require("ops", action=f"dcops configure {name}")
    site = state.site
    the_plan = playbook.plan(site, name, lab=lab, limit=limit, check=check, diff=diff)
    if not (yes or check):
        hosts = limit or f"all {len(the_plan.hosts)} hosts"
        confirm_change(
            f"将在{PLACES.get(the_plan.target, the_plan.target)}执行 {the_plan.path.name}（{hosts}）— "
            f"run {the_plan.path.name} on the {the_plan.target} ({hosts})?",
            f"configure {name}",
        )
    parameters = {"limit": limit, "check": check, "diff": diff, "lab": lab}
    with audited(
        site, actor, action=f"configure.{name}", target=the_plan.target, parameters=parameters
    ) as op:
        with PlaybookProgress(the_plan.hosts, live=not state.json) as progress:
            result = playbook.run(the_plan, site, progress.event)
        op.attach(
            diff="\n".join(result.changed_tasks) or None,
            links={"artifacts": site.paths.relative(result.artifacts)},
            details=_audit_details(result),
        )
    if state.json:
        output.print_json(_as_json(result))
    else:
        _show(result)
    if not result.succeeded:
        raise typer.Exit(1)


def _audit_details(result: RunResult) -> dict[str, object]:
    return {
        "status": result.status,
        "succeeded": result.succeeded,
        "changed_tasks": len(result.changed_tasks),
        "hosts": {h: t.__dict__ for h, t in result.hosts.items()},
        "failures": result.failures,
    }


def _show(result: RunResult) -> None:
    from dcops.cli.views import output

    rows = [
        (host, t.ok, t.changed, t.failed, t.unreachable, t.skipped)
        for host, t in sorted(result.hosts.items())
    ]
    output.show(
        output.table(None, ["host", "ok", "changed", "failed", "unreachable", "skipped"], rows)
    )
    for message in result.messages:
        output.show(message)
    for failure in result.failures:
        output.show(f"FAILED {failure}")
    mode = " (check mode: nothing changed)" if result.check else ""
    verdict = "ok" if result.succeeded else "FAILED"
    output.show(
        f"configure {result.playbook} on the {result.target}: {verdict}, "
        f"{len(result.changed_tasks)} changed tasks{mode}, {result.seconds:.1f} s"
    )
    output.show(f"artifacts: {result.artifacts.name}")


def _as_json(result: RunResult) -> dict[str, object]:
    from dataclasses import asdict

    data = asdict(result)
    data["artifacts"] = str(result.artifacts)
    data["succeeded"] = result.succeeded
    return data


@app.command("collect-configs")
def collect_configs(
    ctx: typer.Context,
    lab: bool = _LAB,
) -> None:
    """Pull the switches' running configs over SSH, scrub secrets, commit to git, show the diff."""
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.lab import configs

    state = session(ctx)
    actor = state.require("ops", action="dcops configure collect-configs")
    target = "lab" if lab else "site"
    with audited(state.site, actor, action="configure.collect-configs", target=target) as op:
        report = configs.collect(state.site, lab=lab, actor=actor.user)
        summary = report.as_dict()
        op.attach(
            diff=report.diff or None,
            links={"repository": state.site.paths.relative(report.repository)},
            details={k: v for k, v in summary.items() if k not in ("diff", "repository")},
        )
    if state.json:
        output.print_json(report.as_dict())
        return
    rows = [(d.host, d.status, d.added, d.removed, d.error or "") for d in report.devices]
    output.show(output.table(None, ["device", "status", "+lines", "-lines", "error"], rows))
    if report.diff:
        output.show(report.diff)
    commit = report.commit or "no new commit"
    output.show(
        f"collect-configs: {len(report.devices)} devices, {report.changed} changed, {commit}"
    )
    output.show(f"repository: {report.repository}")
    if report.failed:
        raise typer.Exit(1)
