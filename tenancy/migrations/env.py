"""Alembic environment: migrations run on the connection the tenancy store hands over."""

from __future__ import annotations

from alembic import context

from dcops.tenancy.records import Record

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Record.metadata)
with context.begin_transaction():
    context.run_migrations()
