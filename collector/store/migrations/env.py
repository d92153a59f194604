"""Alembic environment: always run by `traceglass.collector.store._migrate` on a connection it
has already opened (and locked), passed in `config.attributes["connection"]`."""

from __future__ import annotations

from alembic import context
from traceglass.collector.store._tables import metadata

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata)
with context.begin_transaction():
    context.run_migrations()
