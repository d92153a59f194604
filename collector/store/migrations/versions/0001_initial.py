"""The initial schema: experiments, resources, traces with tags and metadata, spans with their
indexed attributes, and the full-text index of spans (FTS5 words on SQLite, pg_trgm on
PostgreSQL).

Written out in full rather than derived from `_tables.py`, so that this revision keeps creating
the same schema when the tables evolve in later revisions.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("experiment_id", _Id, autoincrement=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("created_ms", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("experiment_id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "resources",
        sa.Column("resource_id", _Id, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("schema_url", sa.Text),
        sa.PrimaryKeyConstraint("resource_id", name="pk_resources"),
        sa.UniqueConstraint("digest", name="uq_resources_digest"),
    )
    op.create_table(
        "traces",
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("experiment_id", _Id, nullable=False),
        sa.Column("timestamp_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger),
        sa.Column("execution_time_ms", sa.BigInteger),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("name", sa.Text),
        sa.Column("request_preview", sa.Text),
        sa.Column("response_preview", sa.Text),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("total_tokens", sa.BigInteger),
        sa.Column("session_id", sa.String(256)),
        sa.Column("user_id", sa.String(256)),
        sa.Column("span_count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("trace_id", name="pk_traces"),
        sa.ForeignKeyConstraint(
            ["experiment_id"],
            ["experiments.experiment_id"],
            name="fk_traces_experiment_id_experiments",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_traces_experiment_id_timestamp_ms", "traces", ["experiment_id", "timestamp_ms"])
    op.create_index("ix_traces_timestamp_ms", "traces", ["timestamp_ms"])
    op.create_index("ix_traces_experiment_id_execution_time_ms", "traces", ["experiment_id", "execution_time_ms"])
    op.create_index(
        "ix_traces_experiment_id_status_timestamp_ms", "traces", ["experiment_id", "status", "timestamp_ms"]
    )
    op.create_index("ix_traces_experiment_id_name", "traces", ["experiment_id", "name"])
    op.create_index("ix_traces_session_id", "traces", ["session_id"])
    op.create_index("ix_traces_user_id", "traces", ["user_id"])

    for table in ("trace_tags", "trace_metadata"):
        op.create_table(
            table,
            sa.Column("trace_id", sa.String(32), nullable=False),
            sa.Column("key", sa.String(256), nullable=False),
            sa.Column("value", sa.Text, nullable=False),
            sa.PrimaryKeyConstraint("trace_id", "key", name=f"pk_{table}"),
            sa.ForeignKeyConstraint(
                ["trace_id"], ["traces.trace_id"], name=f"fk_{table}_trace_id_traces", ondelete="CASCADE"
            ),
        )
        op.create_index(f"ix_{table}_key_value", table, ["key", "value"])

    op.create_table(
        "spans",
        sa.Column("id", _Id, autoincrement=True),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("span_id", sa.String(16), nullable=False),
        sa.Column("parent_span_id", sa.String(16)),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("start_ns", sa.BigInteger, nullable=False),
        sa.Column("end_ns", sa.BigInteger, nullable=False),
        sa.Column("status_code", sa.String(8), nullable=False),
        sa.Column("status_message", sa.Text),
        sa.Column("span_type", sa.String(64)),
        sa.Column("experiment_id", _Id, nullable=False),
        sa.Column("input_tokens", sa.BigInteger),
        sa.Column("output_tokens", sa.BigInteger),
        sa.Column("attributes", sa.Text, nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("links", sa.Text, nullable=False),
        sa.Column("resource_id", _Id),
        sa.Column("scope_name", sa.Text),
        sa.Column("scope_version", sa.Text),
        sa.Column("scope_schema_url", sa.Text),
        sa.Column("scope_attributes", sa.Text),
        sa.Column("trace_state", sa.Text),
        sa.Column("flags", sa.Integer),
        sa.Column("dropped_attributes_count", sa.Integer, nullable=False),
        sa.Column("dropped_events_count", sa.Integer, nullable=False),
        sa.Column("dropped_links_count", sa.Integer, nullable=False),
        sa.Column("content_text", sa.Text, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_spans"),
        sa.UniqueConstraint("trace_id", "span_id", name="uq_spans_trace_id_span_id"),
        sa.ForeignKeyConstraint(["resource_id"], ["resources.resource_id"], name="fk_spans_resource_id_resources"),
    )
    op.create_index("ix_spans_name_trace_id", "spans", ["name", "trace_id"])
    op.create_index("ix_spans_span_type_trace_id", "spans", ["span_type", "trace_id"])

    op.create_table(
        "span_attributes",
        sa.Column("span_pk", _Id, nullable=False),
        sa.Column("trace_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("value_number", sa.Double),
        sa.ForeignKeyConstraint(["span_pk"], ["spans.id"], name="fk_span_attributes_span_pk_spans", ondelete="CASCADE"),
    )
    op.create_index("ix_span_attributes_key_value_trace_id", "span_attributes", ["key", "value", "trace_id"])
    op.create_index(
        "ix_span_attributes_key_value_number_trace_id",
        "span_attributes",
        ["key", "value_number", "trace_id"],
        sqlite_where=sa.text("value_number IS NOT NULL"),
        postgresql_where=sa.text("value_number IS NOT NULL"),
    )
    op.create_index("ix_span_attributes_span_pk", "span_attributes", ["span_pk"])

    if op.get_bind().dialect.name == "sqlite":
        _create_sqlite_full_text()
    else:
        _create_postgresql_full_text()


def _create_sqlite_full_text() -> None:
    # An external-content FTS5 table: the text lives once, in spans.content_text; the index maps
    # words to spans.id. Words rather than trigrams: indexing was most of the cost of writing a
    # span, and GenAI content (JSON messages) has about eight times fewer words than trigrams.
    # A LIKE pattern is looked up by the words it contains (the query compiler turns it into a
    # MATCH) and each candidate span's text is then checked against the exact pattern, so the
    # index keeps only which spans hold each word (detail=none: no positions; columnsize=0: no lengths, there is
    # no ranking). Segments are merged in larger steps (automerge=8) for the same reason.
    op.execute(
        "CREATE VIRTUAL TABLE span_text USING fts5(content_text, content='spans', content_rowid='id',"
        " tokenize='unicode61 remove_diacritics 2', detail=none, columnsize=0)"
    )
    op.execute("INSERT INTO span_text(span_text, rank) VALUES ('automerge', 8)")
    # No AFTER INSERT trigger: FTS5 flushes its pending terms at every statement a trigger runs
    # in, so indexing span by span costs three times more than one INSERT INTO span_text ...
    # SELECT per batch, which is what the store's writer runs after inserting a batch's spans.
    op.execute(
        "CREATE TRIGGER spans_text_delete AFTER DELETE ON spans BEGIN "
        "INSERT INTO span_text(span_text, rowid, content_text) VALUES ('delete', old.id, old.content_text); END"
    )
    op.execute(
        "CREATE TRIGGER spans_text_update AFTER UPDATE OF content_text ON spans BEGIN "
        "INSERT INTO span_text(span_text, rowid, content_text) VALUES ('delete', old.id, old.content_text); "
        "INSERT INTO span_text(rowid, content_text) VALUES (new.id, new.content_text); END"
    )


def _create_postgresql_full_text() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE INDEX ix_spans_content_text_trgm ON spans USING gin (content_text gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for trigger in ("spans_text_update", "spans_text_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS span_text")
    for table in ("span_attributes", "spans", "trace_metadata", "trace_tags", "traces", "resources", "experiments"):
        op.drop_table(table)
