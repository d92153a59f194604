"""The store's schema, as SQLAlchemy Core tables. Alembic migrations create and evolve it.

Designed for the queries the UI, the query API and `search_traces()` run: a page of traces of
one experiment sorted by time, duration, name or status, filtered by tags, metadata, span names,
span types, span attributes and full text. Everything a list page shows lives on `traces`, so a
page is one indexed range scan with no join. A span's indexable attributes (short scalar values)
are copied into `span_attributes` so that an attribute filter is an index lookup rather than a
JSON scan of every span. Full text goes through an index of each span's searchable text (FTS5
word tokens on SQLite, pg_trgm on PostgreSQL; both created by the migrations).

JSON documents (attributes, events, links, resources) are stored as text: identical on both
databases, written once and read whole.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import (
    BigInteger,
    Column,
    Double,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    literal_column,
    text,
)
from sqlalchemy.sql.elements import ColumnElement

__all__ = [
    "experiments",
    "metadata",
    "otlp_requests",
    "resources",
    "span_attributes",
    "span_bucket",
    "spans",
    "trace_metadata",
    "trace_tags",
    "traces",
]

# SQLite only auto-increments an INTEGER PRIMARY KEY; BIGINT elsewhere.
_Id = BigInteger().with_variant(Integer(), "sqlite")

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

experiments = Table(
    "experiments",
    metadata,
    Column("experiment_id", _Id, primary_key=True, autoincrement=True),
    Column("name", String(256), nullable=False, unique=True),
    Column("created_ms", BigInteger, nullable=False),
)

# One row per distinct OTLP resource (service name, host, SDK...): spans point at it instead of
# repeating the same document on every row.
resources = Table(
    "resources",
    metadata,
    Column("resource_id", _Id, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, unique=True),  # sha256 of attributes + schema_url
    Column("attributes", Text, nullable=False),  # JSON object
    Column("schema_url", Text),
)

traces = Table(
    "traces",
    metadata,
    Column("trace_id", String(32), primary_key=True),  # 32 lowercase hex digits, as in OTLP JSON
    Column("experiment_id", _Id, ForeignKey("experiments.experiment_id", ondelete="CASCADE"), nullable=False),
    Column("timestamp_ms", BigInteger, nullable=False),  # start of the earliest span
    Column("end_ms", BigInteger),
    Column("execution_time_ms", BigInteger),  # root span's duration; latest end - earliest start without root
    Column("status", String(16), nullable=False),  # OK | ERROR | IN_PROGRESS (root span not received yet)
    Column("name", Text),  # the root span's name
    Column("request_preview", Text),  # start of the root span's inputs / input messages
    Column("response_preview", Text),
    Column("input_tokens", BigInteger),
    Column("output_tokens", BigInteger),
    Column("total_tokens", BigInteger),
    Column("cost_usd", Double),  # sum of its spans' cost_usd; NULL when none was priced
    Column("session_id", String(256)),
    Column("user_id", String(256)),
    Column("span_count", Integer, nullable=False),
    Index(None, "experiment_id", "timestamp_ms"),
    Index(None, "timestamp_ms"),  # pages across every experiment, newest first, without a sort
    Index(None, "experiment_id", "execution_time_ms").ddl_if(dialect="sqlite"),
    Index(None, "experiment_id", "status", "timestamp_ms"),
    Index(None, "experiment_id", "name").ddl_if(dialect="sqlite"),
    Index(None, "experiment_id", "cost_usd").ddl_if(dialect="sqlite"),
    Index(None, "session_id"),
    Index(None, "user_id"),
    # An experiment's overview (_overview.py) reads its time buckets from this index alone.
    Index("ix_traces_overview", "experiment_id", "timestamp_ms", "status", "execution_time_ms", "input_tokens",
          "output_tokens", "cost_usd", "trace_id"),
)

# A sort by a key that may be empty puts the empty ones first ascending and last descending, as
# SQLite orders NULLs (see _query). PostgreSQL reads that order from an index, forward or backward,
# only if the index puts NULLs first; with the trace id after the key, ties are in order too.
_NULLS_FIRST_SORT_KEYS: Final = ("execution_time_ms", "name", "cost_usd")
for _key in _NULLS_FIRST_SORT_KEYS:
    Index(f"ix_traces_experiment_id_{_key}_trace_id", traces.c.experiment_id, traces.c[_key].nulls_first(),
          traces.c.trace_id).ddl_if(dialect="postgresql")

# Tags are key/value (update_current_trace(tags=[...]) strings are keys with the value "").
trace_tags = Table(
    "trace_tags",
    metadata,
    Column("trace_id", String(32), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

trace_metadata = Table(
    "trace_metadata",
    metadata,
    Column("trace_id", String(32), ForeignKey("traces.trace_id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("value", Text, nullable=False),
    Index(None, "key", "value"),
)

spans = Table(
    "spans",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),  # rowid of the full-text index
    Column("trace_id", String(32), nullable=False),
    Column("span_id", String(16), nullable=False),
    Column("parent_span_id", String(16)),
    Column("name", Text, nullable=False),
    Column("kind", String(16), nullable=False),  # INTERNAL | SERVER | CLIENT | PRODUCER | CONSUMER
    Column("start_ns", BigInteger, nullable=False),
    Column("end_ns", BigInteger, nullable=False),
    Column("status_code", String(8), nullable=False),  # UNSET | OK | ERROR
    Column("status_message", Text),
    Column("span_type", String(64)),  # traceglass.span.type, else derived from gen_ai.operation.name
    Column("experiment_id", _Id, nullable=False),
    Column("input_tokens", BigInteger),  # gen_ai.usage.* of this span, summed into its trace
    Column("output_tokens", BigInteger),
    Column("cost_usd", Double),  # what the model call cost (_cost.py); NULL when not priced
    Column("attributes", Text, nullable=False),  # JSON object, every attribute
    Column("events", Text, nullable=False),  # JSON array of {name, time_ns, attributes, dropped_attributes_count}
    Column("links", Text, nullable=False),  # JSON array of {trace_id, span_id, trace_state, attributes, ...}
    Column("resource_id", _Id, ForeignKey("resources.resource_id")),
    Column("scope_name", Text),
    Column("scope_version", Text),
    Column("scope_schema_url", Text),
    Column("scope_attributes", Text),  # JSON object or NULL
    Column("trace_state", Text),
    Column("flags", Integer),
    Column("dropped_attributes_count", Integer, nullable=False, default=0),
    Column("dropped_events_count", Integer, nullable=False, default=0),
    Column("dropped_links_count", Integer, nullable=False, default=0),
    Column("content_text", Text, nullable=False),  # name + content attributes, capped: what trace.text searches
    UniqueConstraint("trace_id", "span_id"),
    # With trace_id, a span.name / span.type filter collects its traces from the index alone. id
    # before it, because trace ids are random and ids ascend: new entries go at the end of their
    # name's range, a few pages a batch, rather than on a random page each.
    Index(None, "name", "id", "trace_id"),
    Index(None, "span_type", "id", "trace_id"),
)

# Short scalar attributes of every span (values of at most INDEXED_VALUE_LENGTH characters, in
# their string form; sequences, long values and content attributes stay in spans.attributes
# only). value_number is the value as a number when it is one (an int or float, or a string
# written as a decimal number), so that <, <=, >, >= are index range scans; NULL otherwise, and
# for NaN.
# One row per (trace, key, value) in each written batch: filters ask which traces have a span
# with a value, and span_pk names the first such span.
span_attributes = Table(
    "span_attributes",
    metadata,
    # No foreign key: the writer inserts a span and its rows in one transaction, and checking
    # the span for each row cost a seek of spans per row. The store deletes the rows with their
    # spans (see _store._delete_spans).
    Column("span_pk", _Id, nullable=False),
    Column("trace_id", String(32), nullable=False),
    Column("key", String(256), nullable=False),
    Column("value", String(256), nullable=False),
    Column("value_number", Double),
)
# The rows of a span, for deleting them. Not on SQLite, where the entry each row adds cost a
# seventh of the writer's time; a delete there seeks the attribute index by key and bucket
# instead. PostgreSQL's planner would not: it scans the whole table for that query.
Index(None, span_attributes.c.span_pk).ddl_if(dialect="postgresql")

# Span ids ascend, so the spans written together share a bucket (span_pk >> SPAN_BUCKET_SHIFT,
# runs of 8,192 spans), and the attribute indexes put the bucket before the value: a batch's rows
# land in the newest bucket of each key, on a few pages at its end, instead of one page per
# distinct value (response ids, token counts) anywhere in the key's range. A lookup seeks each
# bucket (one seek per 8,192 stored spans: about 120 on a million) with the value after it.
SPAN_BUCKET_SHIFT: Final = 13


def span_bucket(span_id: ColumnElement[Any]) -> ColumnElement[Any]:
    """The bucket of a span id, written as the indexes spell it: a literal shift, which is how
    the database recognises the index expression in a query."""
    return span_id.op(">>")(literal_column(str(SPAN_BUCKET_SHIFT)))


# The traces matching a value, from the index alone. Whether one trace has a value (the probe of
# a common value) goes through the trace's spans and one seek of (key, bucket, value, span_pk).
Index(
    "ix_span_attributes_key_bucket_value_span_pk_trace_id",
    span_attributes.c.key,
    span_bucket(span_attributes.c.span_pk),
    span_attributes.c.value,
    span_attributes.c.span_pk,
    span_attributes.c.trace_id,
)
# Partial: most values are not numbers, and their rows need no entry here.
Index(
    "ix_span_attributes_key_bucket_value_number_span_pk_trace_id",
    span_attributes.c.key,
    span_bucket(span_attributes.c.span_pk),
    span_attributes.c.value_number,
    span_attributes.c.span_pk,
    span_attributes.c.trace_id,
    sqlite_where=text("value_number IS NOT NULL"),
    postgresql_where=text("value_number IS NOT NULL"),
)

# Metrics and log requests the server received, kept whole (protobuf Export<Signal>ServiceRequest):
# nothing about them is interpreted yet, and nothing is lost.
otlp_requests = Table(
    "otlp_requests",
    metadata,
    Column("id", _Id, primary_key=True, autoincrement=True),
    Column("signal", String(16), nullable=False),  # metrics | logs
    Column("received_ms", BigInteger, nullable=False),
    Column("item_count", Integer, nullable=False),  # data points or log records
    Column("experiment", String(256)),  # the request's x-traceglass-experiment header
    Column("payload", LargeBinary, nullable=False),
    Index(None, "signal", "received_ms"),
)
