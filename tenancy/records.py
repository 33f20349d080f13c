"""The tenancy store's tables: requests, their history and approvals, allocations, the outbox."""

from __future__ import annotations

import datetime

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Record(DeclarativeBase):
    """Base of the store's tables."""


class RequestRecord(Record):
    """One submitted request: a new tenancy or a change to a provisioned one."""

    __tablename__ = "requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(64), index=True)
    environment: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), index=True)
    spec: Mapped[dict[str, object]] = mapped_column(JSON)
    requester: Mapped[str] = mapped_column(String(128))
    vcpus: Mapped[int] = mapped_column(Integer)
    approvals_needed: Mapped[int] = mapped_column(Integer)
    expires: Mapped[datetime.date] = mapped_column(Date)
    changes: Mapped[int | None] = mapped_column(ForeignKey("requests.id"), nullable=True)
    reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class HistoryRecord(Record):
    """One state change of a request: who, when, from what to what, and why."""

    __tablename__ = "history"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    actor: Mapped[str] = mapped_column(String(128))
    from_state: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text, default="")


class ApprovalRecord(Record):
    """One approver's approval of a request."""

    __tablename__ = "approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    approver: Mapped[str] = mapped_column(String(128))
    at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))


class AllocationRecord(Record):
    """An address block held by a tenancy's network until it is released."""

    __tablename__ = "allocations"
    __table_args__ = (
        Index(
            "allocations_active_cidr",
            "cidr",
            unique=True,
            sqlite_where=text("released_at IS NULL"),
            postgresql_where=text("released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    tenancy: Mapped[str] = mapped_column(String(64), index=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"))
    department: Mapped[str] = mapped_column(String(64))
    network: Mapped[str] = mapped_column(String(64))
    pool: Mapped[str] = mapped_column(String(64))
    cidr: Mapped[str] = mapped_column(String(64))
    allocated_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    released_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )


class OutboxRecord(Record):
    """A notification written with its transition and kept until delivered."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("requests.id"), index=True)
    history_id: Mapped[int] = mapped_column(ForeignKey("history.id"))
    channel: Mapped[str] = mapped_column(String(16))
    recipients: Mapped[list[str]] = mapped_column(JSON)
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime.datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True, index=True
    )
    next_attempt_at: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
    claimed_by: Mapped[str | None] = mapped_column(String(128), nullable=True)
    claimed_until: Mapped[datetime.datetime | None] = mapped_column(
        DateTime(timezone=True), nullable=True
    )
