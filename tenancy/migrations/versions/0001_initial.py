"""The first schema: requests, history, approvals, allocations and the outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the tables."""
    op.create_table(
        "requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False, index=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=False, index=True),
        sa.Column("environment", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("requester", sa.String(128), nullable=False),
        sa.Column("vcpus", sa.Integer, nullable=False),
        sa.Column("approvals_needed", sa.Integer, nullable=False),
        sa.Column("expires", sa.Date, nullable=False),
        sa.Column("changes", sa.Integer, sa.ForeignKey("requests.id"), nullable=True),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("updated_at", _WHEN, nullable=False),
    )
    op.create_table(
        "history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False, index=True
        ),
        sa.Column("at", _WHEN, nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("from_state", sa.String(16), nullable=True),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False, index=True
        ),
        sa.Column("approver", sa.String(128), nullable=False),
        sa.Column("at", _WHEN, nullable=False),
        sa.UniqueConstraint("request_id", "approver"),
    )
    op.create_table(
        "allocations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("tenancy", sa.String(64), nullable=False, index=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("network", sa.String(64), nullable=False),
        sa.Column("pool", sa.String(64), nullable=False),
        sa.Column("cidr", sa.String(64), nullable=False),
        sa.Column("allocated_at", _WHEN, nullable=False),
        sa.Column("released_at", _WHEN, nullable=True),
    )
    op.create_index(
        "allocations_active_cidr",
        "allocations",
        ["cidr"],
        unique=True,
        sqlite_where=sa.text("released_at IS NULL"),
        postgresql_where=sa.text("released_at IS NULL"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "request_id", sa.Integer, sa.ForeignKey("requests.id"), nullable=False, index=True
        ),
        sa.Column("history_id", sa.Integer, sa.ForeignKey("history.id"), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("recipients", sa.JSON, nullable=False),
        sa.Column("subject", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text, nullable=True),
        sa.Column("created_at", _WHEN, nullable=False),
        sa.Column("delivered_at", _WHEN, nullable=True, index=True),
    )


def downgrade() -> None:
    """Drop the tables."""
    for table in ("outbox", "allocations", "approvals", "history", "requests"):
        op.drop_table(table)
