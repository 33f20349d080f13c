"""/api/v1/audit: the log, one event with its proof, verification, proofs, reports and records."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from dcops.core.errors import InputError
from dcops.core.identity import require_role
from dcops.server.context import actor, context

if TYPE_CHECKING:
    from dcops.audit.history import Filter

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
READERS = ("auditor", "ops")


class ManualRecord(BaseModel):
    """A change made outside dcops, for the journal (recorded under manual.*)."""

    action: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.-]+$")
    object: str = Field(min_length=1, max_length=200)
    message: str = Field(min_length=1, max_length=4000)


def _filter(
    zone: str,
    since: str | None,
    until: str | None,
    user: str | None = None,
    action: str | None = None,
    obj: str | None = None,
) -> Filter:
    from dcops.audit.history import Filter, parse_moment

    return Filter(
        since=parse_moment(since[:40], zone, "since") if since else None,
        until=parse_moment(until[:40], zone, "until", end_of_day=True) if until else None,
        actor=user,
        action=action,
        object=obj,
    )


@router.get("/events")
def log(
    request: Request,
    since: str | None = None,
    until: str | None = None,
    user: str | None = None,
    action: str | None = None,
    object: str | None = None,
) -> list[dict[str, Any]]:
    """Operations: who did what to which object, when, with what result (auditor or ops)."""
    from dcops.audit.history import operations
    from dcops.audit.journal import Journal

    require_role(actor(request), *READERS, action="GET /api/v1/audit/events")
    site = context(request).site
    chosen = _filter(site.config.site.timezone, since, until, user, action, object)
    return [op.as_dict() for op in operations(Journal.of(site).events()) if chosen.matches(op)]


@router.get("/events/{ident}")
def show(ident: int, request: Request) -> dict[str, Any]:
    """One event as stored, with its inclusion proof against the latest checkpoint."""
    from dcops.audit.checkpoint import latest
    from dcops.audit.journal import Journal
    from dcops.audit.proofs import event_at, prove
    from dcops.audit.verification import trusted_key

    require_role(actor(request), *READERS, action="GET /api/v1/audit/events/{id}")
    journal = Journal.of(context(request).site)
    event = event_at(journal, ident)
    checkpoint = latest(journal)
    proof = None
    if checkpoint is not None and ident < checkpoint.size:
        proof = prove(journal, ident, checkpoint, trusted_key(journal, None)).as_dict()
    return {"event": event, "proof": proof}


@router.get("/proof/{ident}")
def proof(ident: int, request: Request) -> dict[str, Any]:
    """The inclusion proof bundle of one event against the latest signed checkpoint."""
    from dcops.audit.checkpoint import latest
    from dcops.audit.journal import Journal
    from dcops.audit.proofs import prove
    from dcops.audit.verification import trusted_key

    require_role(actor(request), *READERS, action="GET /api/v1/audit/proof/{id}")
    journal = Journal.of(context(request).site)
    against = latest(journal)
    if against is None:
        raise InputError("no checkpoint yet; run `dcops audit checkpoint` first")
    return prove(journal, ident, against, trusted_key(journal, None)).as_dict()


class KeptProof(BaseModel):
    """A checkpoint an auditor kept, to prove an event against; and their public key."""

    checkpoint: dict[str, Any]
    key: str | None = Field(default=None, max_length=4096)


@router.post("/proof/{ident}")
def proof_against(ident: int, body: KeptProof, request: Request) -> dict[str, Any]:
    """The inclusion proof bundle of one event against a checkpoint the auditor kept."""
    from dcops.audit.checkpoint import Checkpoint, public_key_from_pem, signature_ok
    from dcops.audit.journal import Journal
    from dcops.audit.proofs import prove
    from dcops.audit.verification import trusted_key

    require_role(actor(request), *READERS, action="POST /api/v1/audit/proof/{id}")
    journal = Journal.of(context(request).site)
    against = Checkpoint.from_dict(body.checkpoint, "the checkpoint sent (field checkpoint)")
    trusted = trusted_key(journal, None)
    key = (
        public_key_from_pem(body.key.encode("utf-8"), "the key sent (field key)")
        if body.key is not None
        else trusted
    )
    # Only a checkpoint this log signed may make the server rebuild its cached tree when the
    # proof fails; one signed with a key the caller brought would let anyone force the rehash.
    genuine = trusted is not None and signature_ok(against, trusted)
    return prove(journal, ident, against, key, rebuild=genuine).as_dict()


@router.get("/verify")
def verify(request: Request) -> dict[str, Any]:
    """Recompute the tree and check every checkpoint; `ok` false names the first bad event."""
    from dcops.audit.journal import Journal
    from dcops.audit.verification import trusted_key
    from dcops.audit.verification import verify as run

    require_role(actor(request), *READERS, action="GET /api/v1/audit/verify")
    journal = Journal.of(context(request).site)
    return run(journal, [], trusted_key(journal, None)).as_dict()


@router.post("/checkpoints")
def checkpoint(request: Request) -> dict[str, Any]:
    """Sign the tree head if the journal has grown; the newest checkpoint, to keep elsewhere."""
    from dcops.audit.checkpoint import checkpoint_now
    from dcops.audit.journal import Journal

    require_role(actor(request), *READERS, action="POST /api/v1/audit/checkpoints")
    return checkpoint_now(Journal.of(context(request).site)).as_dict()


class KeptGroup(BaseModel):
    """The checkpoints of one file an auditor kept, and the file's name (for the findings)."""

    source: str = Field(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")
    checkpoints: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class KeptCheck(BaseModel):
    """What an auditor brings to a verification: kept checkpoints, their public key."""

    kept: list[KeptGroup] = Field(default=[], max_length=20)
    key: str | None = Field(default=None, max_length=4096)
    all_signatures: bool = False


@router.post("/verify")
def verify_kept(body: KeptCheck, request: Request) -> dict[str, Any]:
    """Verify with the auditor's checkpoints and key; with the consistency proofs to the head."""
    from dcops.audit.checkpoint import Checkpoint, latest, public_key_from_pem
    from dcops.audit.consistency import links_to_head
    from dcops.audit.journal import Journal
    from dcops.audit.verification import Kept, trusted_key
    from dcops.audit.verification import verify as run

    require_role(actor(request), *READERS, action="POST /api/v1/audit/verify")
    kept = [
        Kept(group.source, [
            Checkpoint.from_dict(data, f"kept[{i}] ({group.source}) checkpoint {j + 1}")
            for j, data in enumerate(group.checkpoints)
        ])
        for i, group in enumerate(body.kept)
    ]  # fmt: skip
    journal = Journal.of(context(request).site)
    key = (
        public_key_from_pem(body.key.encode("utf-8"), "the key sent (field key)")
        if body.key is not None
        else trusted_key(journal, None)
    )
    result = run(journal, kept, key, body.all_signatures).as_dict()
    head = latest(journal)
    return {
        **result,
        "head": head.as_dict() if head is not None else None,
        "links": links_to_head(journal, head, kept),
    }


@router.get("/report")
def report(
    request: Request, since: str | None = None, until: str | None = None, format: str = "markdown"
) -> Response:
    """The auditors' report for a period, as Markdown, HTML or CSV (auditor role)."""
    from datetime import UTC, datetime

    from dcops.audit.history import operations
    from dcops.audit.journal import Journal
    from dcops.audit.report import FORMATS, Report, render
    from dcops.audit.verification import trusted_key
    from dcops.audit.verification import verify as run

    auditor = actor(request)
    require_role(auditor, "auditor", action="GET /api/v1/audit/report")
    if format not in FORMATS:
        raise InputError(f"format {format[:20]!r} is not known; allowed: {', '.join(FORMATS)}")
    site = context(request).site
    journal = Journal.of(site)
    chosen = _filter(site.config.site.timezone, since, until)
    document = Report(
        site=site.name,
        title=site.config.site.title,
        period=f"{since or 'start'} — {until or 'now'} ({site.config.site.timezone})",
        generated=datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        auditor=f"{auditor.user} ({auditor.name})",
        operations=[op for op in operations(journal.events()) if chosen.matches(op)],
        verification=run(journal, (), trusted_key(journal, None)),
    )
    kinds = {"markdown": "text/markdown", "html": "text/html", "csv": "text/csv"}
    return Response(render(document, format), media_type=kinds.get(format, "text/plain"))


@router.post("/records", status_code=201)
def record(body: ManualRecord, request: Request) -> dict[str, Any]:
    """Record a change made outside dcops (ops or facility)."""
    from dcops.audit.objects import manual_action, manual_object
    from dcops.audit.recorder import audited

    who = actor(request)
    require_role(who, "ops", "facility", action="POST /api/v1/audit/records")
    action, target = manual_action(body.action), manual_object(body.object)
    if not body.message.strip():
        raise InputError("message is empty; say what happened and why")
    site = context(request).site
    with audited(
        site, who, action=action, target=target, parameters={"message": body.message}
    ) as op:
        pass
    return {"intent": op.intent_id, "result": op.intent_id + 1, "correlation": op.correlation,
            "action": action, "object": target}  # fmt: skip
