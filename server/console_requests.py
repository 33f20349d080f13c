"""The tenancy pages: a department's requests and its request form, the approvers' queue, and
one request with its policy verdicts, plan summary, history and the approve/reject forms."""

from __future__ import annotations

import datetime
import json
import os
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, RedirectResponse, Response

from dcops.core.errors import AccessDenied, InputError, InvalidInput
from dcops.core.identity import require_role
from dcops.server import request_form, tenancy_api
from dcops.server.console import field, parsed, render, submitted, viewer
from dcops.server.context import actor, context

if TYPE_CHECKING:
    from pathlib import Path

    from dcops.core.identity import Actor
    from dcops.core.site import Site
    from dcops.server.authentication import Principal

router = APIRouter(prefix="/console", include_in_schema=False)
DECIDERS = ("approver", "ops")
MAX_DRAFT_BYTES = 64 * 1024
REMIND = datetime.timedelta(days=30)


def _requesters(who: Actor) -> list[str]:
    """The departments the person may file requests for (ops: every one)."""
    if not who.departments and not who.has("ops"):
        raise AccessDenied(
            f"权限不足 / filing a request needs a department or the ops role; user {who.user!r} "
            f"has {', '.join(sorted(who.roles)) or 'no roles'}"
        )
    return who.departments


@router.get("/requests")
def my_requests(request: Request) -> Response:
    """The requests the person may see (their department's; everything for ops and approvers)."""
    who = viewer(request, action="GET /console/requests")
    rows = tenancy_api.list_requests(request)
    may_file = bool(actor(request).departments) or actor(request).has("ops")
    return render(
        request,
        "requests.html",
        who=who,
        rows=rows,
        title="我的申请 My requests",
        may_file=may_file,
        expiring=_expiring(context(request).site, rows),
    )


@router.get("/queue")
def queue(request: Request) -> Response:
    """The approvers' queue: submitted requests first, then the latest decided ones."""
    who = viewer(request, *DECIDERS, action="GET /console/queue")
    rows = tenancy_api.list_requests(request)
    waiting = [r for r in rows if r["state"] == "submitted"]
    decided = [r for r in rows if r["state"] != "submitted"][:20]
    return render(request, "queue.html", who=who, waiting=waiting, decided=decided)


@router.get("/requests/new")
def new_request(request: Request) -> Response:
    """The request form, filled from the person's draft if they saved one."""
    who = viewer(request, action="GET /console/requests/new")
    _requesters(actor(request))
    values = _draft(request, who) or {}
    return _form(request, who, values, {}, [], "")


@router.post("/requests/check")
async def check(request: Request) -> Response:
    """Validate the form as it is filled: each field's problems, by the request's validators."""
    _, form = await submitted(request, action="POST /console/requests/check")
    _requesters(actor(request))
    values = request_form.values_of(form)
    try:
        await run_in_threadpool(_validated, request, values)
    except InvalidInput as exc:
        at, general = request_form.field_errors(exc.problems)
        return JSONResponse({"valid": False, "fields": at, "general": general})
    return JSONResponse({"valid": True, "fields": {}, "general": []})


@router.post("/requests/new")
async def file_request(request: Request) -> Response:
    """Save a draft, preview (verdicts and what will be built), or submit the request."""
    who, form = await submitted(request, action="POST /console/requests/new")
    _requesters(actor(request))
    values = request_form.values_of(form)
    step = field(form, "step", 20)
    if step == "draft":
        _save_draft(request, who, values)
        return _form(request, who, values, {}, [], "草稿已保存 / draft saved")
    try:
        ready = await run_in_threadpool(_validated, request, values)
        verdicts = await run_in_threadpool(_verdicts, context(request).site, ready)
        if step == "submit":
            _refuse_violations(ready, verdicts)
    except InvalidInput as exc:
        at, general = request_form.field_errors(exc.problems)
        return _form(request, who, values, at, general, "", status=422)
    if step != "submit":
        return _form(request, who, values, {}, [], "", preview=_preview(request, ready, verdicts))
    from dcops.tenancy.lifecycle import submit

    done = await run_in_threadpool(submit, context(request).site, ready, actor(request))
    _draft_path(request, who).unlink(missing_ok=True)
    return RedirectResponse(f"/console/requests/{done.request_id}", 303)


@router.get("/requests/{ref}")
def show(request: Request, ref: str) -> Response:
    """One request: what it builds, its policy verdicts, addresses, approvals and history."""
    who = viewer(request, action="GET /console/requests/{ref}")
    detail = tenancy_api.detail_of(ref, request)
    person = actor(request)
    deciding = any(person.has(r) for r in DECIDERS) and detail["state"] == "submitted"
    verdicts = usage = to_allocate = None
    if any(person.has(r) for r in DECIDERS):
        verdicts = _stored_verdicts(context(request).site, detail["id"])
        usage = _usage(context(request).site, detail["id"])
        if detail["state"] == "submitted":
            to_allocate = _to_allocate(context(request).site, detail["id"])
    return render(
        request,
        "request.html",
        who=who,
        r=detail,
        verdicts=verdicts,
        deciding=deciding,
        tier=_tier(context(request).site, detail["department"]),
        usage=usage,
        to_allocate=to_allocate,
    )


@router.get("/requests/{ref}/yaml")
def download(request: Request, ref: str) -> Response:
    """The request as a YAML file, as the department would have written it."""
    import yaml

    from dcops.tenancy.store import find_request, open_store

    viewer(request, action="GET /console/requests/{ref}/yaml")
    detail = tenancy_api.detail_of(ref, request)  # refuses a request the person may not see
    with open_store(context(request).site).reading() as db:
        spec = dict(find_request(db, str(detail["id"])).spec)
    text = yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)
    name = f"{detail['name']}-{detail['id']}.yml"
    return Response(
        text,
        media_type="application/yaml",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


@router.post("/requests/{ref}/approve")
async def approve(request: Request, ref: str) -> Response:
    """Approve after the policies pass; the lifecycle enforces who may approve and how many."""
    _, form = await submitted(request, *DECIDERS, action="POST /console/requests/{ref}/approve")
    require_role(actor(request), "approver", action="approving a tenancy request")
    body = parsed(tenancy_api.Approval, {"comment": field(form, "comment")}, "approval form")
    detail = tenancy_api.detail_of(ref, request)
    verdicts = await run_in_threadpool(_stored_verdicts, context(request).site, detail["id"])
    _refuse_violations_named(detail["name"], verdicts)
    done = await run_in_threadpool(tenancy_api.approve, ref, body, request)
    return RedirectResponse(f"/console/requests/{int(done[0]['request_id'])}", 303)


@router.post("/requests/{ref}/reject")
async def reject(request: Request, ref: str) -> Response:
    """Reject with a reason the department reads."""
    _, form = await submitted(request, *DECIDERS, action="POST /console/requests/{ref}/reject")
    body = parsed(tenancy_api.Rejection, {"reason": field(form, "reason")}, "rejection form")
    done = await run_in_threadpool(tenancy_api.reject, ref, body, request)
    return RedirectResponse(f"/console/requests/{int(done[0]['request_id'])}", 303)


def _expiring(site: Site, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Live tenancies that end within REMIND, soonest first."""
    from dcops.tenancy.request import today_at

    today = today_at(site)
    soon = []
    for row in rows:
        ends = datetime.date.fromisoformat(row["expires"])
        if row["state"] in ("approved", "provisioned") and ends - today <= REMIND:
            soon.append({**row, "days": (ends - today).days})
    return sorted(soon, key=lambda r: int(r["days"]))


def _validated(request: Request, values: dict[str, str]) -> Any:
    """The form as a request, through the API's own parsing (the CLI's validators)."""
    import yaml

    site = context(request).site
    code = values["department.code"]
    department = site.department(code) if code else None
    if code and (department is None or code not in _allowed(actor(request), site)):
        raise InputError(f"委办局无效 / department {code[:20]!r} is not one you may file for")
    doc = request_form.document(values, department.name if department else "")
    text = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)
    return tenancy_api.parse_text(request, text, "request form")


def _allowed(who: Actor, site: Site) -> list[str]:
    return [d.code for d in site.config.departments] if who.has("ops") else who.departments


def _verdicts(site: Site, ready: Any) -> list[Any] | None:
    """The site's policies over what the request builds; None without the stacks extra."""
    import importlib.util

    if importlib.util.find_spec("pulumi_policy") is None:
        return None
    from dcops.stacks.admission import judge_request

    return judge_request(site, ready)


def _stored_verdicts(site: Site, ident: int) -> list[Any] | None:
    from dcops.tenancy.model import TenancyRequest
    from dcops.tenancy.store import find_request, open_store

    with open_store(site).reading() as db:
        spec = dict(find_request(db, str(ident)).spec)
    return _verdicts(site, TenancyRequest.model_validate(spec))


def _usage(site: Site, ident: int) -> Any:
    from dcops.tenancy.quota_usage import quota_usage
    from dcops.tenancy.store import find_request, open_store

    with open_store(site).reading() as db:
        return quota_usage(db, site, find_request(db, str(ident)))


def _to_allocate(site: Site, ident: int) -> dict[str, object]:
    """The blocks approving the request would allocate now, read without changing the store."""
    from dcops.tenancy.allocation_plan import address_preview
    from dcops.tenancy.store import find_request, open_store

    with open_store(site).reading() as db:
        return address_preview(db, site, find_request(db, str(ident)))


def _refuse_violations(ready: Any, verdicts: list[Any] | None) -> None:
    _refuse_violations_named(ready.name, verdicts)


def _refuse_violations_named(name: str, verdicts: list[Any] | None) -> None:
    if verdicts is not None:
        from dcops.stacks.admission import refuse_violations

        refuse_violations(f"request {name}", name, verdicts)


def _preview(request: Request, ready: Any, verdicts: list[Any] | None) -> dict[str, Any]:
    from dcops.tenancy.reports import plan_summary

    site = context(request).site
    totals = ready.totals({f.name: f for f in site.config.catalogue.flavors})
    tier = site.tier_of(ready.department.code)
    needed = 2 if tier is not None and totals.vcpus > tier.two_approvers_above_vcpus else 1
    return {
        "name": ready.name,
        "plan": plan_summary(site, ready),
        "verdicts": verdicts,
        "approvers_needed": needed,
        "totals": asdict(totals),
    }


def _tier(site: Site, code: str) -> dict[str, Any] | None:
    tier = site.tier_of(code)
    return None if tier is None else tier.model_dump()


def _form(
    request: Request,
    who: Principal,
    values: dict[str, str],
    errors: dict[str, str],
    general: list[str],
    notice: str,
    status: int = 200,
    preview: dict[str, Any] | None = None,
) -> Response:
    site = context(request).site
    person = actor(request)
    departments = [d for d in site.config.departments if d.code in _allowed(person, site)]
    catalogue = site.config.catalogue
    return render(
        request,
        "request_form.html",
        status,
        who,
        values=values,
        errors=errors,
        general=general,
        notice=notice,
        preview=preview,
        departments=departments,
        tiers=request_form.tiers_of(site, [d.code for d in departments]),
        network_sizes=request_form.network_sizes(site),
        flavors=catalogue.flavors,
        images=catalogue.images,
        rows=request_form.ROWS,
        environments=("production", "staging", "development"),
        classifications=("level-1", "level-2", "level-3", "level-4"),
    )


def _draft_path(request: Request, who: Principal) -> Path:
    return context(request).site.paths.state / "server" / "drafts" / f"{who.user}.json"


def _draft(request: Request, who: Principal) -> dict[str, str] | None:
    path = _draft_path(request, who)
    if not path.is_file() or path.stat().st_size > MAX_DRAFT_BYTES:
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    names = set(request_form.field_names())
    return {k: str(v) for k, v in data.items() if k in names}


def _save_draft(request: Request, who: Principal, values: dict[str, str]) -> None:
    path = _draft_path(request, who)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps(values, ensure_ascii=False)
    if len(text.encode()) > MAX_DRAFT_BYTES:
        raise InputError(f"草稿过大 / the draft is larger than {MAX_DRAFT_BYTES} bytes")
    temporary = path.with_suffix(".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.chmod(temporary, 0o600)
    temporary.replace(path)
