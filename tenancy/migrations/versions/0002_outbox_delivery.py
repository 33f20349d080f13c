"""The outbox gets a delivery schedule and claims, so separate deliverers never send twice.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Add when to try next, who holds the message and until when."""
    op.add_column("outbox", sa.Column("next_attempt_at", _WHEN, nullable=True))
    op.add_column("outbox", sa.Column("claimed_by", sa.String(128), nullable=True))
    op.add_column("outbox", sa.Column("claimed_until", _WHEN, nullable=True))


def downgrade() -> None:
    """Drop the delivery columns."""
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
        batch.drop_column("next_attempt_at")
