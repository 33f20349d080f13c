"""The states of a tenancy request and the transitions between them."""

from __future__ import annotations

SUBMITTED = "submitted"
APPROVED = "approved"
REJECTED = "rejected"
PROVISIONED = "provisioned"
EXPIRING = "expiring"
OFFBOARDING = "offboarding"
OFFBOARDED = "offboarded"
SUPERSEDED = "superseded"

STATE_TITLES = {
    SUBMITTED: "已提交 submitted",
    APPROVED: "已批准 approved",
    REJECTED: "已驳回 rejected",
    PROVISIONED: "已开通 provisioned",
    EXPIRING: "即将到期 expiring",
    OFFBOARDING: "待销毁 offboarding",
    OFFBOARDED: "已下线 offboarded",
    SUPERSEDED: "已被变更取代 superseded",
}
STATES = tuple(STATE_TITLES)

TRANSITIONS: dict[str, tuple[str, ...]] = {
    SUBMITTED: (APPROVED, REJECTED),
    APPROVED: (PROVISIONED, OFFBOARDED, REJECTED),
    PROVISIONED: (EXPIRING, OFFBOARDING, SUPERSEDED),
    EXPIRING: (OFFBOARDING, SUPERSEDED),
    OFFBOARDING: (OFFBOARDED,),
    REJECTED: (),
    OFFBOARDED: (),
    SUPERSEDED: (),
}

LIVE = (PROVISIONED, EXPIRING)
"""States of a tenancy that exists in the cloud and can be changed."""

HOLDS_ADDRESSES = (APPROVED, PROVISIONED, EXPIRING, OFFBOARDING)
"""States whose networks hold allocated address blocks."""

PENDING = (SUBMITTED, APPROVED)
"""States of a request that has not yet reached the cloud."""
