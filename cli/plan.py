"""`dcops plan`: evaluate tenancy stacks offline, check the policies, diff against the last snapshot."""

from __future__ import annotations

from typing import Any

import typer

from dcops.cli.views.session import session


def plan(
    ctx: typer.Context,
    requests: list[str] = typer.Argument(
        None, metavar="[REQUEST]...", help="Request files, or tenancy names in inventory/requests/."
    ),
    every: bool = typer.Option(
        False, "--all", help="Plan every approved request in the store and every request file."
    ),
    platform: bool = typer.Option(
        False,
        "--platform",
        help="Also plan the platform stack (flavor catalogue, external network).",
    ),
    tree: bool = typer.Option(
        False, "--tree", help="Show every resource in its tree, and every policy's verdict."
    ),
) -> None:
    """Plan tenancies offline (no cloud, no pulumi CLI); exit 1 on a policy violation, 2 on bad input."""
    from dcops.cli.views.plan_view import diff_text
    from dcops.stacks.deprecations import quiet_third_party
    from dcops.tenancy.model import PLATFORM_STACK, audit_object

    quiet_third_party()
    from dcops.audit.recorder import audited
    from dcops.stacks.plan import plan as run_plan
    from dcops.stacks.requests import resolve

    state = session(ctx)
    if state.remote is not None:
        _show(state, _plan_remotely(state, requests or [], every, platform), tree)
        return
    site = state.site
    planned = [] if platform and not (requests or every) else resolve(site, requests or [], every)
    objects = [
        audit_object(n) for n in [PLATFORM_STACK] * platform + [p.spec.name for p in planned]
    ]
    target = objects[0] if len(objects) == 1 else "tenancy/*"
    sources = {"requests": [p.source for p in planned], "objects": objects}
    with audited(site, state.actor, action="plan", target=target, parameters=sources) as op:
        report = run_plan(site, [(p.spec, p.source) for p in planned], platform=platform)
        op.attach(
            diff=diff_text(report),
            details={"ok": report.ok, "plans": [t.summary() for t in report.tenancies]},
        )
        if not report.ok:
            op.fail(_violated(report))
    _show(state, report, tree)


def _show(state: Any, report: Any, tree: bool) -> None:
    """Print the plans as asked (table, tree, JSON or Markdown); exit 1 on a violation."""
    from dcops.cli.views import output
    from dcops.cli.views.plan_view import plan_view, report_json
    from dcops.stacks.markdown import render

    if state.json:
        output.print_json(report_json(report))
    elif state.markdown:
        output.console().file.write(render(report))
    else:
        for tenancy in report.tenancies:
            output.show(plan_view(tenancy, tree))
        verdict = "pass" if report.ok else "FAIL — policy violations above"
        output.show(f"plan: {len(report.tenancies)} stacks, {verdict}")
    if not report.ok:
        raise typer.Exit(1)


def _plan_remotely(state: Any, requests: list[str], every: bool, platform: bool) -> Any:
    """The server's plan results of stored requests: it decides who may see which."""
    from urllib.parse import quote

    from dcops.core.errors import InputError
    from dcops.stacks.plan import PlanReport, TenancyPlan

    files = [r for r in requests if r.endswith((".yml", ".yaml")) or "/" in r]
    if platform or files:
        given = "--platform" if platform else files[0]
        raise InputError(
            f"{given}: with [identity] server set, dcops plan shows the server's plan results "
            "of stored requests (by ID or name, or --all for the approved ones); check a "
            "request file with dcops tenancy request FILE --dry-run, which the server judges "
            "with the same policies; plan the platform stack on the server's host"
        )
    refs = list(requests)
    if every:
        approved = state.remote.call("GET", "/api/v1/tenancies", params={"state": "approved"})
        refs += [str(r["id"]) for r in approved if str(r["id"]) not in refs]
    if not refs:
        raise InputError(
            "nothing to plan: the server holds no approved request you may see; name "
            "requests (ID or name)"
            if every
            else "nothing to plan: name requests (ID or name) or give --all"
        )
    plans = [
        TenancyPlan.from_dict(
            state.remote.call("GET", f"/api/v1/tenancies/{quote(ref[:100], safe='')}/plan")
        )
        for ref in refs
    ]
    return PlanReport(plans)


def _violated(report: Any) -> str:
    """The policy violations of a plan, by tenancy and rule, for its audit record."""
    found = []
    for tenancy in report.tenancies:
        rules = sorted({v.policy for verdict in tenancy.verdicts for v in verdict.violations})
        if tenancy.duplicates:
            rules.append("duplicate resource names")
        if rules:
            found.append(f"{tenancy.tenancy}: {', '.join(rules)}")
    return "policy violations: " + "; ".join(found)
