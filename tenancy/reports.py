"""What people see of the store: request lists, one request in full, and the address pools."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Sequence
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from dcops.core.site import Notifications, Site
from dcops.tenancy import ipam
from dcops.tenancy.model import TenancyRequest
from dcops.tenancy.notifications import pending
from dcops.tenancy.records import (
    AllocationRecord,
    ApprovalRecord,
    HistoryRecord,
    OutboxRecord,
    RequestRecord,
)
from dcops.tenancy.store import active_allocations


def requests(
    session: Session,
    state: str | None = None,
    departments: Sequence[str] | None = None,
    zone: str = "UTC",
) -> list[dict[str, Any]]:
    """Requests, newest first, optionally of one state and of some departments."""
    query = select(RequestRecord).order_by(RequestRecord.id.desc())
    if state:
        query = query.where(RequestRecord.state == state)
    if departments is not None:
        query = query.where(RequestRecord.department.in_(departments))
    return [summary(session, r, zone) for r in session.scalars(query)]


def moment(value: datetime.datetime, zone: str) -> str:
    """A stored time (UTC; SQLite keeps no zone) in the site's zone, ISO 8601 with its offset."""
    aware = value if value.tzinfo else value.replace(tzinfo=datetime.UTC)
    return aware.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def summary(session: Session, record: RequestRecord, zone: str = "UTC") -> dict[str, Any]:
    """One request in a line: who asked for what, and where it stands (times in zone)."""
    approvers = list(
        session.scalars(
            select(ApprovalRecord.approver)
            .where(ApprovalRecord.request_id == record.id)
            .order_by(ApprovalRecord.id)
        )
    )
    return {
        "id": record.id,
        "name": record.name,
        "department": record.department,
        "kind": record.kind,
        "changes": record.changes,
        "state": record.state,
        "vcpus": record.vcpus,
        "approvals": f"{len(approvers)}/{record.approvals_needed}",
        "approvers": approvers,
        "requester": record.requester,
        "expires": record.expires.isoformat(),
        "submitted": moment(record.created_at, zone),
        "reason": record.reason,
    }


def detail(session: Session, site: Site, record: RequestRecord) -> dict[str, Any]:
    """A request in full: summary, plan summary, addresses, history and notifications."""
    zone = site.config.site.timezone
    request = TenancyRequest.model_validate(record.spec)
    allocations = session.scalars(
        select(AllocationRecord)
        .where(AllocationRecord.tenancy == record.name)
        .order_by(AllocationRecord.id)
    ).all()
    history = session.scalars(
        select(HistoryRecord)
        .where(HistoryRecord.request_id == record.id)
        .order_by(HistoryRecord.id)
    ).all()
    outbox = session.scalars(
        select(OutboxRecord).where(OutboxRecord.request_id == record.id).order_by(OutboxRecord.id)
    ).all()
    return {
        **summary(session, record, zone),
        "purpose": request.purpose,
        "environment": request.environment,
        "classification": request.classification,
        "plan": plan_summary(site, request),
        "addresses": [
            {
                "network": a.network,
                "cidr": a.cidr,
                "pool": a.pool,
                "released": moment(a.released_at, zone) if a.released_at else None,
            }
            for a in allocations
        ],
        "history": [
            {
                "at": moment(h.at, zone),
                "actor": h.actor,
                "from": h.from_state,
                "to": h.to_state,
                "reason": h.reason,
            }
            for h in history
        ],
        "notifications": [
            {
                "channel": o.channel,
                "state": "delivered" if o.delivered_at else "pending",
                "attempts": o.attempts,
                "error": o.last_error,
            }
            for o in outbox
        ],
    }


def plan_summary(site: Site, request: TenancyRequest) -> list[str]:
    """What provisioning the request will build, one line per part."""
    flavors = {f.name: f for f in site.config.catalogue.flavors}
    lines = []
    for group in request.compute:
        volume = f", {group.volume_gb} GB volume each" if group.volume_gb else ""
        lines.append(
            f"servers {group.name}: {group.count} × {group.flavor} ({group.image}){volume}"
        )
    lines += [f"network {n.name}: /{n.size}" for n in request.networks]
    lines += [
        f"ingress {r.protocol}/{r.port} to {r.to} from {r.source} — {r.description}"
        for r in request.ingress
    ]
    lines += [
        f"load balancer {b.name}: {b.protocol}/{b.port} → {b.members}"
        for b in request.load_balancers
    ]
    lines += [f"vpn {v.name}: {v.peer_address} ({', '.join(v.peer_cidrs)})" for v in request.vpn]
    if request.kubernetes:
        quota = request.kubernetes.quota
        lines.append(
            f"kubernetes namespace {request.kubernetes.namespace}: "
            f"cpu {quota.cpu}, memory {quota.memory}, pods {quota.pods}"
        )
    totals = request.totals(flavors)
    lines.append(
        f"totals: {totals.vcpus} vCPUs, {totals.ram_gb} GB RAM, {totals.volume_gb} GB volumes, "
        f"{totals.instances} servers"
    )
    return lines


def address_report(session: Session, site: Site) -> dict[str, Any]:
    """Each pool with what is allocated and free, and every allocation by department."""
    taken = active_allocations(session)
    networks = [ipaddress.ip_network(a.cidr) for a in taken]
    pools = []
    for pool in site.config.pools:
        inside = [
            n for n in networks if n.version == pool.network.version and n.overlaps(pool.network)
        ]
        pools.append(
            {
                "pool": pool.name,
                "cidr": pool.cidr,
                "use": pool.use,
                "environment": pool.environment,
                "blocks": len(inside),
                "allocated": sum(n.num_addresses for n in inside),
                "free": ipam.free_addresses(pool.network, inside),
            }
        )
    allocations = sorted(
        (
            {
                "department": a.department,
                "tenancy": a.tenancy,
                "network": a.network,
                "cidr": a.cidr,
                "pool": a.pool,
            }
            for a in taken
        ),
        key=lambda row: (row["department"], row["tenancy"], row["network"]),
    )
    return {"pools": pools, "allocations": allocations}


def undelivered(
    session: Session, settings: Notifications, zone: str = "UTC"
) -> list[dict[str, Any]]:
    """Notifications still waiting for delivery: attempts, whether given up, the last error."""
    return [
        {
            "id": o.id,
            "request": o.request_id,
            "channel": o.channel,
            "attempts": o.attempts,
            "state": "given up (--retry)" if o.attempts >= settings.attempts else "waiting",
            "next_attempt": moment(o.next_attempt_at, zone) if o.next_attempt_at else None,
            "error": o.last_error,
            "subject": o.subject,
        }
        for o in pending(session)
    ]
