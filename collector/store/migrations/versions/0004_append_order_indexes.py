"""Indexes that new spans append to, and no index rows for content attributes.

Trace ids are random, so an index ordered by (value, trace_id) takes each new span's entry on a
random page, and on a large store every batch rewrote thousands of pages. Ordered by the span's
id (which ascends) before the trace id, a value's new entries go on its last pages. Content
attributes (prompts, completions, tool arguments and results: nearly every value unique) leave
span_attributes; filters on them read the spans' attributes.

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# The keys traceglass.collector.store._rows.CONTENT_KEYS names at this revision.
_CONTENT_KEYS = (
    "traceglass.span.inputs",
    "traceglass.span.outputs",
    "gen_ai.system_instructions",
    "gen_ai.input.messages",
    "gen_ai.output.messages",
    "gen_ai.tool.call.arguments",
    "gen_ai.tool.call.result",
    "gen_ai.retrieval.query.text",
    "gen_ai.retrieval.documents",
)
_NUMBERS = "value_number IS NOT NULL"


def _keys() -> str:
    return ", ".join(f"'{key}'" for key in _CONTENT_KEYS)


def upgrade() -> None:
    op.drop_index("ix_spans_name_trace_id", table_name="spans")
    op.drop_index("ix_spans_span_type_trace_id", table_name="spans")
    op.drop_index("ix_span_attributes_key_value_trace_id", table_name="span_attributes")
    op.drop_index("ix_span_attributes_key_value_number_trace_id", table_name="span_attributes")
    op.execute(f"DELETE FROM span_attributes WHERE key IN ({_keys()})")
    op.create_index("ix_spans_name_id_trace_id", "spans", ["name", "id", "trace_id"])
    op.create_index("ix_spans_span_type_id_trace_id", "spans", ["span_type", "id", "trace_id"])
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


def downgrade() -> None:
    op.drop_index("ix_span_attributes_key_value_number_span_pk_trace_id", table_name="span_attributes")
    op.drop_index("ix_span_attributes_key_value_span_pk_trace_id", table_name="span_attributes")
    op.drop_index("ix_spans_span_type_id_trace_id", table_name="spans")
    op.drop_index("ix_spans_name_id_trace_id", table_name="spans")
    # The content attributes' rows again, from the spans (short string values, as 0003 kept them).
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "INSERT INTO span_attributes (span_pk, trace_id, key, value) "
            "SELECT s.id, s.trace_id, a.key, a.value FROM spans AS s, json_each_text(CAST(s.attributes AS json)) AS a "
            f"WHERE a.key IN ({_keys()}) AND json_typeof(CAST(s.attributes AS json) -> a.key) = 'string' "
            "AND length(a.value) <= 256"
        )
    else:
        op.execute(
            "INSERT INTO span_attributes (span_pk, trace_id, key, value) "
            "SELECT s.id, s.trace_id, a.key, a.value FROM spans AS s, json_each(s.attributes) AS a "
            f"WHERE a.key IN ({_keys()}) AND a.type = 'text' AND length(a.value) <= 256"
        )
    op.create_index("ix_spans_name_trace_id", "spans", ["name", "trace_id"])
    op.create_index("ix_spans_span_type_trace_id", "spans", ["span_type", "trace_id"])
    op.create_index("ix_span_attributes_key_value_trace_id", "span_attributes", ["key", "value", "trace_id"])
    op.create_index(
        "ix_span_attributes_key_value_number_trace_id",
        "span_attributes",
        ["key", "value_number", "trace_id"],
        sqlite_where=sa.text(_NUMBERS),
        postgresql_where=sa.text(_NUMBERS),
    )
