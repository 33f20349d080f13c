"""The auditors' desk: the journal with filters, one event with its inclusion proof, verifying
the whole journal now, and the period report to download (HTML or CSV)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from dcops.core.errors import InputError
from dcops.server import audit_api
from dcops.server.console import render, viewer

router = APIRouter(prefix="/console", include_in_schema=False)
SHOWN = 300
RESULTS = ("", "success", "failure", "incomplete")


def _bounded(value: str | None, limit: int = 100) -> str | None:
    return value[:limit].strip() or None if value else None


@router.get("/audit")
def journal(
    request: Request,
    user: str | None = None,
    action: str | None = None,
    object: str | None = None,
    since: str | None = None,
    until: str | None = None,
    result: str = "",
) -> Response:
    """The journal's operations, newest first, filtered as the API filters them."""
    who = viewer(request, *audit_api.READERS, action="GET /console/audit")
    if result not in RESULTS:
        raise InputError(
            f"结果无效 / result {result[:20]!r} is not known; allowed: success, failure, incomplete"
        )
    filters = {
        "user": _bounded(user, 64),
        "action": _bounded(action),
        "object": _bounded(object, 200),
        "since": _bounded(since, 40),
        "until": _bounded(until, 40),
    }
    ops = audit_api.log(
        request,
        filters["since"],
        filters["until"],
        filters["user"],
        filters["action"],
        filters["object"],
    )
    if result:
        ops = [op for op in ops if op.get("status") == result]
    shown = list(reversed(ops))[:SHOWN]
    return render(
        request,
        "audit.html",
        who=who,
        ops=shown,
        total=len(ops),
        shown=SHOWN,
        filters={k: v or "" for k, v in filters.items()},
        result=result,
        may_report="auditor" in who.roles,
    )


@router.get("/audit/events/{ident}")
def event(request: Request, ident: int) -> Response:
    """One event as stored, with its inclusion proof and how to check it by hand."""
    who = viewer(request, *audit_api.READERS, action="GET /console/audit/events/{id}")
    found = audit_api.show(ident, request)
    return render(
        request,
        "audit_event.html",
        who=who,
        ident=ident,
        event=json.dumps(found["event"], ensure_ascii=False, indent=2),
        proof=found["proof"],
        proof_text=json.dumps(found["proof"], ensure_ascii=False, indent=2),
    )


@router.get("/audit/proof/{ident}")
def proof(request: Request, ident: int) -> Response:
    """The inclusion proof bundle as a file, for checking by hand (docs/audit-proofs.md)."""
    viewer(request, *audit_api.READERS, action="GET /console/audit/proof/{id}")
    bundle = audit_api.proof(ident, request)
    return Response(
        json.dumps(bundle, ensure_ascii=False, indent=2),
        media_type="application/json",
        headers={"content-disposition": f'attachment; filename="proof-{ident}.json"'},
    )


@router.get("/audit/verify")
async def verify(request: Request) -> Response:
    """Recompute the tree and check every checkpoint now."""
    who = viewer(request, *audit_api.READERS, action="GET /console/audit/verify")
    result = await run_in_threadpool(audit_api.verify, request)
    return render(
        request,
        "audit_verify.html",
        who=who,
        result=result,
        text=json.dumps(result, ensure_ascii=False, indent=2),
    )


@router.get("/audit/report")
async def report(
    request: Request, since: str | None = None, until: str | None = None, format: str = "html"
) -> Response:
    """The period report as a file to download (the API's report, HTML or CSV)."""
    viewer(request, "auditor", action="GET /console/audit/report")
    if format not in ("html", "csv"):
        raise InputError(f"格式无效 / format {format[:20]!r} is not offered; allowed: html, csv")
    made = await run_in_threadpool(
        audit_api.report, request, _bounded(since, 40), _bounded(until, 40), format
    )
    made.headers["content-disposition"] = f'attachment; filename="audit-report.{format}"'
    return made
