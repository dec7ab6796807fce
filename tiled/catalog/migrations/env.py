"""Alembic environment: migrations always run on a connection handed over by tiled."""

from __future__ import annotations

from alembic import context

from tiled.catalog.orm import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("Run catalog migrations through tiled.catalog.database, not alembic")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
