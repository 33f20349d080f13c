"""`dcops audit`: read, verify, prove and report the tamper-evident record of changes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from dcops.cli.views.confirm import confirm_change
from dcops.cli.views.session import Session, session

if TYPE_CHECKING:
    from dcops.audit.checkpoint import Checkpoint
    from dcops.audit.history import Filter
    from dcops.audit.journal import Journal

app = typer.Typer(
    help="The audit record (审计): log, show, verify, prove, report, checkpoint, prune.",
    no_args_is_help=True,
)

READERS = ("auditor", "ops")


def _journal(state: Session) -> Journal:
    from dcops.audit.journal import Journal

    return Journal.of(state.site)


def _filter(
    state: Session,
    since: str | None,
    until: str | None,
    actor: str | None = None,
    action: str | None = None,
    obj: str | None = None,
) -> Filter:
    from dcops.audit.history import Filter, parse_moment

    zone = state.site.config.site.timezone
    return Filter(
        since=parse_moment(since, zone, "--since") if since else None,
        until=parse_moment(until, zone, "--until", end_of_day=True) if until else None,
        actor=actor,
        action=action,
        object=obj,
    )


def _short(moment_utc: str, zone: str) -> str:
    """An event's UTC time in the site's zone, to the second (the zone is in the header)."""
    from dcops.audit.history import in_zone

    return in_zone(moment_utc, zone)[:19].replace("T", " ")


@app.command("log")
def log(
    ctx: typer.Context,
    since: str | None = typer.Option(
        None, help="From this date (YYYY-MM-DD, site time) or ISO time."
    ),
    until: str | None = typer.Option(
        None, help="Up to and including this date, or before this ISO time."
    ),
    actor: str | None = typer.Option(None, help="Only this user."),
    action: str | None = typer.Option(
        None, help="Only this action or family (tenancy = tenancy.*)."
    ),
    obj: str | None = typer.Option(
        None, "--object", help="Only this object (tenancy/fgw) or type."
    ),
) -> None:
    """List operations: who did what to which object, when, and with what result."""
    from dcops.audit.history import operations
    from dcops.cli.remote.client import query
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None:
        asked = query(since=since, until=until, user=actor, action=action, object=obj)
        ops = list(state.remote.call("GET", "/api/v1/audit/events", params=asked))
    else:
        state.require(*READERS, action="dcops audit log")
        chosen = _filter(state, since, until, actor, action, obj)
        journal = _journal(state).events()
        ops = [op.as_dict() for op in operations(journal) if chosen.matches(op)]
    if state.json:
        output.print_json(ops)
        return
    zone = state.site.config.site.timezone
    rows = [
        [o["id"], _short(o["time_utc"], zone), o["user"], o["action"], o["object"], o["status"],
         o["error"] or ""]
        for o in ops
    ]  # fmt: skip
    output.show(
        output.table(
            None, ["id", f"time ({zone})", "user", "action", "object", "result", "error"], rows
        )
    )
    typer.echo(f"{len(ops)} operations")


@app.command("show")
def show(
    ctx: typer.Context, ident: int = typer.Argument(..., metavar="ID", help="Event id.")
) -> None:
    """Show one event with its diff and its inclusion proof against the latest checkpoint."""
    import json

    from dcops.audit.checkpoint import latest
    from dcops.audit.proofs import event_at
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None:
        shown = state.remote.call("GET", f"/api/v1/audit/events/{ident}")
        event, proof = dict(shown["event"]), shown["proof"]
    else:
        state.require(*READERS, action="dcops audit show")
        journal = _journal(state)
        event = event_at(journal, ident)
        proof = _proof_or_none(journal, ident, latest(journal))
    if state.json:
        output.print_json({"event": event, "proof": proof})
        return
    diff = event.pop("diff", None)
    typer.echo(output.block(json.dumps(event, ensure_ascii=False, indent=2, sort_keys=True)))
    if diff:
        typer.echo("diff:")
        typer.echo(output.block(diff))
    if proof is None:
        typer.echo("proof: not yet covered by a checkpoint (run `dcops audit checkpoint`)")
        return
    typer.echo(
        f"proof: leaf {proof['index']} of {proof['tree_size']}, "
        f"{_hashes(len(proof['proof']))}, root {proof['checkpoint']['root']} "
        f"(checkpoint {proof['checkpoint']['time']}): holds"
    )


def _hashes(count: int) -> str:
    return f"{count} hash" if count == 1 else f"{count} hashes"


def _proof_or_none(
    journal: Journal, ident: int, checkpoint: Checkpoint | None
) -> dict[str, Any] | None:
    from dcops.audit.proofs import prove
    from dcops.audit.verification import trusted_key

    if checkpoint is None or ident >= checkpoint.size:
        return None
    return prove(journal, ident, checkpoint, trusted_key(journal, None)).as_dict()


@app.command("verify")
def verify(
    ctx: typer.Context,
    checkpoint: list[Path] = typer.Option(
        [],
        "--checkpoint",
        help="A checkpoint kept elsewhere (file from `dcops audit checkpoint`); repeatable.",
    ),
    key: Path | None = typer.Option(
        None, "--key", help="The public key to trust (default: the site's signing.pub)."
    ),
    all_signatures: bool = typer.Option(
        False,
        "--all-signatures",
        help="Check every checkpoint's signature, not only the chain's head.",
    ),
) -> None:
    """Recompute the tree and check every checkpoint; exit 1 naming the first bad event."""
    from dcops.audit.verification import Tampered, trusted_key
    from dcops.audit.verification import verify as run
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None and (checkpoint or key or all_signatures):
        result = _verify_with_server(state, checkpoint, key, all_signatures)
    elif state.remote is not None:
        result = state.remote.call("GET", "/api/v1/audit/verify")
    else:
        state.require(*READERS, action="dcops audit verify")
        journal = _journal(state)
        result = run(journal, checkpoint, trusted_key(journal, key), all_signatures).as_dict()
    if state.json:
        output.print_json(result)
    if not result["ok"]:
        raise Tampered(result)
    if not state.json:
        _show_verified(state, result)


def _verify_with_server(
    state: Session, checkpoint: list[Path], key: Path | None, all_signatures: bool
) -> dict[str, Any]:
    """The server's verification with your kept checkpoints, then its proofs checked here."""
    from dcops.audit.checkpoint import load_public_key, public_pem
    from dcops.audit.consistency import check_against_head
    from dcops.audit.verification import Kept

    assert state.remote is not None
    kept = [Kept.read(path) for path in checkpoint]
    public = load_public_key(key) if key is not None else None  # a private key never leaves
    body = {
        "kept": [
            {"source": k.source[-200:], "checkpoints": [c.as_dict() for c in k.checkpoints]}
            for k in kept
        ],
        "key": public_pem(public) if public is not None else None,
        "all_signatures": all_signatures,
    }
    result: dict[str, Any] = state.remote.call("POST", "/api/v1/audit/verify", json=body)
    here = check_against_head(kept, result.get("head"), result.get("links"), public)
    if public is None:
        here.warnings.append(
            "没有 --key，签名由服务器用它自己的公钥检查 / no --key: the server checked the "
            "signatures with its own key; give --key your copy of signing.pub to check them here"
        )
    result["findings"] = [*result["findings"], *here.findings]
    result["warnings"] = [*result["warnings"], *here.warnings]
    result["checked_here"] = here.held
    if here.findings:
        result["ok"] = False
        result["first_bad"] = result["first_bad"] or here.findings[0]
    return result


def _show_verified(state: Session, result: dict[str, Any]) -> None:
    """What a journal that verifies looks like: counts, the latest checkpoint, the witness."""
    pruned = result["pruned"]
    typer.echo(
        f"audit verify: ok — {result['events']} events"
        + (f" ({pruned} pruned)" if pruned else "")
        + f", {result['checkpoints_checked']} checkpoints"
    )
    latest = result["latest_checkpoint"]
    if latest is not None:
        typer.echo(
            f"latest checkpoint: size {latest['size']}, root {latest['root']}, {latest['time']}"
        )
    if result["unsigned_events"]:
        typer.echo(f"{result['unsigned_events']} newest events are not yet covered by a checkpoint")
    witness = result["witness"]
    if witness is not None:
        typer.echo(
            f"witness {state.site.paths.relative(Path(witness['path']))}: "
            + (
                f"its newest checkpoint (size {witness['size']}) holds"
                if witness["size"] is not None
                else "empty, nothing recorded yet"
            )
        )
    for held in result.get("checked_here", []):
        typer.echo(f"checked here: {held}")
    for warning in result["warnings"]:
        typer.echo(f"警告 warning: {warning}", err=True)


def _prove_with_server(
    state: Session, ident: int, checkpoint: Path | None, key: Path | None
) -> dict[str, Any]:
    """The server's proof against your kept checkpoint (else its newest), checked here too."""
    from dcops.audit.checkpoint import load_public_key, public_pem, read_checkpoints
    from dcops.audit.proofs import check_bundle

    assert state.remote is not None
    against = list(read_checkpoints(checkpoint))[-1] if checkpoint else None
    public = load_public_key(key) if key is not None else None  # a private key never leaves
    if against is None:
        bundle: dict[str, Any] = state.remote.call("GET", f"/api/v1/audit/proof/{ident}")
    else:
        body = {
            "checkpoint": against.as_dict(),
            "key": public_pem(public) if public is not None else None,
        }
        bundle = state.remote.call("POST", f"/api/v1/audit/proof/{ident}", json=body)
    check_bundle(bundle, against, public)
    return bundle


@app.command("prove")
def prove(
    ctx: typer.Context,
    ident: int = typer.Argument(..., metavar="ID", help="Event id."),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="Prove against this kept checkpoint instead of the latest."
    ),
    key: Path | None = typer.Option(
        None, "--key", help="The public key to trust (default: the site's signing.pub)."
    ),
) -> None:
    """An inclusion proof of one event against a signed checkpoint (check it by hand: docs)."""
    from dcops.audit.checkpoint import latest, read_checkpoints
    from dcops.audit.proofs import prove as make
    from dcops.audit.verification import trusted_key
    from dcops.cli.views import output
    from dcops.core.errors import InputError

    state = session(ctx)
    if state.remote is not None:
        bundle = _prove_with_server(state, ident, checkpoint, key)
    else:
        state.require(*READERS, action="dcops audit prove")
        journal = _journal(state)
        against = list(read_checkpoints(checkpoint))[-1] if checkpoint else latest(journal)
        if against is None:
            raise InputError("no checkpoint yet; run `dcops audit checkpoint` first")
        bundle = make(journal, ident, against, trusted_key(journal, key)).as_dict()
    if state.json:
        output.print_json(bundle)
        return
    typer.echo(
        f"event {ident} is leaf {bundle['index']} of the tree of {bundle['tree_size']} events"
    )
    typer.echo(f"leaf hash: {bundle['leaf_hash']}")
    for number, node in enumerate(bundle["proof"], start=1):
        typer.echo(f"proof {number}: {node}")
    typer.echo(
        f"root: {bundle['checkpoint']['root']} (checkpoint signed {bundle['checkpoint']['time']})"
    )
    typer.echo("the proof holds; `--output json` gives the bundle to check by hand")


@app.command("report")
def report(
    ctx: typer.Context,
    since: str | None = typer.Option(None, help="From this date (YYYY-MM-DD, site time)."),
    until: str | None = typer.Option(None, help="Up to and including this date."),
    form: str = typer.Option("markdown", "--format", help="markdown, html or csv."),
    out: Path | None = typer.Option(None, "--out", help="Write to this file instead of stdout."),
) -> None:
    """The auditors' report: every change, failures, counts, integrity and the 等保 mapping."""
    from dcops.audit.report import FORMATS
    from dcops.cli.remote.client import query
    from dcops.core.errors import InputError

    state = session(ctx)
    if form not in FORMATS:
        raise InputError(f"--format {form!r} is not known; allowed: {', '.join(FORMATS)}")
    if out is not None:
        _check_out(out)
    if state.remote is not None:
        asked = query(since=since, until=until, format=form)
        text = state.remote.text("/api/v1/audit/report", params=asked)
        counted = ""
    else:
        text, count = _local_report(state, since, until, form)
        counted = f"{count} operations, "
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"--out {out}: cannot write the report ({exc.strerror or exc})") from None
    typer.echo(f"report written to {out} ({counted}{form})")


def _local_report(
    state: Session, since: str | None, until: str | None, form: str
) -> tuple[str, int]:
    """The report rendered from the journal on this host, and how many operations it holds."""
    from datetime import UTC, datetime

    from dcops.audit.history import operations
    from dcops.audit.report import Report, render
    from dcops.audit.verification import trusted_key
    from dcops.audit.verification import verify as run

    auditor = state.require("auditor", action="dcops audit report")
    site = state.site
    journal = _journal(state)
    chosen = _filter(state, since, until)
    ops = [op for op in operations(journal.events()) if chosen.matches(op)]
    document = Report(
        site=site.name,
        title=site.config.site.title,
        period=f"{since or 'start'} — {until or 'now'} ({site.config.site.timezone})",
        generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        auditor=f"{auditor.user} ({auditor.name})",
        operations=ops,
        verification=run(journal, (), trusted_key(journal, None)),
    )
    return render(document, form), len(ops)


def _check_out(out: Path) -> None:
    """Refuse a --out that names a folder or sits in a folder that does not exist."""
    from dcops.core.errors import InputError

    if out.is_dir():
        raise InputError(f"--out {out} is a directory; give a file name, such as {out}/report.md")
    if not out.parent.is_dir():
        raise InputError(
            f"--out {out}: folder {out.parent} does not exist; create it or give another path"
        )


@app.command("checkpoint")
def checkpoint(ctx: typer.Context) -> None:
    """Sign the current tree head if it has grown, and print the latest checkpoint to keep elsewhere."""
    from dcops.audit.checkpoint import checkpoint_now
    from dcops.cli.views import output

    state = session(ctx)
    if state.remote is not None:
        output.print_json(state.remote.call("POST", "/api/v1/audit/checkpoints"))
        return
    state.require(*READERS, action="dcops audit checkpoint")
    output.print_json(checkpoint_now(_journal(state)).as_dict())


@app.command("record")
def record(
    ctx: typer.Context,
    action: str = typer.Option(
        ..., help="What was done, e.g. manual.power-cycle (always recorded under manual.*)."
    ),
    obj: str = typer.Option(
        ..., "--object", help="On what: TYPE/ID, e.g. host/leaf1 or device/ups-1."
    ),
    message: str = typer.Option(..., help="What happened and why (中文 or English)."),
) -> None:
    """Record a change made outside dcops (a manual fix, a vendor visit) in the audit journal."""
    from dcops.audit.objects import manual_action, manual_object
    from dcops.audit.recorder import audited
    from dcops.cli.views import output
    from dcops.core.errors import InputError

    state = session(ctx)
    action, obj = manual_action(action), manual_object(obj)
    if not message.strip():
        raise InputError("--message is empty; say what happened and why")
    if state.remote is not None:
        done = state.remote.call(
            "POST", "/api/v1/audit/records",
            json={"action": action, "object": obj, "message": message},
        )  # fmt: skip
        intent, result, correlation = done["intent"], done["result"], done["correlation"]
    else:
        actor = state.require("ops", "facility", action="dcops audit record")
        with audited(
            state.site, actor, action=action, target=obj, parameters={"message": message}
        ) as op:
            pass
        intent, result, correlation = op.intent_id, op.intent_id + 1, op.correlation
    if state.json:
        output.print_json({"intent": intent, "result": result, "correlation": correlation})
        return
    typer.echo(f"recorded {action} on {obj} (event {intent})")


@app.command("prune")
def prune(
    ctx: typer.Context,
    before: str | None = typer.Option(
        None,
        help="Prune events before this date (default: everything older than the retention period).",
    ),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask."),
) -> None:
    """Move events older than the retention period (>= 180 days) into a signed archive segment."""
    from datetime import UTC, datetime

    from dcops.audit.checkpoint import latest, write_checkpoint
    from dcops.audit.history import parse_moment
    from dcops.audit.recorder import audited
    from dcops.audit.retention import cutoff
    from dcops.audit.retention import prune as run
    from dcops.cli.views import output

    state = session(ctx)
    actor = state.require("auditor", action="dcops audit prune")
    site = state.site
    days = site.config.audit.retention_days
    moment = parse_moment(before, site.config.site.timezone, "--before") if before else None
    limit = cutoff(days, moment, datetime.now(UTC))
    journal = _journal(state)
    shown = limit.isoformat(timespec="seconds")
    if not yes:
        confirm_change(
            f"归档早于 {shown} 的审计事件 Archive audit events older than {shown}?", "audit prune"
        )
    if latest(journal) is None:  # a journal never signed: sign it, or nothing could verify it
        write_checkpoint(journal)
    with audited(
        site, actor, action="audit.prune", target="audit/journal", parameters={"before": shown}
    ) as op:
        done = run(journal, limit)
        op.attach(details=done.as_dict() if done else {"events": 0})
    if state.json:
        output.print_json(done.as_dict() if done else {"events": 0})
    elif done is None:
        typer.echo(f"nothing to prune: no event is older than {shown} (retention {days} days)")
    else:
        typer.echo(
            f"archived events {done.first}-{done.last} into {done.segment} with its checkpoint"
        )
