"""`dcops tenancy`: departments request cloud tenancies, approvers decide, ops run the lifecycle."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dcops.cli.views.confirm import confirm_change
from dcops.cli.views.session import session

if TYPE_CHECKING:
    from dcops.core.identity import Actor
    from dcops.core.site import Site
    from dcops.stacks.verdicts import Verdict
    from dcops.tenancy.lifecycle import Transition
    from dcops.tenancy.model import TenancyRequest

Neighbours = Callable[["Site", str], tuple[list[tuple[str, str]], list[tuple[str, str]]]]

app = typer.Typer(
    help="Cloud tenancy requests (租户申请): submit, approve, follow, expire, offboard.",
    no_args_is_help=True,
)


@app.callback()
def _needs_the_store() -> None:
    """Cloud tenancy requests (租户申请): submit, approve, follow, expire, offboard."""
    require_store()


def require_store() -> None:
    """MissingDependency (exit 2) with the fix if the store's libraries are not installed."""
    import importlib.util

    from dcops.core.errors import MissingDependency

    missing = [m for m in ("sqlalchemy", "alembic") if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependency(
            f"the tenancy store needs {' and '.join(missing)}; install them with: "
            "pip install 'dcops[tenancy]'"
        )


_STATE_HELP = (
    "submitted, approved, rejected, provisioned, expiring, offboarding, offboarded, superseded"
)


@app.command("schema")
def schema() -> None:
    """Print the JSON Schema of a request file (for editors and CI checks)."""
    from dcops.cli.views import output
    from dcops.tenancy.request import request_schema

    output.print_json(request_schema())


@app.command("request")
def request(
    ctx: typer.Context,
    file: Path | None = typer.Argument(None, help="The request file (YAML)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Validate only; store nothing."),
    interactive: bool = typer.Option(
        False, "--interactive", "-i", help="Ask field by field, with the site's choices."
    ),
    save: Path | None = typer.Option(
        None,
        "--save",
        help="With --interactive: where to write the request file (default ./<name>.yml).",
    ),
) -> None:
    """Validate a tenancy request and submit it for approval."""
    from dcops.tenancy.request import load_request

    state = session(ctx)
    if interactive == (file is not None):
        from dcops.core.errors import InputError

        raise InputError("give a request FILE or --interactive (one of the two)")
    if state.remote is not None:
        _request_remotely(ctx, file, dry_run, save)
        return
    site, actor = state.site, state.actor
    if interactive:
        parsed, _ = _interactive(site, actor, dry_run, save, _neighbours)
    else:
        assert file is not None
        parsed = load_request(file, site)
        peers, namespaces = _neighbours(site, parsed.name)
        parsed = load_request(file, site, other_peers=peers, other_namespaces=namespaces)
    verdicts = _policy_verdicts(site, parsed)
    _show_verdicts(ctx, verdicts)
    if verdicts is not None:
        from dcops.stacks.admission import refuse_violations

        refuse_violations(str(file or "(interactive request)"), parsed.name, verdicts)
    if dry_run:
        _show_valid(ctx, site, parsed)
        return
    from dcops.tenancy.lifecycle import submit

    _report(ctx, [submit(site, parsed, actor)])


def _request_remotely(
    ctx: typer.Context, file: Path | None, dry_run: bool, save: Path | None
) -> None:
    """Send the request file (or the answers given at the prompts) to the server as YAML."""
    from dcops.cli.remote.client import remote_actor
    from dcops.cli.views import output

    state = session(ctx)
    client = state.remote
    assert client is not None
    if file is None:
        import yaml

        actor = remote_actor(client, state.site)
        _, data = _interactive(state.site, actor, dry_run, save, lambda _site, _name: ([], []))
        text = yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None)
        source = "(interactive request)"
    else:
        text, source = _request_text(state.site, file), str(file)
    path = "/api/v1/tenancies/validate" if dry_run else "/api/v1/tenancies"
    answer = client.call(
        "POST", path, content=text, content_type="application/yaml", params={"name": source}
    )
    if not dry_run:
        _report(ctx, _transitions(answer))
    elif state.json:
        output.print_json({k: v for k, v in answer.items() if k != "by"})
    else:
        output.show(f"request {answer['name']} is valid (dry run: nothing stored)")
        output.show(f"  needs {answer['approvers_needed']} approver(s); checked by the server")


def _request_text(site: Site, file: Path) -> str:
    """The request file's text, read within the site's limits for request files."""
    from dcops.core.documents import read_text
    from dcops.core.errors import InvalidInput
    from dcops.tenancy.request import request_limits

    text, problem = read_text(file, str(file), request_limits(site))
    if problem is not None or text is None:
        raise InvalidInput(f"cannot read request {file}", [problem] if problem else [])
    return text


def _transitions(answer: Any) -> list[Transition]:
    """The server's transitions as the CLI's own (the same report follows)."""
    from dcops.tenancy.lifecycle import Transition

    return [
        Transition(
            request_id=int(t["request_id"]),
            name=str(t["name"]),
            from_state=t["from_state"],
            to_state=str(t["to_state"]),
            message=str(t["message"]),
            allocations=[(str(n), str(c)) for n, c in t.get("allocations", [])],
            queued=[str(q) for q in t.get("queued", [])],
        )
        for t in answer
    ]


def _policy_verdicts(site: Site, parsed: TenancyRequest) -> list[Verdict] | None:
    """The site's policies over what the request builds; None where the stacks extra is missing."""
    import importlib.util

    if (
        importlib.util.find_spec("pulumi_policy") is None
        or importlib.util.find_spec("pulumi") is None
    ):
        return None
    from dcops.stacks.admission import judge_request

    return judge_request(site, parsed)


def _show_verdicts(ctx: typer.Context, verdicts: list[Verdict] | None) -> None:
    """Policy verdicts on stderr (stdout stays the command's own output)."""
    from dcops.cli.views import output

    err = output.error_console()
    if verdicts is None:
        err.print(
            "策略未检查 / policies not checked: the stacks extra is not installed "
            "(pip install 'dcops[stacks]'); dcops plan checks them before provisioning",
            markup=False,
        )
        return
    if session(ctx).json:
        return
    for line in verdict_lines(verdicts, passed=False):
        err.print(line, markup=False)


def verdict_lines(verdicts: list[Verdict], passed: bool = True) -> list[str]:
    """A heading with the count, then one line per policy (✓ or ✗; passed ones only if asked)."""
    from dcops.stacks.admission import verdicts_as_data

    return policy_lines(verdicts_as_data(verdicts), passed)


def _neighbours(site: Site, name: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """VPN peers and namespaces of the other tenancies: a dry run checks them as a submit does."""
    from dcops.tenancy.lifecycle import other_namespaces, other_peers
    from dcops.tenancy.store import open_store

    with open_store(site).reading() as db:
        return other_peers(db, name), other_namespaces(db, name)


def _interactive(
    site: Site, actor: Actor, dry_run: bool, save: Path | None, neighbours: Neighbours
) -> tuple[TenancyRequest, dict[str, Any]]:
    """Ask for a request; on an interrupt or a refusal the answers are kept as a draft."""
    from dcops.cli.views import output
    from dcops.cli.views.tenancy_prompt import ask_request, save_draft
    from dcops.core.errors import DcopsError
    from dcops.tenancy.request import parse_request, today_at

    if save is not None and save.exists():
        from dcops.core.errors import InputError

        raise InputError(f"{save} already exists; give another path with --save PATH")
    data: dict[str, Any] = {}
    try:
        ask_request(site, actor, today_at(site), data)
        peers, namespaces = neighbours(site, f"{data['department']['code']}-{data['environment']}")
        parsed = parse_request(
            data,
            site,
            source="(interactive request)",
            other_peers=peers,
            other_namespaces=namespaces,
        )
    except (KeyboardInterrupt, typer.Abort, EOFError, DcopsError):
        if data:
            name = f"{data.get('department', {}).get('code', 'request')}-{data.get('environment', 'draft')}"
            draft = save_draft(data, save or Path.cwd() / f"{name}.yml")
            output.error_console().print(
                f"草稿已保存 / answers kept as a draft: {draft}", markup=False
            )
        raise
    if not dry_run:
        _write_request(site, data, parsed.name, save)
    return parsed, data


def _write_request(site: Site, data: dict[str, Any], name: str, save: Path | None) -> None:
    import yaml

    from dcops.cli.views import output
    from dcops.core.errors import InputError

    target = save or Path.cwd() / f"{name}.yml"  # never into the checkout's inventory by default
    if target.exists():
        raise InputError(f"{target} already exists; give another path with --save PATH")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        yaml.safe_dump(data, allow_unicode=True, sort_keys=False, default_flow_style=None),
        encoding="utf-8",
    )
    output.error_console().print(f"request written to {site.paths.relative(target)}", markup=False)


def _show_valid(ctx: typer.Context, site: Site, parsed: TenancyRequest) -> None:
    from dcops.cli.views import output

    totals = parsed.totals({f.name: f for f in site.config.catalogue.flavors})
    tier = site.tier_of(parsed.department.code)
    assert tier is not None
    approvers = 2 if totals.vcpus > tier.two_approvers_above_vcpus else 1
    if session(ctx).json:
        output.print_json(
            {"valid": True, "name": parsed.name, "approvers_needed": approvers, "stored": False}
        )
        return
    output.show(f"request {parsed.name} is valid (dry run: nothing stored)")
    output.show(
        f"  {parsed.department.code}, {parsed.environment}: {totals.vcpus} vCPUs, "
        f"{totals.ram_gb} GB RAM, {totals.instances} servers, {len(parsed.networks)} network(s); "
        f"needs {approvers} approver(s)"
    )


def _report(ctx: typer.Context, transitions: list[Transition]) -> None:
    from dataclasses import asdict

    from dcops.cli.views import output

    if session(ctx).json:
        output.print_json([asdict(t) for t in transitions])
        return
    if not transitions:
        output.show("nothing to do")
    for t in transitions:
        moved = f"{t.from_state} → {t.to_state}" if t.from_state else t.to_state
        output.show(f"request #{t.request_id} {t.name}: {moved} — {output.inline(t.message)}")
        for network, cidr in t.allocations:
            verb = "allocated" if t.to_state != "offboarded" else "released"
            output.show(f"  {verb} {cidr} for network {network}")
        if t.queued:
            output.show(f"  notifications queued for {', '.join(t.queued)}")
    if any(t.queued for t in transitions):
        output.show("  delivered by: dcops tenancy notifications --deliver (a timer or the server)")


@app.command("approve")
def approve(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="ID|NAME", help="Request ID or tenancy name."),
    comment: str = typer.Option("", "--comment", help="Why, for the history."),
) -> None:
    """Approve a submitted request (approver role; not your own; two approvers above the tier threshold)."""
    from dcops.tenancy.lifecycle import approve as approve_request

    state = session(ctx)
    if state.remote is not None:
        path = f"/api/v1/tenancies/{_ref(ref)}/approve"
        _report(ctx, _transitions(state.remote.call("POST", path, json={"comment": comment})))
        return
    if state.actor.has("approver"):  # others are refused by the approval itself
        _check_policies_of_stored(ctx, ref)
    _report(ctx, [approve_request(state.site, ref, state.actor, comment=comment)])


def _ref(ref: str) -> str:
    """A request ID or name as one path segment (the server refuses what matches nothing)."""
    from urllib.parse import quote

    return quote(ref[:100], safe="")


def _check_policies_of_stored(ctx: typer.Context, ref: str) -> None:
    """Before an approval: the policies over the submitted request, refused on a violation."""
    from dcops.core.errors import InputError
    from dcops.stacks.admission import refuse_violations
    from dcops.tenancy import states
    from dcops.tenancy.store import find_request, open_store

    site = session(ctx).site
    try:
        with open_store(site).reading() as db:
            record = find_request(db, ref, (states.SUBMITTED,))
            spec, name = dict(record.spec), record.name
    except InputError:
        return  # the approval itself says what is wrong with ref
    verdicts = _stored_verdicts(site, spec)
    _show_verdicts(ctx, verdicts)
    if verdicts is not None:
        refuse_violations(f"request {name}", name, verdicts)


def _stored_verdicts(site: Site, spec: dict[str, Any]) -> list[Verdict] | None:
    """Policy verdicts over a stored request (its site rules were checked when it was submitted)."""
    from dcops.tenancy.model import TenancyRequest

    return _policy_verdicts(site, TenancyRequest.model_validate(spec))


@app.command("reject")
def reject(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="ID|NAME", help="Request ID or tenancy name."),
    reason: str = typer.Option(..., "--reason", help="Why; the department reads it."),
) -> None:
    """Reject a submitted request with a reason (approver role)."""
    from dcops.tenancy.lifecycle import reject as reject_request

    state = session(ctx)
    if state.remote is not None:
        path = f"/api/v1/tenancies/{_ref(ref)}/reject"
        _report(ctx, _transitions(state.remote.call("POST", path, json={"reason": reason})))
        return
    _report(ctx, [reject_request(state.site, ref, state.actor, reason)])


@app.command("list")
def list_requests(
    ctx: typer.Context,
    state_filter: str | None = typer.Option(None, "--state", help=f"One of: {_STATE_HELP}."),
    department: str | None = typer.Option(None, "--department", help="A department code."),
) -> None:
    """List requests, newest first."""
    from dcops.cli.views import output

    state = session(ctx)
    _check_state(state_filter)
    rows = _requests(ctx, state_filter, department)
    if state.json:
        output.print_json(rows)
        return
    columns = ["id", "name", "department", "kind", "state", "vcpus", "approvals", "expires"]
    output.show(output.table(None, columns, ([r[c] for c in columns] for r in rows)))


def _check_state(state: str | None) -> None:
    from dcops.core.errors import InputError
    from dcops.tenancy.states import STATES

    if state is not None and state not in STATES:
        raise InputError(f"unknown state {state!r}; allowed: {', '.join(STATES)}")


def _requests(
    ctx: typer.Context, state_filter: str | None, department: str | None
) -> list[dict[str, Any]]:
    """The requests the caller may see: from the server when the site names one, else the store."""
    from dcops.cli.remote.client import query
    from dcops.tenancy import reports
    from dcops.tenancy.store import open_store

    state = session(ctx)
    if state.remote is not None:
        asked = query(state=state_filter, department=department)
        return list(state.remote.call("GET", "/api/v1/tenancies", params=asked))
    departments = _visible(ctx, department)
    with open_store(state.site).reading() as db:
        return reports.requests(db, state_filter, departments, state.site.config.site.timezone)


def _visible(ctx: typer.Context, department: str | None) -> list[str] | None:
    """The departments the actor may see (None: all), narrowed to the one asked for."""
    from dcops.tenancy.visibility import visible_departments

    state = session(ctx)
    return visible_departments(state.site, state.actor, department)


@app.command("show")
def show(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="ID|NAME", help="Request ID or tenancy name."),
) -> None:
    """Show a request: what it builds, its addresses, approvals and history."""
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None:
        info = state.remote.call("GET", f"/api/v1/tenancies/{_ref(ref)}")
    else:
        info = _detail(ctx, ref)
    if state.json:
        output.print_json(info)
        return
    kind = f"change of #{info['changes']}" if info["changes"] else "new tenancy"
    output.show(
        f"request #{info['id']} {info['name']} — {info['state']} ({kind}), department "
        f"{info['department']}, {info['environment']}, {info['classification']}"
    )
    output.show(f"purpose: {output.inline(info['purpose'])}")
    output.show(
        f"requested by {output.inline(info['requester'])}; approvals {info['approvals']}"
        + (f" ({output.inline(', '.join(info['approvers']))})" if info["approvers"] else "")
        + f"; expires {info['expires']}"
    )
    if info["reason"]:
        output.show(f"reason: {output.inline(info['reason'])}")
    output.show("plan:")
    for line in info["plan"]:
        output.show(f"  {output.inline(line)}")
    for line in policy_lines(info["policies"]):
        output.show(line)
    if info["addresses"]:
        output.show(
            output.table(
                "addresses",
                ["network", "cidr", "pool", "released"],
                (
                    [a["network"], a["cidr"], a["pool"], a["released"] or ""]
                    for a in info["addresses"]
                ),
            )
        )
    output.show(
        output.table(
            "history",
            ["at", "actor", "from", "to", "reason"],
            ([h["at"], h["actor"], h["from"] or "", h["to"], h["reason"]] for h in info["history"]),
        )
    )


def _detail(ctx: typer.Context, ref: str) -> dict[str, Any]:
    """One request from the local store, with its policy verdicts, as the API gives it."""
    from dcops.tenancy import reports
    from dcops.tenancy.store import find_request, open_store
    from dcops.tenancy.visibility import check_visible

    state = session(ctx)
    visible = _visible(ctx, None)
    with open_store(state.site).reading() as db:
        record = find_request(db, ref)
        check_visible(visible, record.id, record.department)
        info = reports.detail(db, state.site, record)
        spec = dict(record.spec)
    verdicts = _stored_verdicts(state.site, spec)
    if verdicts is None:
        info["policies"] = None
    else:
        from dcops.stacks.admission import verdicts_as_data

        info["policies"] = verdicts_as_data(verdicts)
    return info


def policy_lines(policies: list[dict[str, Any]] | None, passed: bool = True) -> list[str]:
    """A heading with the count, then one line per policy and its violations (none if unchecked)."""
    from dcops.cli.views import output

    if policies is None:
        return []
    ok = sum(1 for p in policies if p["passed"])
    lines = [f"策略检查 / policy checks: {ok} of {len(policies)} passed"]
    for policy in policies:
        if policy["passed"] and not passed:
            continue
        lines.append(f"  {'✓' if policy['passed'] else '✗'} {output.inline(policy['policy'])}")
        lines += [f"      {output.inline(str(v))}" for v in policy["violations"]]
    return lines


@app.command("status")
def status(
    ctx: typer.Context,
    department: str | None = typer.Option(
        None, "--department", help="Department code (default: your own department)."
    ),
) -> None:
    """Where each request of a department stands (for department staff)."""
    from dcops.cli.views import output

    state = session(ctx)
    rows = _requests(ctx, None, department)
    if state.json:
        output.print_json(rows)
        return
    if not rows:
        output.show("no tenancy requests yet (dcops tenancy request FILE)")
        return
    for row in rows:
        waiting = _waiting_for(row)
        output.show(
            f"#{row['id']} {row['name']} [{row['department']}]: {row['state']} — "
            + output.inline(waiting)
        )


def _waiting_for(row: dict[str, Any]) -> str:
    return {
        "submitted": f"waiting for approval ({row['approvals']} approvals)",
        "approved": "approved; waiting for ops to provision it",
        "rejected": f"rejected: {row['reason']}",
        "provisioned": f"in service until {row['expires']}",
        "expiring": f"expires {row['expires']}; submit a change to extend it",
        "offboarding": "being removed",
        "offboarded": "removed; addresses released",
        "superseded": "replaced by a later change",
    }[row["state"]]


@app.command("offboard")
def offboard(
    ctx: typer.Context,
    ref: str = typer.Argument(..., metavar="ID|NAME", help="Request ID or tenancy name."),
    reason: str = typer.Option("", "--reason", help="Why, for the history."),
    destroyed: bool = typer.Option(
        False, "--destroyed", help="Record that its stack is destroyed and release its addresses."
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Offboard a tenancy: shows what goes, asks, then releases it (after the destroy if it is live)."""
    from dcops.tenancy import lifecycle, reports
    from dcops.tenancy.store import find_request, open_store

    state = session(ctx)
    if not destroyed and state.remote is not None:
        client = state.remote
        if not yes:
            _confirm(client.call("GET", f"/api/v1/tenancies/{_ref(ref)}"))
        path = f"/api/v1/tenancies/{_ref(ref)}/offboard"
        _report(ctx, _transitions(client.call("POST", path, json={"reason": reason})))
        return
    actor = state.actor
    if destroyed:  # called on the ops host after `dcops destroy`, with the store at hand
        _report(ctx, [lifecycle.mark_destroyed(state.site, ref, actor)])
        return
    if not yes:
        state.require("ops", action="offboarding a tenancy")
        with open_store(state.site).reading() as db:
            info = reports.detail(db, state.site, find_request(db, ref))
        _confirm(info)
    _report(ctx, [lifecycle.offboard(state.site, ref, actor, reason=reason)])


def _confirm(info: dict[str, Any]) -> None:
    from dcops.cli.views import output
    from dcops.core.errors import InputError

    if not sys.stdin.isatty():
        raise InputError("offboarding asks for confirmation; run it in a terminal or add --yes")
    output.show(f"offboarding #{info['id']} {info['name']} ({info['state']}) removes:")
    for line in info["plan"]:
        output.show(f"  {output.inline(line)}")
    for address in info["addresses"]:
        if not address["released"]:
            output.show(f"  addresses {address['cidr']} ({address['network']})")
    confirm_change("确认下线？Offboard it?", "tenancy offboard")


@app.command("expire")
def expire(
    ctx: typer.Context,
    today: str | None = typer.Option(
        None, "--today", metavar="YYYY-MM-DD", help="Act as if today were this date."
    ),
) -> None:
    """Mark tenancies near their expiry as expiring and notify (safe to run from cron)."""
    import datetime

    from dcops.core.errors import InputError
    from dcops.tenancy.lifecycle import expire as expire_all

    state = session(ctx)
    if state.remote is not None:
        if today is not None:
            raise InputError(
                "--today is not used when dcops.toml names a server: the server expires "
                "tenancies by its own date; leave the option out"
            )
        _report(ctx, _transitions(state.remote.call("POST", "/api/v1/tenancies/expire")))
        return
    actor = state.actor
    day = None
    if today is not None:
        try:
            day = datetime.date.fromisoformat(today)
        except ValueError:
            raise InputError(f"--today {today!r} is not a date; allowed: YYYY-MM-DD") from None
    _report(ctx, expire_all(state.site, actor, today=day))


@app.command("notifications")
def notifications(
    ctx: typer.Context,
    deliver: bool = typer.Option(
        False, "--deliver", help="Deliver what is due (bounded tries, back-off); for a timer."
    ),
    retry: bool = typer.Option(
        False, "--retry", help="Deliver every undelivered one now, given-up ones included."
    ),
) -> None:
    """List notifications not yet delivered, with their last error; --deliver or --retry sends them."""
    from dcops.cli.views import output
    from dcops.tenancy import reports
    from dcops.tenancy.notifications import channel_names, deliver_pending
    from dcops.tenancy.store import open_store

    state = session(ctx)
    if state.remote is not None:
        _notifications_remotely(ctx, deliver or retry)
        return
    state.require("ops", "approver", action="handling tenancy notifications")
    store = open_store(state.site)
    configured = channel_names(state.site)
    if deliver or retry:
        outcomes = deliver_pending(state.site, store, everything=retry)
        if not state.json:
            ok = sum(1 for d in outcomes if d.delivered)
            output.show(f"delivered {ok}, failed {len(outcomes) - ok}")
    with store.reading() as db:
        rows = reports.undelivered(
            db, state.site.config.notifications, state.site.config.site.timezone
        )
    _show_undelivered(ctx, rows, bool(configured))


def _notifications_remotely(ctx: typer.Context, sending: bool) -> None:
    """The server's undelivered notifications; it delivers them itself on its own timer."""
    from dcops.core.errors import InputError

    state = session(ctx)
    assert state.remote is not None
    if sending:
        raise InputError(
            "--deliver 和 --retry 在服务器上运行 / --deliver and --retry run on the server's host: "
            "with [identity] server set, dcops serve delivers notifications itself every "
            "[server] deliver_every_s seconds; run the listing without them"
        )
    from dcops.tenancy.notifications import channel_names

    rows = state.remote.call("GET", "/api/v1/tenancies/notifications")
    _show_undelivered(ctx, rows, bool(channel_names(state.site)))


def _show_undelivered(ctx: typer.Context, rows: list[dict[str, Any]], configured: bool) -> None:
    from dcops.cli.views import output

    if session(ctx).json:
        output.print_json(rows)
        return
    if not rows:
        output.show(
            "all notifications delivered"
            if configured
            else "未配置通知渠道 no notification channel is configured ([notifications] in dcops.toml)"
        )
        return
    columns = ["id", "request", "channel", "attempts", "state", "error"]
    output.show(output.table("undelivered", columns, ([r[c] for c in columns] for r in rows)))
