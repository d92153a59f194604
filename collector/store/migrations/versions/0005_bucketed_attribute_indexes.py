"""Attribute indexes ordered by key, then the span's bucket (span_pk >> 13), then the value;
no foreign key from span_attributes to spans.

Ordered by (key, value, ...), each distinct value a batch brings (a response id, a tool call id,
a token count) is an entry on its own page somewhere in the key's range: on a large store a
batch rewrote thousands of index pages, and the commit copied each one to the write-ahead log and
again into the database. With the bucket of 8,192 consecutive span ids before the value, a
batch's rows land on the last pages of each key's newest bucket. Lookups seek each bucket.

The foreign key cost the writer a seek of spans for every attribute row it inserted, for a span
it had just inserted itself; the store deletes attribute rows with their spans instead of
cascading. SQLite cannot drop a constraint: the table is copied (rows only: the indexes are
built after the copy).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_NUMBERS = "value_number IS NOT NULL"
_BUCKET = "(span_pk >> 13)"


_FOREIGN_KEY = "fk_span_attributes_span_pk_spans"
_ATTRIBUTE_INDEX = "ix_span_attributes_key_bucket_value_span_pk_trace_id"
_NUMBER_INDEX = "ix_span_attributes_key_bucket_value_number_span_pk_trace_id"
# BigInteger with the INTEGER variant on SQLite, as in 0001.
_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.drop_index("ix_span_attributes_key_value_span_pk_trace_id", table_name="span_attributes")
    op.drop_index("ix_span_attributes_key_value_number_span_pk_trace_id", table_name="span_attributes")
    if op.get_bind().dialect.name == "sqlite":
        _copy_table(foreign_key=False)
    else:
        op.drop_constraint(_FOREIGN_KEY, "span_attributes", type_="foreignkey")
    op.create_index(_ATTRIBUTE_INDEX, "span_attributes", ["key", sa.text(_BUCKET), "value", "span_pk", "trace_id"])
    op.create_index(
        _NUMBER_INDEX,
        "span_attributes",
        ["key", sa.text(_BUCKET), "value_number", "span_pk", "trace_id"],
        sqlite_where=sa.text(_NUMBERS),
        postgresql_where=sa.text(_NUMBERS),
    )


def downgrade() -> None:
    op.drop_index(_NUMBER_INDEX, table_name="span_attributes")
    op.drop_index(_ATTRIBUTE_INDEX, table_name="span_attributes")
    if op.get_bind().dialect.name == "sqlite":
        _copy_table(foreign_key=True)
    else:
        # Rows of spans deleted since the upgrade would fail the constraint.
        op.execute("DELETE FROM span_attributes WHERE span_pk NOT IN (SELECT id FROM spans)")
        op.create_foreign_key(_FOREIGN_KEY, "span_attributes", "spans", ["span_pk"], ["id"], ondelete="CASCADE")
    op.create_index(
        "ix_span_attributes_key_value_span_pk_trace_id", "span_attributes", ["key", "value", "span_pk", "trace_id"]
    )
    op.create_index(
        "ix_span_attributes_key_value_number_span_pk_trace_id",
        "span_attributes",
        ["key", "value_number", "span_pk", "trace_id"],
        sqlite_where=sa.text(_NUMBERS),
        postgresql_where=sa.text(_NUMBERS),
    )


def _copy_table(*, foreign_key: bool) -> None:
    """span_attributes again, with or without its foreign key, rows copied, span_pk index only."""
    op.drop_index("ix_span_attributes_span_pk", table_name="span_attributes")
    constraints = (
        [sa.ForeignKeyConstraint(["span_pk"], ["spans.id"], name=_FOREIGN_KEY, ondelete="CASCADE")]
        if foreign_key
        else []
    )
    op.create_table(
        "span_attributes_copy",
        sa.Column("span_pk", _Id, nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("value_number", sa.Double),
        *constraints,
    )
    columns = "span_pk, trace_id, key, value, value_number"
    source = "span_attributes"
    if foreign_key:  # rows of spans deleted since the upgrade would fail the constraint
        source += " WHERE span_pk IN (SELECT id FROM spans)"
    op.execute(f"INSERT INTO span_attributes_copy ({columns}) SELECT {columns} FROM {source}")
    op.drop_table("span_attributes")
    op.rename_table("span_attributes_copy", "span_attributes")
    op.create_index("ix_span_attributes_span_pk", "span_attributes", ["span_pk"])
