"""An experiment's overview: requests, latency, errors and tokens over time, and per model.

Traces are counted in the time bucket of their start (`timestamp_ms`); a trace still in progress
(its root span not received) counts as a request but not in the latency percentiles. Model calls
are the spans of a model-call type (chat, text completion, embeddings: MODEL_CALL_TYPES), named by
their `gen_ai.request.model` (else `gen_ai.response.model`, else OpenInference's `llm.model_name`)
and counted in the bucket of their trace's start; their latency is the span's duration.
Percentiles are nearest-rank (the value at rank ceil(p * n) of the n sorted durations): exact, and
computed by the database with window functions, so only a few rows per bucket or model reach
Python, on SQLite and PostgreSQL alike.

The time buckets are read from one covering index of `traces` (migration 0003); the figures per
model cost a read of each trace's spans, found trace by trace through the (trace_id, span_id) index.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from typing import Any, Final

from sqlalchemy import BigInteger, Double, Select, String, and_, bindparam, case, cast, func, literal, or_, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection

from . import _openinference
from ._ordered_join import OrderedJoin
from ._tables import spans, traces

__all__ = [
    "MAX_BUCKETS",
    "MODEL_ATTRIBUTE",
    "MODEL_CALL_TYPES",
    "BucketStats",
    "ModelBucket",
    "ModelStats",
    "Overview",
    "bucket_width",
    "overview",
]

MODEL_ATTRIBUTE: Final = "gen_ai.request.model"
RESPONSE_MODEL: Final = "gen_ai.response.model"  # the model of a call that names no requested one
# The span types of model calls (derived from gen_ai.operation.name: chat, text_completion,
# generate_content, embeddings). An agent span may name a model too: its calls are counted, not it.
MODEL_CALL_TYPES: Final = ("CHAT_MODEL", "LLM", "EMBEDDING")
MAX_BUCKETS: Final = 500

_SECOND = 1000
_MINUTE = 60 * _SECOND
_HOUR = 60 * _MINUTE
_DAY = 24 * _HOUR
# Widths a reader recognises on an axis; the smallest one giving at most the asked-for buckets.
_NICE_WIDTHS: Final = (
    1, 2, 5, 10, 20, 50, 100, 200, 500,
    _SECOND, 2 * _SECOND, 5 * _SECOND, 10 * _SECOND, 15 * _SECOND, 30 * _SECOND,
    _MINUTE, 2 * _MINUTE, 5 * _MINUTE, 10 * _MINUTE, 15 * _MINUTE, 30 * _MINUTE,
    _HOUR, 2 * _HOUR, 3 * _HOUR, 6 * _HOUR, 12 * _HOUR,
    _DAY, 2 * _DAY, 7 * _DAY, 14 * _DAY, 30 * _DAY, 90 * _DAY, 365 * _DAY,
)  # fmt: skip
_PERCENTILES: Final = (50, 95, 99)


@dataclasses.dataclass(slots=True)
class BucketStats:
    """Traces that started in [start_ms, start_ms + bucket_ms) (or in the whole range, for totals)."""

    start_ms: int
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # of the traces with a cost (see _cost); None when none has one
    p50_ms: int | None = None
    p95_ms: int | None = None
    p99_ms: int | None = None

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "error_rate": self.error_rate}


@dataclasses.dataclass(slots=True)
class ModelStats:
    """Calls to one model over the whole range."""

    model: str
    requests: int = 0
    errors: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = None  # of the calls priced (see _cost); None when none was
    p50_ms: int | None = None
    p95_ms: int | None = None
    p99_ms: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(slots=True)
class ModelBucket:
    """Calls to one model in one bucket (only buckets with calls are listed)."""

    start_ms: int
    model: str
    requests: int
    input_tokens: int
    output_tokens: int

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(slots=True)
class Overview:
    experiment_id: int
    start_ms: int  # aligned down to a multiple of bucket_ms
    end_ms: int  # exclusive
    bucket_ms: int
    totals: BucketStats
    buckets: list[BucketStats]  # every bucket of the range, empty ones included
    models: list[ModelStats]  # most called first
    model_buckets: list[ModelBucket]

    def to_dict(self) -> dict[str, Any]:
        return {
            "experiment_id": self.experiment_id,
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "bucket_ms": self.bucket_ms,
            "model_attribute": MODEL_ATTRIBUTE,
            "totals": self.totals.to_dict(),
            "buckets": [bucket.to_dict() for bucket in self.buckets],
            "models": [model.to_dict() for model in self.models],
            "model_buckets": [bucket.to_dict() for bucket in self.model_buckets],
        }


def bucket_width(span_ms: int, max_buckets: int) -> int:
    """The smallest round width (1 ms ... 1 year) that cuts `span_ms` into at most `max_buckets`."""
    needed = max(1, math.ceil(max(span_ms, 1) / max(max_buckets, 1)))
    for width in _NICE_WIDTHS:
        if width >= needed:
            return width
    return math.ceil(needed / _NICE_WIDTHS[-1]) * _NICE_WIDTHS[-1]


def overview(
    conn: Connection,
    experiment_id: int,
    start_ms: int | None,
    end_ms: int | None,
    max_buckets: int,
    models: bool = True,
) -> Overview:
    """The overview of one experiment's traces that started in [start_ms, end_ms) (default: from
    its first trace to its last), in buckets of the smallest round width that cuts the range into at
    most `max_buckets`, aligned on multiples of it: one more when the range starts between two (the
    finer width is worth the extra bucket).
    `models=False` leaves out the per-model figures, which cost most (a span row per call)."""
    if start_ms is None or end_ms is None:
        first, last = conn.execute(
            select(func.min(traces.c.timestamp_ms), func.max(traces.c.timestamp_ms)).where(
                traces.c.experiment_id == experiment_id
            )
        ).one()
        now = time.time_ns() // 1_000_000
        if start_ms is None:
            until = end_ms if end_ms is not None else now + 1
            start_ms = first if first is not None and first < until else max(0, until - _HOUR)
        if end_ms is None:
            end_ms = last + 1 if last is not None and last >= start_ms else max(start_ms + 1, now)
    if end_ms <= start_ms:
        raise ValueError(f"end_ms ({end_ms}) must be after start_ms ({start_ms})")
    width = bucket_width(end_ms - start_ms, max_buckets)
    origin = start_ms - start_ms % width  # buckets on round boundaries (UTC)
    count = math.ceil((end_ms - origin) / width)

    in_range = and_(
        traces.c.experiment_id == experiment_id, traces.c.timestamp_ms >= start_ms, traces.c.timestamp_ms < end_ms
    )
    bucket = (traces.c.timestamp_ms - bindparam("origin", origin, BigInteger)) // bindparam("width", width, BigInteger)
    bucket = bucket.label("bucket")

    buckets = [BucketStats(origin + i * width) for i in range(count)]
    totals = BucketStats(origin)
    aggregates = (
        select(
            bucket,
            func.count(),
            func.sum(case((traces.c.status == "ERROR", 1), else_=0)),
            func.sum(traces.c.input_tokens),
            func.sum(traces.c.output_tokens),
            func.sum(traces.c.cost_usd),
        )
        .where(in_range)
        .group_by(bucket)
    )
    for index, requests, errors, input_tokens, output_tokens, cost in conn.execute(aggregates):
        stats = buckets[int(index)]
        stats.requests, stats.errors = int(requests), int(errors or 0)
        stats.input_tokens, stats.output_tokens = int(input_tokens or 0), int(output_tokens or 0)
        totals.requests += stats.requests
        totals.errors += stats.errors
        totals.input_tokens += stats.input_tokens
        totals.output_tokens += stats.output_tokens
        if cost is not None:
            stats.cost_usd = float(cost)
            totals.cost_usd = (totals.cost_usd or 0.0) + stats.cost_usd

    finished = and_(in_range, traces.c.status != "IN_PROGRESS", traces.c.execution_time_ms.is_not(None))
    duration = traces.c.execution_time_ms
    for index, percentile, value in _at_ranks(conn.execute(_percentiles(bucket, duration, finished))):
        setattr(buckets[int(index)], f"p{percentile}_ms", value)
    for _, percentile, value in _at_ranks(conn.execute(_percentiles(None, duration, finished))):
        setattr(totals, f"p{percentile}_ms", value)

    per_model, model_buckets = _models(conn, in_range, bucket, origin, width) if models else ([], [])
    return Overview(experiment_id, origin, end_ms, width, totals, buckets, per_model, model_buckets)


def _percentiles(group: Any, value: Any, where: Any, source: Any = None) -> Select[Any]:
    """(group, rank, n, value) rows: the values at the nearest ranks of the 50th, 95th and 99th
    percentiles of `value` per `group` (None: one group, reported as 0); see `_at_ranks`."""
    ranked_select = select(
        (group if group is not None else literal(0)).label("grp"),
        value.label("value"),
        func.row_number().over(partition_by=group, order_by=value).label("rank"),
        func.count().over(partition_by=group).label("n"),
    ).where(where)
    if source is not None:
        ranked_select = ranked_select.select_from(source)
    ranked = ranked_select.subquery()
    # ceil(n * p / 100) in integer arithmetic, identical on both databases. One pass over the
    # ranked rows (a UNION per percentile would rank them once per percentile).
    ranks = [(ranked.c.n * percentile + 99) // 100 for percentile in _PERCENTILES]
    return select(ranked.c.grp, ranked.c.rank, ranked.c.n, ranked.c.value).where(
        or_(*(ranked.c.rank == rank for rank in ranks))
    )


def _at_ranks(rows: Any) -> Iterator[tuple[Any, int, int]]:
    """(group, percentile, value) for each percentile a row of `_percentiles` stands at."""
    for group, rank, n, value in rows:
        for percentile in _PERCENTILES:
            if rank == (n * percentile + 99) // 100:
                yield group, percentile, int(value)


def _attribute_text(key: str, dialect: str) -> Any:
    """The string value of span attribute `key`, read from the span's attributes document."""
    if dialect == "postgresql":
        return cast(spans.c.attributes, postgresql.JSON)[key].astext
    return cast(func.json_extract(spans.c.attributes, f'$."{key}"'), String)


def _models(
    conn: Connection, in_range: Any, bucket: Any, origin: int, width: int
) -> tuple[list[ModelStats], list[ModelBucket]]:
    dialect = conn.dialect.name
    # Each trace's model calls through the (trace_id, span_id) index; the model is read from the
    # call's own attributes (the indexed attribute rows keep one span per trace and value).
    # Without statistics SQLite may start from the model calls of every experiment (the span_type
    # index) and look each one's trace up; walking the range's traces and probing their calls
    # reads only what the overview needs.
    joined = OrderedJoin(
        traces, spans, and_(spans.c.trace_id == traces.c.trace_id, spans.c.span_type.in_(MODEL_CALL_TYPES))
    )
    model = func.coalesce(_attribute_text(MODEL_ATTRIBUTE, dialect), _attribute_text(RESPONSE_MODEL, dialect),
                          _attribute_text(_openinference.MODEL_NAME, dialect))
    # Reading the calls' span rows is what costs (a page or more per call): they are read once,
    # into a materialised CTE, and both the sums per bucket and the ranked durations come from it,
    # in one statement, so only a few rows per model reach Python.
    calls = (
        select(
            bucket.label("bucket"),
            model.label("model"),
            case((spans.c.status_code == "ERROR", 1), else_=0).label("error"),
            spans.c.input_tokens,
            spans.c.output_tokens,
            spans.c.cost_usd,
            ((spans.c.end_ns - spans.c.start_ns) // 1_000_000).label("duration"),
        )
        .select_from(joined)
        .where(in_range)
        .cte("calls")
        .prefix_with("MATERIALIZED")
    )
    call_rows = select(calls).where(calls.c.model.is_not(None)).cte("named_calls")
    sums = select(
        literal("sum").label("kind"),
        call_rows.c.bucket.label("a"),
        call_rows.c.model,
        func.count().label("b"),
        func.sum(call_rows.c.error).label("c"),
        func.sum(call_rows.c.input_tokens).label("d"),
        func.sum(call_rows.c.output_tokens).label("e"),
        func.sum(call_rows.c.cost_usd).label("f"),
    ).group_by(call_rows.c.bucket, call_rows.c.model)
    ranked = select(
        call_rows.c.model,
        call_rows.c.duration,
        func.row_number().over(partition_by=call_rows.c.model, order_by=call_rows.c.duration).label("rank"),
        func.count().over(partition_by=call_rows.c.model).label("n"),
    ).subquery()
    nulls = literal(None, BigInteger)
    ranks = select(
        literal("rank").label("kind"), ranked.c.rank, ranked.c.model, ranked.c.n, ranked.c.duration, nulls, nulls,
        literal(None, Double),
    ).where(or_(*(ranked.c.rank == (ranked.c.n * percentile + 99) // 100 for percentile in _PERCENTILES)))

    stats: dict[str, ModelStats] = {}
    model_buckets = []
    rank_rows = []
    for kind, a, name, b, c, d, e, f in conn.execute(sums.union_all(ranks)):
        if kind == "rank":
            rank_rows.append((name, a, b, c))
            continue
        entry = stats.get(name)
        if entry is None:
            entry = stats[name] = ModelStats(name)
        requests, errors, input_tokens, output_tokens = int(b), int(c or 0), int(d or 0), int(e or 0)
        entry.requests += requests
        entry.errors += errors
        entry.input_tokens += input_tokens
        entry.output_tokens += output_tokens
        if f is not None:
            entry.cost_usd = (entry.cost_usd or 0.0) + float(f)
        model_buckets.append(ModelBucket(origin + int(a) * width, name, requests, input_tokens, output_tokens))
    for name, percentile, value in _at_ranks(rank_rows):
        if name in stats:
            setattr(stats[name], f"p{percentile}_ms", value)
    models = sorted(stats.values(), key=lambda entry: (-entry.requests, entry.model))
    model_buckets.sort(key=lambda entry: (entry.start_ms, entry.model))
    return models, model_buckets
