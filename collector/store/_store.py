"""The trace store: spans in, experiments and traces out, on SQLite or PostgreSQL."""

from __future__ import annotations

import importlib.util
import json
import re
import time
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Engine, and_, bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.sql.elements import ColumnElement
from traceglass.semconv import names as N

from . import _overview, _query
from ._checkpoint import Checkpointer
from ._engine import WRITE, make_engine
from ._errors import StoreError
from ._file import StoreFile
from ._filter import FilterError, parse_filter
from ._migrate import upgrade
from ._models import (
    TRACE_COLUMNS,
    Experiment,
    StoredSpan,
    Trace,
    TraceInfo,
    TracePage,
    event_from_dict,
    link_from_dict,
)
from ._records import SpanRecord
from ._rows import ENTRY_VALUE_BYTES, entry_value, genai_view, usage_and_cost
from ._tables import (
    experiments,
    resources,
    span_attributes,
    span_bucket,
    spans,
    trace_metadata,
    trace_tags,
    traces,
)
from ._writer import PreparedSpans, SpanWriter, lock_traces, total_traces

__all__ = ["Store"]

_CHUNK = 500
_PG_JOIN_SEARCH_LIMIT = 8  # PostgreSQL's join_collapse_limit: conditions it orders by cost
_SET_TAG = text(
    "INSERT INTO trace_tags (trace_id, key, value) VALUES (:trace_id, :key, :value) "
    "ON CONFLICT (trace_id, key) DO UPDATE SET value = excluded.value"
)
_NAME_LENGTH = N.EXPERIMENT_NAME_LENGTH


class Store:
    """Experiments and traces in one database. Open with `Store.open(url)`; thread-safe (each
    call takes a pooled connection for its own transaction)."""

    def __init__(self, engine: Engine, url: str) -> None:
        self._engine = engine
        self._url = url
        self._checkpointer = Checkpointer(engine) if Checkpointer.applies_to(engine) else None
        self._writer = SpanWriter(engine, None if self._checkpointer is None else self._checkpointer.request)
        self._file = StoreFile(engine) if engine.dialect.name == "sqlite" else None

    def _follow_the_file(self) -> None:
        """A SQLite file deleted or replaced under the store (a reset by hand while the app runs)
        is opened again, the store's cached ids forgotten, before writing or searching."""
        if self._file is not None and self._file.replaced() and self._file.reopened(self._engine):
            self._writer.forget_experiments()
            self._writer.forget_resources()

    @classmethod
    def open(cls, url: str) -> Store:
        """Open (creating it if needed) the store at `url`: `sqlite:///path/to/file.db` or
        `postgresql://user:password@host/database`. The schema is migrated to this version's."""
        engine = make_engine(url)
        try:
            upgrade(engine)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine, url)

    @property
    def url(self) -> str:
        return self._url

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        if self._checkpointer is not None:
            self._checkpointer.close()
        self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self._engine.url.render_as_string(hide_password=True)!r})"

    def _write(self) -> Any:
        return self._engine.connect().execution_options(**{WRITE: True})

    # --- spans -------------------------------------------------------------------------------

    def write_spans(self, records: Sequence[SpanRecord], default_experiment: str = N.DEFAULT_EXPERIMENT) -> int:
        """Store a batch of finished spans in one transaction; returns how many were new.

        Spans already stored (same trace and span id) are skipped, so a batch can be sent again.
        A span's experiment is its `traceglass.experiment` attribute, else its resource's, else
        `default_experiment`; experiments are created on first sight. The traces the batch
        touches are recomputed from their stored spans.
        """
        self._follow_the_file()
        return self._writer.write(records, default_experiment)

    def prepare_spans(self, records: Sequence[SpanRecord],
                      default_experiment: str = N.DEFAULT_EXPERIMENT) -> PreparedSpans:
        """The first half of `write_spans`, which needs no transaction: a writer that prepares
        the next batch while the previous one is being written keeps the database busy."""
        return self._writer.prepare(records, default_experiment)

    def write_prepared(self, prepared: PreparedSpans) -> int:
        """The second half of `write_spans`: one transaction; returns how many spans were new."""
        self._follow_the_file()
        return self._writer.write_prepared(prepared)

    # --- experiments -------------------------------------------------------------------------

    def get_or_create_experiment(self, name: str) -> Experiment:
        _check_name(name)
        experiment_id = self._writer.experiment_ids({name})[name]
        experiment = self.get_experiment(experiment_id)
        if experiment is None:  # deleted by someone else in between: create it again
            self._writer.forget_experiments()
            return self.get_or_create_experiment(name)
        return experiment

    def create_experiment(self, name: str) -> Experiment:
        """Create an experiment; `StoreError` if one of that name exists."""
        _check_name(name)
        created_ms = time.time_ns() // 1_000_000
        try:
            with self._write() as conn, conn.begin():
                experiment_id = conn.execute(
                    insert(experiments).values(name=name, created_ms=created_ms).returning(experiments.c.experiment_id)
                ).scalar_one()
        except IntegrityError:
            raise StoreError(f"An experiment named {name!r} already exists") from None
        return Experiment(experiment_id, name, created_ms)

    def get_experiment(self, experiment_id: int) -> Experiment | None:
        found = self._experiments(experiments.c.experiment_id == experiment_id)
        return found[0] if found else None

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._experiments(experiments.c.name == name)
        return found[0] if found else None

    def experiment_names(self) -> dict[str, int]:
        """Experiment name -> id, without counting traces: what resolving a search's scope needs."""
        query = select(experiments.c.name, experiments.c.experiment_id).order_by(experiments.c.experiment_id)
        with self._engine.connect() as conn:
            return {name: experiment_id for name, experiment_id in conn.execute(query)}

    def list_experiments(self) -> list[Experiment]:
        """Every experiment, oldest first, with its number of traces and latest trace start."""
        return self._experiments(None)

    def _experiments(self, where: Any) -> list[Experiment]:
        query = (
            select(
                experiments.c.experiment_id,
                experiments.c.name,
                experiments.c.created_ms,
                func.count(traces.c.trace_id),
                func.max(traces.c.timestamp_ms),
            )
            .select_from(experiments.outerjoin(traces, traces.c.experiment_id == experiments.c.experiment_id))
            .group_by(experiments.c.experiment_id, experiments.c.name, experiments.c.created_ms)
            .order_by(experiments.c.experiment_id)
        )
        if where is not None:
            query = query.where(where)
        with self._engine.connect() as conn:
            return [Experiment(*row) for row in conn.execute(query)]

    def rename_experiment(self, experiment_id: int, new_name: str) -> Experiment:
        _check_name(new_name)
        try:
            with self._write() as conn, conn.begin():
                result = conn.execute(
                    update(experiments).where(experiments.c.experiment_id == experiment_id).values(name=new_name)
                )
        except IntegrityError:
            raise StoreError(f"An experiment named {new_name!r} already exists") from None
        if result.rowcount == 0:
            raise StoreError(f"No experiment with id {experiment_id}")
        self._writer.forget_experiments()
        experiment = self.get_experiment(experiment_id)
        assert experiment is not None
        return experiment

    def delete_experiment(self, experiment_id: int) -> None:
        """Delete an experiment and its traces (their spans, tags and metadata)."""
        with self._write() as conn, conn.begin():
            trace_ids = select(traces.c.trace_id).where(traces.c.experiment_id == experiment_id)
            # Its traces' spans, and its spans in other experiments' traces.
            doomed = or_(spans.c.trace_id.in_(trace_ids), spans.c.experiment_id == experiment_id)
            _delete_spans(conn, doomed)
            if conn.dialect.name == "postgresql":
                # Writers are not serialised with this transaction as they are on SQLite: spans
                # they committed meanwhile would outlive their trace row (deleted below by
                # cascade). Wait for the writers that touched traces, keep others out until the
                # commit, and delete what they added (the spans of the experiment's traces).
                conn.execute(text("LOCK TABLE traces IN SHARE ROW EXCLUSIVE MODE"))
                _delete_spans(conn, spans.c.trace_id.in_(trace_ids))
            # traces, tags and metadata follow by ON DELETE CASCADE.
            result = conn.execute(delete(experiments).where(experiments.c.experiment_id == experiment_id))
        self._writer.forget_experiments()
        if result.rowcount == 0:
            raise StoreError(f"No experiment with id {experiment_id}")

    # --- traces ------------------------------------------------------------------------------

    def search_traces(
        self,
        experiment_ids: Sequence[int] | None = None,
        filter_string: str | None = None,
        order_by: Sequence[str] | None = None,
        max_results: int = 100,
        page_token: str | None = None,
    ) -> TracePage:
        """A page of traces matching `filter_string` (MLflow's search_traces syntax), sorted by
        `order_by` (default: newest first). `FilterError` for a filter or sort key that does not
        parse, `ValueError` for a bad page token or page size."""
        if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
            raise ValueError(f"max_results must be a positive integer, not {max_results!r}")
        self._follow_the_file()
        conditions = parse_filter(filter_string)
        keys = _query.sort_keys(list(order_by) if order_by else None)
        after = _query.decode_page_token(page_token, keys) if page_token else None
        statement = _query.search_statement(
            list(experiment_ids) if experiment_ids is not None else None,
            conditions,
            list(order_by) if order_by else None,
            after,
            # One more than asked: is there a next page? max_results=sys.maxsize asks for every
            # trace, and must still bind as a 64-bit LIMIT.
            min(max_results, _query.MAX_ROWS - 1) + 1,
            self._engine.dialect.name,
        )
        with self._engine.connect() as conn:
            if len(conditions) > _PG_JOIN_SEARCH_LIMIT and conn.dialect.name == "postgresql":
                # Each span, tag or text condition is a semi-join; PostgreSQL's planner weighs their
                # orders, which took 0.3 s for 20 conditions and 8 s for 50 (even on an empty
                # store). Beyond its own limit of 8 they are joined in the order written, which
                # search_statement makes cheapest first: 20 then plan in 15 ms.
                conn.execute(text("SET LOCAL join_collapse_limit = 1"))
            try:
                rows = conn.execute(statement).mappings().all()
            except DataError as error:
                refused = _refused_pattern(filter_string or "", error)
                if refused is None:
                    raise
                raise refused from None
            has_more = len(rows) > max_results
            infos = [_trace_info(row) for row in rows[:max_results]]
            self._complete(conn, infos)
        token = _query.encode_page_token(keys, _query.sort_values(keys, rows[max_results - 1])) if has_more else None
        return TracePage(infos, token)

    def get_trace(self, trace_id: str) -> Trace | None:
        """A trace with all its spans (by start time), or None."""
        self._follow_the_file()
        with self._engine.connect() as conn:
            row = conn.execute(select(traces).where(traces.c.trace_id == trace_id)).mappings().first()
            if row is None:
                return None
            info = _trace_info(row)
            self._complete(conn, [info])
            query = (
                select(spans, resources.c.attributes.label("resource_attributes"), resources.c.schema_url)
                .select_from(spans.outerjoin(resources, resources.c.resource_id == spans.c.resource_id))
                .where(spans.c.trace_id == trace_id)
                .order_by(spans.c.start_ns, spans.c.id)
            )
            stored = [_stored_span(span_row) for span_row in conn.execute(query).mappings()]
        return Trace(info, stored)

    def _complete(self, conn: Connection, infos: list[TraceInfo]) -> None:
        """Fill in experiment names, tags and metadata: one query each for the whole page."""
        if not infos:
            return
        by_id = {info.trace_id: info for info in infos}
        ids = list(by_id)
        unnamed = sorted({info.experiment_id for info in infos if info.experiment_name is None})
        if unnamed:
            query = select(experiments.c.experiment_id, experiments.c.name).where(
                experiments.c.experiment_id.in_(unnamed)
            )
            names = {experiment_id: name for experiment_id, name in conn.execute(query)}
            for info in infos:
                if info.experiment_name is None:
                    info.experiment_name = names.get(info.experiment_id)
        for table, attribute in ((trace_tags, "tags"), (trace_metadata, "metadata")):
            for start in range(0, len(ids), _CHUNK):
                query = select(table.c.trace_id, table.c.key, table.c.value).where(
                    table.c.trace_id.in_(ids[start : start + _CHUNK])
                )
                for trace_id, key, value in conn.execute(query.order_by(table.c.trace_id, table.c.key)):
                    getattr(by_id[trace_id], attribute)[key] = value

    def overview(
        self, experiment_id: int, start_ms: int | None = None, end_ms: int | None = None, max_buckets: int = 60,
        models: bool = True,
    ) -> _overview.Overview:
        """Requests, latency percentiles, errors and tokens of an experiment's traces that started in
        [start_ms, end_ms) (default: its first to its last trace), in at most `max_buckets` time
        buckets of a round width, and per model (unless `models=False`, much quicker on large
        experiments). `ValueError` if end_ms is not after start_ms."""
        if not 1 <= max_buckets <= _overview.MAX_BUCKETS:
            raise ValueError(f"max_buckets must be between 1 and {_overview.MAX_BUCKETS}, not {max_buckets!r}")
        with self._engine.connect() as conn:
            return _overview.overview(conn, experiment_id, start_ms, end_ms, max_buckets, models)

    def set_trace_tag(self, trace_id: str, key: str, value: str) -> None:
        """Set (or replace) a tag of a stored trace; `StoreError` if there is no such trace."""
        _check_name(key, "tag key")
        if not isinstance(value, str):
            raise TypeError(f"tag value must be a str, not {type(value).__name__}")
        _check_no_nul(value, "tag value")
        if entry_value(value) != value:
            raise ValueError(f"tag value is longer than {ENTRY_VALUE_BYTES:,} bytes (UTF-8)")
        try:
            with self._write() as conn, conn.begin():
                if conn.execute(select(traces.c.trace_id).where(traces.c.trace_id == trace_id)).first() is None:
                    raise StoreError(f"No trace with id {trace_id!r}")
                # One statement: a batch of the trace's spans adding the same tag meanwhile (on
                # PostgreSQL, where writers are not serialised) is overwritten, not a conflict.
                conn.execute(_SET_TAG, {"trace_id": trace_id, "key": key, "value": value})
        except IntegrityError:  # the trace was deleted meanwhile
            raise StoreError(f"No trace with id {trace_id!r}") from None

    def delete_trace_tag(self, trace_id: str, key: str) -> None:
        """Remove a tag of a trace (nothing happens if it has no such tag)."""
        with self._write() as conn, conn.begin():
            conn.execute(delete(trace_tags).where(trace_tags.c.trace_id == trace_id, trace_tags.c.key == key))

    def reprice(self, batch_size: int = 2000) -> tuple[int, int]:
        """Count and price every stored model call (a span with token counts) again with the
        installed price table, and total each trace's tokens and cost anew: for spans stored before
        costs were recorded or under token names read since (older conventions, OpenInference),
        or after `pip install -U genai-prices` brought prices for more models. Returns (model
        calls, those with a cost). Each batch is a transaction of its own, so the store stays
        writable. Raises StoreError where genai-prices is not installed (Python 3.10): every
        cost would be cleared."""
        if importlib.util.find_spec("genai_prices") is None:
            raise StoreError("pricing needs genai-prices, which is not installed (it needs Python 3.11 or later)")
        calls = priced = 0
        after = 0
        # Every token attribute name the store reads has "token" in it; other spans are skipped unread.
        with_tokens = or_(spans.c.input_tokens.is_not(None), spans.c.output_tokens.is_not(None),
                          spans.c.attributes.like("%token%"))
        while True:
            with self._write() as conn, conn.begin():
                rows = conn.execute(
                    select(spans.c.id, spans.c.trace_id, spans.c.start_ns, spans.c.attributes)
                    .where(spans.c.id > after, with_tokens).order_by(spans.c.id).limit(batch_size)
                ).all()
                if not rows:
                    return calls, priced
                after = rows[-1].id
                trace_ids = sorted({row.trace_id for row in rows})
                if conn.dialect.name == "postgresql":
                    lock_traces(conn, trace_ids)  # a writer totalling the same traces waits, and vice versa
                counted = [(row.id, *usage_and_cost(genai_view(json.loads(row.attributes)), row.start_ns))
                           for row in rows]
                conn.execute(update(spans).where(spans.c.id == bindparam("span_pk")).values(
                    input_tokens=bindparam("inputs"), output_tokens=bindparam("outputs"), cost_usd=bindparam("cost")),
                    [{"span_pk": pk, "inputs": inputs, "outputs": outputs, "cost": cost}
                     for pk, inputs, outputs, cost in counted])
                total_traces(conn, trace_ids)
                calls += sum(1 for _, inputs, outputs, _ in counted if inputs is not None or outputs is not None)
                priced += sum(1 for *_, cost in counted if cost is not None)

    def delete_traces(self, trace_ids: Iterable[str]) -> int:
        """Delete traces with their spans, tags and metadata; returns how many traces existed."""
        ids = sorted(set(trace_ids))
        deleted = 0
        with self._write() as conn, conn.begin():
            if conn.dialect.name == "postgresql" and ids:
                # The writers' locks on these traces (see _writer): a batch of their spans being
                # written is either deleted with them or written after, never half of each.
                lock_traces(conn, ids)
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                _delete_spans(conn, spans.c.trace_id.in_(chunk))
                deleted += conn.execute(delete(traces).where(traces.c.trace_id.in_(chunk))).rowcount
        return deleted


def _refused_pattern(filter_string: str, error: DataError) -> FilterError | None:
    """PostgreSQL refusing an RLIKE pattern that Python's syntax (checked by the parser) allows,
    such as a named group: a FilterError at the first RLIKE, not a database error."""
    if type(error.orig).__name__ != "InvalidRegularExpression":
        return None
    cause = " ".join(str(error.orig).split())
    first = re.search(r"\bRLIKE\b", filter_string, re.IGNORECASE)
    return FilterError(filter_string, first.start() if first else 0,
                       f"a regular expression PostgreSQL accepts ({cause})", "an RLIKE pattern it refuses")


def _check_name(name: object, what: str = "experiment name") -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"{what} must be a non-empty string, not {name!r}")
    if len(name) > _NAME_LENGTH:
        raise ValueError(f"{what} is longer than {_NAME_LENGTH} characters")
    _check_no_nul(name, what)


def _check_no_nul(text: str, what: str) -> None:
    # PostgreSQL's text cannot hold NUL: refused on both databases, so a name that works on one works on the other.
    if "\x00" in text:
        raise ValueError(f"{what} contains a NUL character")


def _trace_info(row: Any) -> TraceInfo:
    info = TraceInfo(*(row[column] for column in TRACE_COLUMNS))
    info.experiment_name = row.get("experiment_name")
    return info


def _stored_span(row: Row[Any] | Any) -> StoredSpan:
    resource = row["resource_attributes"]
    scope_attributes = row["scope_attributes"]
    return StoredSpan(
        trace_id=row["trace_id"],
        span_id=row["span_id"],
        name=row["name"],
        start_ns=row["start_ns"],
        end_ns=row["end_ns"],
        parent_span_id=row["parent_span_id"],
        kind=row["kind"],
        status_code=row["status_code"],
        status_message=row["status_message"],
        attributes=json.loads(row["attributes"]),
        events=[event_from_dict(event) for event in json.loads(row["events"])],
        links=[link_from_dict(link) for link in json.loads(row["links"])],
        resource_attributes=json.loads(resource) if resource else {},
        resource_schema_url=row["schema_url"],
        scope_name=row["scope_name"],
        scope_version=row["scope_version"],
        scope_schema_url=row["scope_schema_url"],
        scope_attributes=None if scope_attributes is None else json.loads(scope_attributes),
        trace_state=row["trace_state"],
        flags=row["flags"],
        dropped_attributes_count=row["dropped_attributes_count"],
        dropped_events_count=row["dropped_events_count"],
        dropped_links_count=row["dropped_links_count"],
        span_type=row["span_type"],
        cost_usd=row["cost_usd"],
    )


# The distinct attribute keys, one index seek each (a plain DISTINCT would read every row).
_KEYS = select(func.min(span_attributes.c.key).label("key")).cte("attribute_keys", recursive=True)
_KEYS = _KEYS.union_all(
    select(select(func.min(span_attributes.c.key)).where(span_attributes.c.key > _KEYS.c.key).scalar_subquery())
    .where(_KEYS.c.key.is_not(None))
)


def _delete_spans(conn: Connection, which: ColumnElement[bool]) -> None:
    # span_attributes has no foreign key to cascade from (see _tables): its rows go first.
    if conn.dialect.name == "postgresql":
        # One statement, so one snapshot: spans a writer commits meanwhile are either deleted
        # with their attribute rows or left with them (two statements would see them only in the
        # second, and leave their attribute rows behind).
        gone = delete(spans).where(which).returning(spans.c.id).cte("gone")
        conn.execute(delete(span_attributes).where(span_attributes.c.span_pk.in_(select(gone.c.id))))
        return
    conn.execute(delete(span_attributes).where(attribute_rows_of(which, conn.dialect.name)))
    conn.execute(delete(spans).where(which))


def attribute_rows_of(which: ColumnElement[bool], dialect: str) -> ColumnElement[bool]:
    """The span_attributes rows of the spans `which` selects. On SQLite, which has no index of
    them by span, found through the attribute index by key and the spans' buckets (one trace: a
    few milliseconds on a million spans)."""
    of_spans = span_attributes.c.span_pk.in_(select(spans.c.id).where(which))
    if dialect != "sqlite":
        return of_spans
    return and_(
        span_attributes.c.key.in_(select(_KEYS.c.key)),
        span_bucket(span_attributes.c.span_pk).in_(select(span_bucket(spans.c.id)).where(which)),
        of_spans,
    )
