"""No index of span_attributes by span_pk on SQLite.

It served one purpose, finding a deleted span's attribute rows, and cost every write: an entry per
attribute row, in span order while the rows go in by key and value, about a seventh of the
writer's time on SQLite. A delete there finds the rows through the attribute index, by key and
the span's bucket (see _store._delete_spans). PostgreSQL keeps the index: its planner scans the
whole table for that query.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_INDEX = "ix_span_attributes_span_pk"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.drop_index(_INDEX, table_name="span_attributes")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.create_index(_INDEX, "span_attributes", ["span_pk"])
