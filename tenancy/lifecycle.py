"""The lifecycle of a tenancy request: submit, approve or reject, provision, expire, offboard.

Every transition runs in one transaction that holds the store's write lock: the state change,
its history row, any address allocation or release and the outbox rows commit together or not
at all. Notifications are delivered after the commit, so a failed delivery never loses a
transition.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import functools
import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ParamSpec, Protocol, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcops.core.errors import AccessDenied, InputError, InvalidInput, Problem
from dcops.core.identity import Actor, require_role
from dcops.core.site import Site
from dcops.tenancy import states
from dcops.tenancy.allocation_plan import blocks_to_allocate
from dcops.tenancy.department_caps import check_department_caps
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.notifications import channel_names, enqueue
from dcops.tenancy.records import AllocationRecord, ApprovalRecord, HistoryRecord, RequestRecord
from dcops.tenancy.request import today_at
from dcops.tenancy.store import Store, active_allocations, find_request, open_store


class Steps(Protocol):
    """Told when a transition reaches each step inside its transaction (for tracing and tests)."""

    def reached(self, step: str) -> None:
        """Called with the step's name: locked, allocated, recorded, committed."""


class _Quiet:
    def reached(self, step: str) -> None:
        return None


@dataclass
class Transition:
    """What one command changed: the request, its old and new state, addresses, notifications queued."""

    request_id: int
    name: str
    from_state: str | None
    to_state: str
    message: str
    allocations: list[tuple[str, str]] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # channels its notifications wait for


@dataclass
class Context:
    """What every transition needs: the site, the store and the tracer."""

    site: Site
    store: Store
    steps: Steps

    @classmethod
    def of(cls, site: Site, store: Store | None = None, steps: Steps | None = None) -> Context:
        """A context with the site's own store unless another is given."""
        return cls(site, store or open_store(site), steps or _Quiet())

    def committed(self, transitions: Sequence[Transition]) -> None:
        """After the commit: say which channels the queued notifications wait for.

        Delivery is not the command's business: `dcops tenancy notifications --deliver` does it.
        """
        self.steps.reached("committed")
        channels = sorted(channel_names(self.site))
        for transition in transitions:
            transition.queued = list(channels)


P = ParamSpec("P")
R = TypeVar("R", Transition, list[Transition])
_AUDITED_PARAMETERS = ("ref", "reason", "comment", "today")


def _audited(action: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record the transition in the audit journal: intent, then result with what changed."""

    def wrap(function: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def run(*args: P.args, **kwargs: P.kwargs) -> R:
            from dcops.audit.recorder import audited
            from dcops.tenancy.reconciliation import reconcile

            given = signature.bind(*args, **kwargs).arguments
            reconcile(given["site"], given.get("store"))
            target = f"tenancy/{_tenancy_name(given)}"
            parameters = {k: str(given[k]) for k in _AUDITED_PARAMETERS if k in given}
            with audited(
                given["site"], given["actor"], action=action, target=target, parameters=parameters
            ) as op:
                result = function(*args, **kwargs)
                done = result if isinstance(result, list) else [result]
                op.attach(
                    diff=_diff(done),
                    details={"transitions": [dataclasses.asdict(t) for t in done]},
                )
            return result

        return run

    return wrap


def _tenancy_name(given: Mapping[str, object]) -> str:
    """The tenancy an operation acts on, by name whichever way it was named (one object id)."""
    request = given.get("request")
    if isinstance(request, TenancyRequest):
        return request.name
    ref = given.get("ref")
    if not isinstance(ref, str):
        return "*"  # every tenancy the operation finds (expire)
    if ref.isdigit() and len(ref) < 19:
        store = given.get("store")
        site = given["site"]
        assert isinstance(site, Site)
        with (store if isinstance(store, Store) else open_store(site)).reading() as session:
            name = session.scalar(select(RequestRecord.name).where(RequestRecord.id == int(ref)))
        if name is not None:
            return name
    return ref


def _diff(transitions: Sequence[Transition]) -> str:
    lines = []
    for t in transitions:
        lines.append(
            f"request #{t.request_id} {t.name}: state {t.from_state or '-'} -> {t.to_state}"
        )
        sign = "-" if t.to_state == states.OFFBOARDED else "+"
        lines += [f"{sign} address {cidr} ({network})" for network, cidr in t.allocations]
    return "\n".join(lines)


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _move(
    ctx: Context,
    session: Session,
    record: RequestRecord,
    to_state: str,
    actor: Actor,
    reason: str,
) -> HistoryRecord:
    """Change a request's state, with its history row and outbox rows."""
    allowed = states.TRANSITIONS[record.state]
    if to_state not in allowed:
        raise InputError(
            f"request #{record.id} ({record.name}) is {record.state}; it cannot become {to_state} "
            f"(from {record.state} it can become: {', '.join(allowed) or 'nothing, it is final'})"
        )
    from_state, record.state = record.state, to_state
    history = _history(ctx, session, record, actor, from_state, reason)
    record.updated_at = history.at
    return history


def _history(
    ctx: Context,
    session: Session,
    record: RequestRecord,
    actor: Actor,
    from_state: str | None,
    reason: str,
) -> HistoryRecord:
    """Write the history row of the request's current state, and queue its notifications."""
    history = HistoryRecord(
        request_id=record.id,
        at=_now(),
        actor=actor.user,
        from_state=from_state,
        to_state=record.state,
        reason=reason,
    )
    session.add(history)
    session.flush()
    enqueue(session, ctx.site, record, history)
    return history


@contextlib.contextmanager
def _locked_request(
    ctx: Context, ref: str, wanted: Sequence[str]
) -> Iterator[tuple[Session, RequestRecord]]:
    """Hold the store's write lock, with the request that ref names (by name: in a wanted state)."""
    with ctx.store.writing() as session:
        ctx.steps.reached("locked")
        yield session, find_request(session, ref, wanted)


@_audited("tenancy.submit")
def submit(
    site: Site,
    request: TenancyRequest,
    actor: Actor,
    *,
    store: Store | None = None,
    steps: Steps | None = None,
) -> Transition:
    """Store a validated request as submitted: a new tenancy, or a change to a live one."""
    code = request.department.code
    if not (actor.has("ops") or actor.has(f"department:{code}")):
        raise AccessDenied(
            f"submitting a request for department {code} needs the department:{code} or ops role; "
            f"user {actor.user!r} has {', '.join(sorted(actor.roles)) or 'no roles'}"
        )
    ctx = Context.of(site, store, steps)
    tier = site.tier_of(code)
    assert tier is not None  # the request was validated against the site
    totals = request.totals({f.name: f for f in site.config.catalogue.flavors})
    with ctx.store.writing() as session:
        ctx.steps.reached("locked")
        changes = _changed_tenancy(session, request)
        _check_neighbours(session, request)
        check_department_caps(session, site, request)
        now = _now()
        record = RequestRecord(
            name=request.name,
            kind="change" if changes else "new",
            department=code,
            environment=request.environment,
            state=states.SUBMITTED,
            spec=request.model_dump(mode="json", by_alias=True, exclude_none=True),
            requester=actor.user,
            vcpus=totals.vcpus,
            approvals_needed=2 if totals.vcpus > tier.two_approvers_above_vcpus else 1,
            expires=request.expires,
            changes=changes.id if changes else None,
            created_at=now,
            updated_at=now,
        )
        session.add(record)
        session.flush()
        what = f"change of #{changes.id}" if changes else "new tenancy"
        reason = f"{what}; needs {record.approvals_needed} approver(s)"
        history = _history(ctx, session, record, actor, None, reason)
        ctx.steps.reached("recorded")
        result = Transition(record.id, record.name, None, states.SUBMITTED, history.reason)
    ctx.committed([result])
    return result


def _changed_tenancy(session: Session, request: TenancyRequest) -> RequestRecord | None:
    """The live request this one changes, if any; refuse while another request is pending."""
    same = list(
        session.scalars(
            select(RequestRecord)
            .where(RequestRecord.name == request.name)
            .where(RequestRecord.state.in_((*states.PENDING, *states.LIVE, states.OFFBOARDING)))
        )
    )
    for other in same:
        if other.department != request.department.code:
            raise InputError(
                f"tenancy name {request.name!r} belongs to department {other.department}; "
                "choose another name"
            )
        if other.state in (*states.PENDING, states.OFFBOARDING):
            raise InputError(
                f"request #{other.id} for {request.name} is already {other.state}; wait until it "
                "is provisioned, or ask an approver to reject it, before submitting another"
            )
    live = next((r for r in same if r.state in states.LIVE), None)
    if live is not None:
        _check_network_change(live, request)
    return live


def _check_network_change(live: RequestRecord, request: TenancyRequest) -> None:
    networks = live.spec.get("networks", [])
    wanted = {n.name: n.size for n in request.networks}
    problems = []
    for network in networks if isinstance(networks, list) else []:
        name, size = network["name"], network["size"]
        if wanted.get(name) != size:
            problems.append(
                Problem(
                    "request",
                    "networks",
                    f"network {name} (/{size}) of #{live.id} must stay as it is in a change; "
                    "allowed: add networks, change compute, quotas and expiry",
                )
            )
    if problems:
        raise InvalidInput(f"change of tenancy {request.name} is not valid", problems)


def _check_neighbours(session: Session, request: TenancyRequest) -> None:
    """VPN peers and the Kubernetes namespace must not be another pending or live tenancy's."""
    from dcops.core.documents import dotted
    from dcops.tenancy.validation import namespace_taken, peer_overlaps

    found = list(peer_overlaps(request, None, other_peers(session, request.name)))
    found += namespace_taken(request, other_namespaces(session, request.name))
    if found:
        problems = [Problem("request", dotted(loc), message) for loc, message in found]
        raise InvalidInput(f"tenancy request {request.name} is not valid", problems)


def other_peers(session: Session, name: str) -> list[tuple[str, str]]:
    """(tenancy, peer CIDR) of every other tenancy that is pending or live."""
    return [
        (tenancy, peer)
        for tenancy, vpn in _others_part(session, name, "vpn")
        for peer in _peers(vpn)
    ]


def other_namespaces(session: Session, name: str) -> list[tuple[str, str]]:
    """(tenancy, Kubernetes namespace) of every other tenancy that is pending or live."""
    return [
        (tenancy, str(kubernetes["namespace"]))
        for tenancy, kubernetes in _others_part(session, name, "kubernetes")
        if isinstance(kubernetes, dict) and kubernetes.get("namespace")
    ]


def _others_part(session: Session, name: str, part: str) -> list[tuple[str, object]]:
    """(tenancy, one top-level part of its spec) of every other pending or live tenancy."""
    # Only that part is read from the store, not whole records: every submit asks this of
    # every held tenancy, and decoding whole specs made a submit's cost grow with the store.
    held = (states.SUBMITTED, *states.HOLDS_ADDRESSES)
    rows = session.execute(
        select(RequestRecord.name, RequestRecord.spec[part])
        .where(RequestRecord.state.in_(held))
        .where(RequestRecord.name != name)
    )
    return [(tenancy, value) for tenancy, value in rows]


def _peers(vpn: object) -> Iterator[str]:
    for peer in vpn if isinstance(vpn, list) else []:
        cidrs = peer.get("peer_cidrs", []) if isinstance(peer, dict) else []
        yield from (str(c) for c in cidrs)


@_audited("tenancy.approve")
def approve(
    site: Site,
    ref: str,
    actor: Actor,
    *,
    comment: str = "",
    store: Store | None = None,
    steps: Steps | None = None,
) -> Transition:
    """Record an approval; the last one needed approves the request and allocates its networks."""
    require_role(actor, "approver", action="approving a tenancy request")
    ctx = Context.of(site, store, steps)
    with _locked_request(ctx, ref, (states.SUBMITTED,)) as (session, record):
        _check_approver(session, record, actor)
        session.add(ApprovalRecord(request_id=record.id, approver=actor.user, at=_now()))
        session.flush()
        count = len(_approvers(session, record.id))
        note = f"approval {count} of {record.approvals_needed} by {actor.user}"
        note += f": {comment}" if comment else ""
        if count < record.approvals_needed:
            _history(ctx, session, record, actor, record.state, note)
            ctx.steps.reached("recorded")
            result = Transition(record.id, record.name, record.state, record.state, note)
        else:
            blocks = _allocate(session, site, record)
            ctx.steps.reached("allocated")
            _move(ctx, session, record, states.APPROVED, actor, note)
            ctx.steps.reached("recorded")
            result = Transition(
                record.id, record.name, states.SUBMITTED, states.APPROVED, note, blocks
            )
    ctx.committed([result])
    return result


def _approvers(session: Session, request_id: int) -> list[str]:
    return list(
        session.scalars(
            select(ApprovalRecord.approver).where(ApprovalRecord.request_id == request_id)
        )
    )


def _check_submitted(record: RequestRecord) -> None:
    if record.state != states.SUBMITTED:
        raise InputError(f"request #{record.id} ({record.name}) is {record.state}, not submitted")


def _check_approver(session: Session, record: RequestRecord, actor: Actor) -> None:
    _check_submitted(record)
    if actor.user == record.requester:
        raise AccessDenied(
            f"{actor.user} submitted request #{record.id} and cannot approve it; "
            "another approver must"
        )
    if actor.user in _approvers(session, record.id):
        raise AccessDenied(
            f"{actor.user} has already approved request #{record.id}; it needs "
            f"{record.approvals_needed} distinct approvers"
        )


def _allocate(session: Session, site: Site, record: RequestRecord) -> list[tuple[str, str]]:
    """Allocate a block for each network the tenancy does not hold yet."""
    blocks = blocks_to_allocate(session, site, record)
    now = _now()
    for block in blocks:
        session.add(
            AllocationRecord(
                tenancy=record.name,
                request_id=record.id,
                department=record.department,
                network=block.network,
                pool=block.pool,
                cidr=block.cidr,
                allocated_at=now,
            )
        )
    session.flush()
    return [(b.network, b.cidr) for b in blocks]


@_audited("tenancy.reject")
def reject(
    site: Site,
    ref: str,
    actor: Actor,
    reason: str,
    *,
    store: Store | None = None,
) -> Transition:
    """Reject a submitted request, saying why."""
    require_role(actor, "approver", action="rejecting a tenancy request")
    if not reason.strip():
        raise InputError("a rejection needs a reason (--reason TEXT) that the department will read")
    ctx = Context.of(site, store)
    with _locked_request(ctx, ref, (states.SUBMITTED,)) as (session, record):
        _check_submitted(record)
        record.reason = reason
        _move(ctx, session, record, states.REJECTED, actor, reason)
        result = Transition(record.id, record.name, states.SUBMITTED, states.REJECTED, reason)
    ctx.committed([result])
    return result


@_audited("tenancy.provisioned")
def mark_provisioned(
    site: Site,
    ref: str,
    actor: Actor,
    *,
    store: Store | None = None,
) -> Transition:
    """Record that `dcops provision` built the approved request; a change supersedes the old one."""
    require_role(actor, "ops", action="marking a tenancy provisioned")
    ctx = Context.of(site, store)
    results = []
    with _locked_request(ctx, ref, (states.APPROVED,)) as (session, record):
        if record.changes is not None:
            old = session.get(RequestRecord, record.changes)
            if old is not None and old.state in states.LIVE:
                reason = f"superseded by change #{record.id}"
                was = old.state
                _move(ctx, session, old, states.SUPERSEDED, actor, reason)
                results.append(Transition(old.id, old.name, was, states.SUPERSEDED, reason))
        previous = record.state
        _move(ctx, session, record, states.PROVISIONED, actor, "provisioned by dcops provision")
        results.append(
            Transition(record.id, record.name, previous, states.PROVISIONED, "provisioned")
        )
    ctx.committed(results)
    return results[-1]


@_audited("tenancy.offboard")
def offboard(
    site: Site,
    ref: str,
    actor: Actor,
    *,
    reason: str = "",
    store: Store | None = None,
) -> Transition:
    """Offboard a tenancy: never provisioned → released now; live → offboarding until destroyed."""
    require_role(actor, "ops", action="offboarding a tenancy")
    ctx = Context.of(site, store)
    results = []
    with _locked_request(ctx, ref, (states.APPROVED, *states.LIVE)) as (session, record):
        if record.state == states.APPROVED and record.changes is not None:
            raise InputError(
                f"request #{record.id} is an approved change of #{record.changes}; "
                f"offboard the tenancy ({record.name}) instead"
            )
        why = reason or "offboarded"
        if record.state == states.APPROVED:
            released = _release(session, record.name)
            _move(ctx, session, record, states.OFFBOARDED, actor, why)
            results.append(
                Transition(
                    record.id, record.name, states.APPROVED, states.OFFBOARDED, why, released
                )
            )
        else:
            previous = record.state
            results += _cancel_changes(ctx, session, record, actor)
            _move(ctx, session, record, states.OFFBOARDING, actor, why)
            results.append(
                Transition(
                    record.id,
                    record.name,
                    previous,
                    states.OFFBOARDING,
                    f"run `dcops destroy {record.name}`; addresses are released once it is destroyed",
                )
            )
    ctx.committed(results)
    return results[-1]


def _cancel_changes(
    ctx: Context, session: Session, record: RequestRecord, actor: Actor
) -> list[Transition]:
    results = []
    changes = session.scalars(
        select(RequestRecord)
        .where(RequestRecord.changes == record.id)
        .where(RequestRecord.state.in_(states.PENDING))
    ).all()
    for change in changes:
        reason = f"tenancy {record.name} is being offboarded"
        previous = change.state
        if previous == states.APPROVED:
            _release_of_request(session, change.id)
        change.reason = reason
        _move(ctx, session, change, states.REJECTED, actor, reason)
        results.append(Transition(change.id, change.name, previous, states.REJECTED, reason))
    return results


@_audited("tenancy.destroyed")
def mark_destroyed(
    site: Site,
    ref: str,
    actor: Actor,
    *,
    store: Store | None = None,
) -> Transition:
    """Record that `dcops destroy` removed an offboarding tenancy, and release its addresses."""
    require_role(actor, "ops", action="marking a tenancy destroyed")
    ctx = Context.of(site, store)
    with _locked_request(ctx, ref, (states.OFFBOARDING,)) as (session, record):
        released = _release(session, record.name)
        _move(ctx, session, record, states.OFFBOARDED, actor, "destroyed; addresses released")
        result = Transition(
            record.id, record.name, states.OFFBOARDING, states.OFFBOARDED, "destroyed", released
        )
    ctx.committed([result])
    return result


def _release(session: Session, tenancy: str) -> list[tuple[str, str]]:
    now = _now()
    released = []
    for allocation in active_allocations(session):
        if allocation.tenancy == tenancy:
            allocation.released_at = now
            released.append((allocation.network, allocation.cidr))
    session.flush()
    return released


def _release_of_request(session: Session, request_id: int) -> None:
    now = _now()
    for allocation in active_allocations(session):
        if allocation.request_id == request_id:
            allocation.released_at = now
    session.flush()


@_audited("tenancy.expire")
def expire(
    site: Site,
    actor: Actor,
    *,
    today: datetime.date | None = None,
    store: Store | None = None,
) -> list[Transition]:
    """Mark provisioned tenancies within the notice period as expiring; safe to run repeatedly."""
    require_role(actor, "ops", action="expiring tenancies")
    ctx = Context.of(site, store)
    day = today or today_at(site)
    horizon = day + datetime.timedelta(days=site.config.notifications.expiring_days)
    results = []
    with ctx.store.writing() as session:
        due = session.scalars(
            select(RequestRecord)
            .where(RequestRecord.state == states.PROVISIONED)
            .where(RequestRecord.expires <= horizon)
            .order_by(RequestRecord.id)
        ).all()
        for record in due:
            left = (record.expires - day).days
            when = f"in {left} days" if left >= 0 else f"{-left} days ago"
            reason = f"expires {record.expires} ({when}); submit a change to extend or offboard it"
            _move(ctx, session, record, states.EXPIRING, actor, reason)
            results.append(
                Transition(record.id, record.name, states.PROVISIONED, states.EXPIRING, reason)
            )
    ctx.committed(results)
    return results
