"""/api/v1/tenancies and /api/v1/ipam: the same lifecycle, validation and policies as the CLI."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from dcops.core.errors import InputError
from dcops.server.context import actor, context

if TYPE_CHECKING:
    from dcops.core.site import Site
    from dcops.tenancy.model import TenancyRequest

router = APIRouter(prefix="/api/v1", tags=["tenancy"])
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/plain")


class Approval(BaseModel):
    """An approver's comment, for the history."""

    comment: str = Field(default="", max_length=2000)


class Rejection(BaseModel):
    """Why a request is rejected; the department reads it."""

    reason: str = Field(min_length=1, max_length=2000)


class Offboarding(BaseModel):
    """Why a tenancy is offboarded."""

    reason: str = Field(default="", max_length=2000)


async def _request_text(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in YAML_TYPES:
        raise InputError(
            f"请求体类型不支持 / Content-Type {kind or '(none)'!r} is not accepted; allowed: "
            "application/yaml (the request file as it is)"
        )
    body = await request.body()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("请求体不是 UTF-8 / the request file is not UTF-8 text") from None


def parse_text(request: Request, text: str, name: str) -> Any:
    """Validate a request file's text exactly as `dcops tenancy request FILE` would."""
    from dcops.core.documents import parse_yaml
    from dcops.core.errors import InvalidInput, Problem
    from dcops.tenancy.lifecycle import other_namespaces, other_peers
    from dcops.tenancy.request import parse_document, request_limits
    from dcops.tenancy.store import open_store

    site = context(request).site
    limits = request_limits(site)
    size = len(text.encode("utf-8"))
    if size > limits.file_bytes:
        raise InvalidInput(
            f"tenancy request {name} is not valid",
            [Problem(name, "", f"file is {size} bytes; the limit is {limits.file_bytes} bytes")],
        )
    doc = parse_yaml(text, name, limits)
    parsed = parse_document(doc, site)
    with open_store(site).reading() as db:
        peers, namespaces = other_peers(db, parsed.name), other_namespaces(db, parsed.name)
    return parse_document(doc, site, other_peers=peers, other_namespaces=namespaces)


def _check_policies(site: Site, parsed: TenancyRequest, source: str) -> None:
    """Refuse a request that breaks the site's mandatory policies, as the CLI does."""
    if not _stacks_installed():
        return  # the stacks extra is missing; dcops plan checks them before provisioning
    from dcops.stacks.admission import judge_request, refuse_violations

    refuse_violations(source, parsed.name, judge_request(site, parsed))


def _check_stored_policies(site: Site, ref: str) -> None:
    """Before an approval: the policies over the submitted request, refused on a violation."""
    from dcops.tenancy import states
    from dcops.tenancy.model import TenancyRequest
    from dcops.tenancy.store import find_request, open_store

    try:
        with open_store(site).reading() as db:
            record = find_request(db, ref, (states.SUBMITTED,))
            spec, name = dict(record.spec), record.name
    except InputError:
        return  # the approval itself says what is wrong with ref
    _check_policies(site, TenancyRequest.model_validate(spec), f"request {name}")


def _source(request: Request) -> str:
    given = request.query_params.get("name", "request.yml")
    return "".join(c for c in given[:100] if c.isalnum() or c in "._-/") or "request.yml"


@router.post("/tenancies/validate")
async def validate(request: Request) -> dict[str, Any]:
    """Validate a request file (YAML body) without storing it; 422 lists every problem."""
    from starlette.concurrency import run_in_threadpool

    text = await _request_text(request)
    who = actor(request)
    source = _source(request)
    # off the event loop, as for submit: a judgement waits on a worker for a tenth of a second
    # or more, and every other request would wait with it
    parsed = await run_in_threadpool(parse_text, request, text, source)
    site = context(request).site
    await run_in_threadpool(_check_policies, site, parsed, source)
    totals = parsed.totals({f.name: f for f in site.config.catalogue.flavors})
    tier = site.tier_of(parsed.department.code)
    assert tier is not None
    needed = 2 if totals.vcpus > tier.two_approvers_above_vcpus else 1
    return {"valid": True, "name": parsed.name, "approvers_needed": needed, "stored": False,
            "by": who.user}  # fmt: skip


@router.post("/tenancies", status_code=201)
async def submit(request: Request) -> list[dict[str, Any]]:
    """Submit a request file (YAML body) for approval, as its department or ops."""
    from starlette.concurrency import run_in_threadpool

    from dcops.tenancy.lifecycle import submit as submit_request

    text = await _request_text(request)
    who = actor(request)
    source, site = _source(request), context(request).site
    parsed = await run_in_threadpool(parse_text, request, text, source)
    await run_in_threadpool(_check_policies, site, parsed, source)
    done = await run_in_threadpool(submit_request, site, parsed, who)
    return [asdict(done)]


@router.get("/tenancies")
def list_requests(
    request: Request, state: str | None = None, department: str | None = None
) -> list[dict[str, Any]]:
    """Requests the caller may see, newest first."""
    from dcops.tenancy import reports
    from dcops.tenancy.states import STATES
    from dcops.tenancy.store import open_store
    from dcops.tenancy.visibility import visible_departments

    who = actor(request)
    site = context(request).site
    if state is not None and state not in STATES:
        raise InputError(f"unknown state {state[:40]!r}; allowed: {', '.join(STATES)}")
    departments = visible_departments(site, who, department)
    with open_store(site).reading() as db:
        return reports.requests(db, state, departments, site.config.site.timezone)


@router.get("/tenancies/notifications")
def notifications(request: Request) -> list[dict[str, Any]]:
    """Notifications not yet delivered, with their last error (ops and approvers)."""
    from dcops.core.identity import require_role
    from dcops.tenancy import reports
    from dcops.tenancy.store import open_store

    who = actor(request)
    require_role(who, "ops", "approver", action="handling tenancy notifications")
    site = context(request).site
    with open_store(site).reading() as db:
        return reports.undelivered(db, site.config.notifications, site.config.site.timezone)


@router.post("/tenancies/expire")
def expire(request: Request) -> list[dict[str, Any]]:
    """Mark provisioned tenancies near their expiry as expiring and notify (ops role)."""
    from dcops.tenancy.lifecycle import expire as expire_all

    return [asdict(t) for t in expire_all(context(request).site, actor(request))]


@router.get("/tenancies/{ref}")
def show(ref: str, request: Request) -> dict[str, Any]:
    """One request: what it builds, its addresses, approvals, history and policy verdicts."""
    from dcops.tenancy.model import TenancyRequest
    from dcops.tenancy.store import find_request, open_store

    info = detail_of(ref, request)
    site = context(request).site
    with open_store(site).reading() as db:
        spec = dict(find_request(db, str(info["id"])).spec)
    info["policies"] = _policies(site, TenancyRequest.model_validate(spec))
    return info


def detail_of(ref: str, request: Request) -> dict[str, Any]:
    """One request the caller may see, in full (AccessDenied for another department's)."""
    from dcops.tenancy import reports
    from dcops.tenancy.store import find_request, open_store
    from dcops.tenancy.visibility import check_visible, visible_departments

    who = actor(request)
    site = context(request).site
    visible = visible_departments(site, who, None)
    with open_store(site).reading() as db:
        record = find_request(db, ref[:100])
        check_visible(visible, record.id, record.department)
        return reports.detail(db, site, record)


def _policies(site: Site, parsed: TenancyRequest) -> list[dict[str, Any]] | None:
    """The policies' verdicts as data; None where the stacks extra is not installed."""
    if not _stacks_installed():
        return None
    from dcops.stacks.admission import judge_request, verdicts_as_data

    return verdicts_as_data(judge_request(site, parsed))


def _stacks_installed() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) is not None for m in ("pulumi_policy", "pulumi"))


@router.get("/tenancies/{ref}/plan")
def plan(ref: str, request: Request) -> dict[str, Any]:
    """What `dcops plan` shows for one request: resources, policy verdicts and the changes
    against its last snapshot; planned offline, read-only (no snapshot is saved)."""
    from dcops.stacks.admission import planning_here
    from dcops.stacks.plan import preview
    from dcops.stacks.requests import stored_request
    from dcops.tenancy.store import find_request, open_store
    from dcops.tenancy.visibility import check_visible, visible_departments

    who = actor(request)
    site = context(request).site
    visible = visible_departments(site, who, None)
    with open_store(site).reading() as db:
        record = find_request(db, ref[:100])
        check_visible(visible, record.id, record.department)
        ident, state = record.id, record.state
    found = stored_request(site, str(ident))
    with planning_here():  # one offline plan at a time in this process, judgements included
        planned = preview(site, found.spec, found.source)
    return {"request_id": ident, "state": state, "ok": planned.violations == 0,
            **planned.as_dict()}  # fmt: skip


@router.post("/tenancies/{ref}/approve")
def approve(ref: str, body: Approval, request: Request) -> list[dict[str, Any]]:
    """Approve (approver role; never one's own request; two different people above the threshold)."""
    from dcops.tenancy.lifecycle import approve as approve_request

    who = actor(request)
    site = context(request).site
    if who.has("approver"):  # others are refused by the approval itself
        _check_stored_policies(site, ref[:100])
    return [asdict(approve_request(site, ref[:100], who, comment=body.comment))]


@router.post("/tenancies/{ref}/reject")
def reject(ref: str, body: Rejection, request: Request) -> list[dict[str, Any]]:
    """Reject with a reason (approver role)."""
    from dcops.tenancy.lifecycle import reject as reject_request

    who = actor(request)
    return [asdict(reject_request(context(request).site, ref[:100], who, body.reason))]


@router.post("/tenancies/{ref}/offboard")
def offboard(ref: str, body: Offboarding, request: Request) -> list[dict[str, Any]]:
    """Offboard a tenancy (ops role); a live one waits for its stack to be destroyed."""
    from dcops.tenancy.lifecycle import offboard as offboard_tenancy

    who = actor(request)
    return [asdict(offboard_tenancy(context(request).site, ref[:100], who, reason=body.reason))]


@router.get("/ipam")
def ipam(request: Request) -> dict[str, Any]:
    """Each pool with allocated and free addresses, and the allocations by department."""
    from dcops.core.identity import require_role
    from dcops.tenancy.reports import address_report
    from dcops.tenancy.store import open_store

    who = actor(request)
    require_role(who, "ops", "approver", "auditor", action="showing address allocations")
    site = context(request).site
    with open_store(site).reading() as db:
        return address_report(db, site)
