"""Writing batches of spans: one transaction per batch, idempotent, trace rows kept exact.

A batch is turned into rows before any lock is taken (see _rows). Inside the transaction the
spans already stored are skipped, the new ones are inserted with ids assigned up front (so their
indexed attributes go in the same way, with no RETURNING round trips: executemany on SQLite,
COPY on PostgreSQL; on SQLite the batch's text is then indexed by one statement), and the
affected traces' aggregates are recomputed from the spans table in one set-based statement: a
span sent twice, or a root span arriving after its children, never skews a trace's counts.

Concurrency: SQLite serialises writers (BEGIN IMMEDIATE). On PostgreSQL a batch takes
transaction-scoped advisory locks on its trace ids, in sorted order, before reading anything:
two batches touching the same trace run one after the other, so the existence check and the
recomputed aggregates always see the other batch's committed spans.
"""

from __future__ import annotations

import hashlib
import operator
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, exc, text

from ._engine import WRITE
from ._records import SpanRecord
from ._rows import SPAN_COLUMNS, SpanRows, experiment_name, resource_key

__all__ = ["PreparedSpans", "SpanWriter", "lock_traces", "total_traces"]

_ATTRIBUTE_COLUMNS = ("span_pk", "trace_id", "key", "value", "value_number")
_VALUE = operator.itemgetter(3)  # of a PreparedSpans.attribute_rows() row
_CHUNK = 500  # ids per IN (...) list: well under every backend's parameter limit

_AGGREGATES = text(
    """
WITH agg AS (
    SELECT trace_id, MIN(start_ns) AS start_ns, MAX(end_ns) AS end_ns,
           SUM(input_tokens) AS input_tokens, SUM(output_tokens) AS output_tokens,
           SUM(cost_usd) AS cost_usd,
           COUNT(*) AS span_count, MIN(id) AS first_id,
           MIN(CASE WHEN parent_span_id IS NULL THEN id END) AS root_id
    FROM spans WHERE trace_id IN :trace_ids GROUP BY trace_id
)
INSERT INTO traces (trace_id, experiment_id, timestamp_ms, end_ms, execution_time_ms, status, name,
                    input_tokens, output_tokens, total_tokens, cost_usd, span_count)
SELECT agg.trace_id,
       COALESCE(r.experiment_id, f.experiment_id),
       agg.start_ns / 1000000,
       agg.end_ns / 1000000,
       CASE WHEN r.id IS NULL THEN (agg.end_ns - agg.start_ns) / 1000000
            ELSE (r.end_ns - r.start_ns) / 1000000 END,
       CASE WHEN r.id IS NULL THEN 'IN_PROGRESS' WHEN r.status_code = 'ERROR' THEN 'ERROR' ELSE 'OK' END,
       r.name,
       agg.input_tokens,
       agg.output_tokens,
       CASE WHEN agg.input_tokens IS NULL AND agg.output_tokens IS NULL THEN NULL
            ELSE COALESCE(agg.input_tokens, 0) + COALESCE(agg.output_tokens, 0) END,
       agg.cost_usd,
       agg.span_count
FROM agg JOIN spans AS f ON f.id = agg.first_id LEFT JOIN spans AS r ON r.id = agg.root_id
WHERE 1 = 1
ON CONFLICT (trace_id) DO UPDATE SET
    timestamp_ms = excluded.timestamp_ms,
    end_ms = excluded.end_ms,
    execution_time_ms = excluded.execution_time_ms,
    status = excluded.status,
    name = excluded.name,
    input_tokens = excluded.input_tokens,
    output_tokens = excluded.output_tokens,
    total_tokens = excluded.total_tokens,
    cost_usd = excluded.cost_usd,
    span_count = excluded.span_count
"""
).bindparams(bindparam("trace_ids", expanding=True))

# Values only the attributes carry. Previews come from the root span alone; session and user
# from the root when it has them, else from whichever span brought them first.
_TRACE_ATTRIBUTES = text(
    "UPDATE traces SET request_preview = COALESCE(:request, request_preview), "
    "response_preview = COALESCE(:response, response_preview), "
    "session_id = COALESCE(:root_session, session_id, :session), "
    "user_id = COALESCE(:root_user, user_id, :user) "
    "WHERE trace_id = :trace_id"
)
# A tag named without a value ("") leaves the value the trace has (set by another span, or by
# set_trace_tag()); one with a value replaces it.
_TAGS = text(
    "INSERT INTO trace_tags (trace_id, key, value) VALUES (:trace_id, :key, :value) "
    "ON CONFLICT (trace_id, key) DO UPDATE SET value = excluded.value WHERE excluded.value <> ''"
)
_METADATA = text(
    "INSERT INTO trace_metadata (trace_id, key, value) VALUES (:trace_id, :key, :value) "
    "ON CONFLICT (trace_id, key) DO UPDATE SET value = excluded.value"
)
_EXISTING = text("SELECT trace_id, span_id FROM spans WHERE trace_id IN :trace_ids").bindparams(
    bindparam("trace_ids", expanding=True)
)
_PG_TRACE_LOCK = text("SELECT pg_advisory_xact_lock(k) FROM unnest(CAST(:keys AS bigint[])) AS k")
_PG_IDS = text("SELECT nextval('spans_id_seq') FROM generate_series(1, :n)")
_SQLITE_MAX_ID = text("SELECT COALESCE(MAX(id), 0) FROM spans")
_SQLITE_INDEX_TEXT = text(
    "INSERT INTO span_text(rowid, content_text) SELECT id, content_text FROM spans WHERE id BETWEEN :first AND :last"
)


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def total_traces(conn: Connection, trace_ids: Sequence[str]) -> None:
    """Write the `traces` rows of these traces anew from their stored spans (times, status, name,
    token and cost totals, span count)."""
    for chunk in _chunks(trace_ids):
        conn.execute(_AGGREGATES, {"trace_ids": chunk})


def lock_traces(conn: Connection, trace_ids: Iterable[str]) -> None:
    """Take the transaction-scoped advisory locks of these traces on PostgreSQL, in one order, so
    that two transactions writing or deleting the same traces take turns instead of interleaving."""
    conn.execute(_PG_TRACE_LOCK, {"keys": sorted({_trace_lock_key(trace_id) for trace_id in trace_ids})})


def _trace_lock_key(trace_id: str) -> int:
    # 60 bits of the (random, hex) trace id: a signed bigint, spread evenly.
    try:
        return int(trace_id[:15], 16)
    except ValueError:
        return int.from_bytes(hashlib.blake2b(trace_id.encode("utf-8", "replace"), digest_size=7).digest(), "big")


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        # NUL is rejected by PostgreSQL text; lone surrogates cannot be encoded as UTF-8.
        return value.replace("\x00", "\ufffd").encode("utf-8", "replace").decode("utf-8")
    return value


def _scrubbed(prepared: PreparedSpans) -> PreparedSpans:
    span_rows = [tuple(_scrub_value(value) for value in row) for row in prepared.span_rows()]
    trace_values = {
        position: ([(_scrub_value(k), _scrub_value(v)) for k, v in tags],
                   [(_scrub_value(k), _scrub_value(v)) for k, v in metadata],
                   *(_scrub_value(value) for value in rest))
        for position, (tags, metadata, *rest) in prepared.trace_values().items()
    }
    attribute_rows = [(i, trace_id, _scrub_value(k), _scrub_value(v), n)
                      for i, trace_id, k, v, n in prepared.attribute_rows()]
    return PreparedSpans(prepared.records, prepared.default_experiment, None, span_rows=span_rows,
                         trace_values=trace_values, attribute_rows=attribute_rows)


class SpanWriter:
    """Writes batches of spans into one database; keeps experiment and resource ids in memory."""

    def __init__(self, engine: Engine, after_commit: Callable[[], None] | None = None) -> None:
        self._engine = engine
        self._after_commit = after_commit  # a checkpoint request (see _checkpoint)
        self._postgres = engine.dialect.name == "postgresql"
        self._insert_sql = {
            table: f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['?'] * len(columns))})"
            for table, columns in (("spans", ("id", *SPAN_COLUMNS)), ("span_attributes", _ATTRIBUTE_COLUMNS))
        }
        self._experiments: dict[str, int] = {}
        self._resources: dict[str, int] = {}
        self._lock = threading.Lock()

    # --- experiments and resources: created on first sight, ids cached -----------------------

    def forget_experiments(self) -> None:
        """Drop cached experiment ids (after a rename or a delete)."""
        with self._lock:
            self._experiments.clear()

    def forget_resources(self) -> None:
        """Drop cached resource ids (the database is a new one)."""
        with self._lock:
            self._resources.clear()

    def experiment_ids(self, names: set[str]) -> dict[str, int]:
        return self._ids(
            self._experiments,
            names,
            lambda missing: self._create(
                "experiments", "name", "experiment_id", {name: {"created_ms": _now_ms()} for name in missing}
            ),
        )

    def _resource_ids(self, documents: dict[str, tuple[str, str | None]]) -> dict[str, int]:
        return self._ids(
            self._resources,
            set(documents),
            lambda missing: self._create(
                "resources",
                "digest",
                "resource_id",
                {
                    digest: {"attributes": documents[digest][0], "schema_url": documents[digest][1]}
                    for digest in missing
                },
            ),
        )

    def _ids(
        self, cache: dict[str, int], keys: set[str], create: Callable[[list[str]], dict[str, int]]
    ) -> dict[str, int]:
        found: dict[str, int] = {}
        missing: list[str] = []
        for key in keys:
            ident = cache.get(key)
            if ident is None:
                missing.append(key)
            else:
                found[key] = ident
        if missing:
            created = create(missing)
            with self._lock:
                cache.update(created)
            found.update(created)
        return found

    def _create(self, table: str, key: str, id_column: str, rows: dict[str, dict[str, Any]]) -> dict[str, int]:
        # Its own short transaction, before the batch's: PostgreSQL writers never wait for each
        # other's uncommitted experiment while holding trace locks.
        names = sorted(rows)
        columns = [key, *next(iter(rows.values()))]
        insert = text(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(':' + c for c in columns)}) "
            f"ON CONFLICT ({key}) DO NOTHING"
        )
        select = text(f"SELECT {key}, {id_column} FROM {table} WHERE {key} IN :keys").bindparams(
            bindparam("keys", expanding=True)
        )
        with self._engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            conn.execute(insert, [{key: name, **rows[name]} for name in names])
            return {name: ident for name, ident in conn.execute(select, {"keys": names})}

    # --- batches ---------------------------------------------------------------------------

    def write(self, records: Sequence[SpanRecord], default_experiment: str) -> int:
        return self.write_prepared(self.prepare(records, default_experiment))

    def prepare(self, records: Sequence[SpanRecord], default_experiment: str) -> PreparedSpans:
        """Everything about a batch that needs no transaction: rows, experiment and resource ids
        (created on first sight), the attribute rows in index order. A server prepares the next
        batch while the previous one is being written."""
        unique: dict[tuple[str, str], SpanRecord] = {}
        for record in records:
            unique.setdefault((record.trace_id, record.span_id), record)  # the first copy of a span wins
        if len(unique) != len(records):
            records = list(unique.values())
        rows = self._rows(records, default_experiment) if records else []
        return PreparedSpans(records, default_experiment, rows)

    def write_prepared(self, prepared: PreparedSpans) -> int:
        """Write a prepared batch in one transaction; returns how many spans were new."""
        if not prepared.span_rows():
            return 0
        written = self._write_retrying(prepared)
        if written and self._after_commit is not None:
            self._after_commit()
        return written

    def _write_retrying(self, prepared: PreparedSpans) -> int:
        for attempt in range(2):
            try:
                return self._write_rows(prepared)
            except exc.IntegrityError:
                # An experiment deleted (by another process) since its id was cached. Without its
                # records (a batch prepared in another process) the batch cannot be prepared again
                # here: the caller's writer, which holds the cache, has to.
                if attempt or not prepared.records:
                    raise
                self.forget_experiments()
                prepared = self.prepare(prepared.records, prepared.default_experiment)
            except Exception as error:  # the driver's own error when COPY refuses a NUL
                if not _is_encoding_error(error):
                    raise
                return self._write_rows(_scrubbed(prepared))
        raise AssertionError("unreachable")

    def _rows(self, records: Sequence[SpanRecord], default_experiment: str) -> list[SpanRows]:
        names = [experiment_name(record, default_experiment) for record in records]
        experiment_ids = self.experiment_ids(set(names))

        # Spans of one process share one resource mapping: digest it once per batch.
        digests: dict[tuple[int, str | None], str | None] = {}
        documents: dict[str, tuple[str, str | None]] = {}
        span_digests: list[str | None] = []
        for record in records:
            memo_key = (id(record.resource_attributes), record.resource_schema_url)
            if memo_key not in digests:
                if not record.resource_attributes and record.resource_schema_url is None:
                    digests[memo_key] = None
                else:
                    digest, document = resource_key(record.resource_attributes, record.resource_schema_url)
                    digests[memo_key] = digest
                    documents[digest] = (document, record.resource_schema_url)
            span_digests.append(digests[memo_key])
        resource_ids = self._resource_ids(documents) if documents else {}

        return [
            SpanRows(record, experiment_ids[name], None if digest is None else resource_ids[digest])
            for record, name, digest in zip(records, names, span_digests, strict=True)
        ]

    def _write_rows(self, prepared: PreparedSpans) -> int:
        span_rows = prepared.span_rows()  # (position, trace_id, span_id, parent_span_id, ...)
        trace_ids = sorted({row[1] for row in span_rows})
        with self._engine.connect().execution_options(**{WRITE: True}) as conn, conn.begin():
            if self._postgres:
                lock_traces(conn, trace_ids)
            stored: set[tuple[str, str]] = set()  # spans of the batch's traces already in the store
            for chunk in _chunks(trace_ids):
                stored.update((tid, sid) for tid, sid in conn.execute(_EXISTING, {"trace_ids": chunk}))
            existing = stored and any((row[1], row[2]) in stored for row in span_rows)
            positions = ([i for i, row in enumerate(span_rows) if (row[1], row[2]) not in stored] if existing
                         else range(len(span_rows)))
            if not positions:
                return 0
            ids = self._allocate_ids(conn, len(positions))
            if existing or self._postgres:
                with_ids = [(pk, *span_rows[i][1:]) for pk, i in zip(ids, positions, strict=True)]
                self._insert(conn, "spans", ("id", *SPAN_COLUMNS), with_ids)
                pk_at = dict(zip(positions, ids, strict=True)) if existing else ids
                attributes = [(pk_at[i], trace_id, key, value, number)
                              for i, trace_id, key, value, number in prepared.attribute_rows()
                              if not existing or i in pk_at]
                if attributes:
                    self._insert(conn, "span_attributes", _ATTRIBUTE_COLUMNS, attributes)
            else:
                # Every span is new: its id is its position plus the first id, added by SQLite, so
                # the rows go in as prepared (no per-row tuple built while the lock is held).
                conn.exec_driver_sql(self._positioned_insert("spans", ids[0]), span_rows)
                if prepared.attribute_rows():
                    conn.exec_driver_sql(self._positioned_insert("span_attributes", ids[0]), prepared.attribute_rows())
            if not self._postgres:
                # The full-text index, for the whole batch in one statement (see the migration).
                conn.execute(_SQLITE_INDEX_TEXT, {"first": ids[0], "last": ids[-1]})
            total_traces(conn, sorted({span_rows[i][1] for i in positions}))
            self._write_trace_attributes(conn, span_rows, prepared.trace_values(), positions)
        return len(positions)

    def _insert(self, conn: Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if self._postgres:
            # COPY: one stream for the whole batch instead of a round trip per row.
            cursor = conn.connection.cursor()
            try:
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:  # type: ignore[attr-defined]
                    for row in rows:
                        copy.write_row(row)
            finally:
                cursor.close()
        else:
            conn.exec_driver_sql(self._insert_sql[table], rows)

    def _positioned_insert(self, table: str, first_id: int) -> str:
        # The id column's placeholder becomes "? + first_id": an int of ours, never user input.
        head, _, values = self._insert_sql[table].partition(" VALUES (?")
        return f"{head} VALUES (? + {int(first_id)}{values}"

    def _allocate_ids(self, conn: Connection, count: int) -> list[int]:
        if self._postgres:
            return list(conn.execute(_PG_IDS, {"n": count}).scalars())
        # Inside BEGIN IMMEDIATE no other writer can insert until we commit. The ids of a batch
        # are consecutive: its text is indexed by one range query.
        start = conn.execute(_SQLITE_MAX_ID).scalar_one() + 1
        return list(range(start, start + count))

    def _write_trace_attributes(self, conn: Connection, span_rows: list[tuple[Any, ...]],
                                trace_values: dict[int, tuple[Any, ...]], positions: Sequence[int]) -> None:
        updates: dict[str, dict[str, Any]] = {}
        tags: dict[tuple[str, str], dict[str, str]] = {}  # a value wins over none
        metadata: dict[tuple[str, str], dict[str, str]] = {}
        written = None if len(positions) == len(span_rows) else set(positions)
        for position, values in trace_values.items():
            if written is not None and position not in written:
                continue
            span_tags, span_metadata, request, response, session, user = values
            row = span_rows[position]
            trace_id = row[1]
            is_root = row[3] is None  # no parent span id
            if is_root or session is not None or user is not None:
                update = updates.get(trace_id)
                if update is None:
                    update = updates[trace_id] = {
                        "trace_id": trace_id,
                        "request": None,
                        "response": None,
                        "root_session": None,
                        "root_user": None,
                        "session": None,
                        "user": None,
                    }
                if is_root:
                    update["request"] = update["request"] or request
                    update["response"] = update["response"] or response
                    update["root_session"] = update["root_session"] or session
                    update["root_user"] = update["root_user"] or user
                else:
                    update["session"] = update["session"] or session
                    update["user"] = update["user"] or user
            for key, value in span_tags:
                if value or (trace_id, key) not in tags:
                    tags[trace_id, key] = {"trace_id": trace_id, "key": key, "value": value}
            for key, value in span_metadata:
                metadata[trace_id, key] = {"trace_id": trace_id, "key": key, "value": value}
        changed = [u for u in updates.values() if any(v is not None for k, v in u.items() if k != "trace_id")]
        if changed:
            conn.execute(_TRACE_ATTRIBUTES, changed)
        if tags:
            conn.execute(_TAGS, list(tags.values()))
        if metadata:
            conn.execute(_METADATA, list(metadata.values()))


class PreparedSpans:
    """A batch of spans as rows (see `SpanWriter.prepare`), ready for one transaction: the spans
    rows, the trace values a few spans carry, the attribute rows. A writer in another process
    gets only these (see __getstate__)."""

    __slots__ = ("_attribute_rows", "_span_rows", "_trace_values", "default_experiment", "records", "rows")

    def __init__(
        self,
        records: Sequence[SpanRecord],
        default_experiment: str,
        rows: list[SpanRows] | None,
        *,
        span_rows: list[tuple[Any, ...]] | None = None,
        trace_values: dict[int, tuple[Any, ...]] | None = None,
        attribute_rows: list[tuple[int, str, str, str, float | None]] | None = None,
    ) -> None:
        self.records = records
        self.default_experiment = default_experiment
        self.rows = rows
        self._span_rows = span_rows
        self._trace_values = trace_values
        self._attribute_rows = attribute_rows

    def __getstate__(self) -> tuple[Any, ...]:
        # What writing needs, for a writer in another process, each value once: not the records
        # it came from, nor the SpanRows (building them again there cost more than unpickling).
        # The rows are computed here, by the sending process, which has time to spare while the
        # writer is busy with the database.
        return (self.default_experiment, self.span_rows(), self.trace_values(), self.attribute_rows())

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self.default_experiment, self._span_rows, self._trace_values, self._attribute_rows = state
        self.rows = None
        self.records = []

    def _spans(self) -> list[SpanRows]:
        assert self.rows is not None, "a batch from another process carries its rows already"
        return self.rows

    def span_rows(self) -> list[tuple[Any, ...]]:
        """The batch's spans rows as (position of the span in the batch, *SPAN_COLUMNS)."""
        if self._span_rows is None:
            self._span_rows = [(position, *r.row) for position, r in enumerate(self._spans())]
        return self._span_rows

    def trace_values(self) -> dict[int, tuple[Any, ...]]:
        """(tags, metadata, request preview, response preview, session, user) by position, for
        the spans that carry any (most carry none)."""
        if self._trace_values is None:
            self._trace_values = {
                position: (r.tags, r.metadata, r.request, r.response, r.session, r.user)
                for position, r in enumerate(self._spans())
                if r.tags or r.metadata or r.request is not None or r.response is not None
                or r.session is not None or r.user is not None
            }
        return self._trace_values

    def attribute_rows(self) -> list[tuple[int, str, str, str, float | None]]:
        """The batch's span_attributes rows as (position of the span in `rows`, trace id, key,
        value, number), one per (trace, key, value), sorted by key and value so that inserting
        them walks the attribute index (key, bucket, value, ...) in order: a batch's spans share a
        bucket or two. Filters ask which traces have a span with a value; the spans of a trace
        repeat most of their values (operation, provider, model, server), and the copies would
        only make every write and every index page larger."""
        if self._attribute_rows is not None:
            return self._attribute_rows
        # By key, then each key's rows sorted by value: cheaper than sorting every row by a
        # (key, value) tuple. A span's (key, value, number) is unique per trace (the number
        # follows from the value), so the attribute's own tuple serves to remove copies.
        by_key: dict[str, list[tuple[int, str, str, str, float | None]]] = {}
        seen_in_trace: dict[str, set[tuple[str, str, float | None]]] = {}
        for position, rows_of_span in enumerate(self._spans()):
            trace_id = rows_of_span.row[0]
            seen = seen_in_trace.get(trace_id)
            if seen is None:
                seen = seen_in_trace[trace_id] = set()
            for attribute in rows_of_span.attributes:
                if attribute not in seen:
                    seen.add(attribute)
                    key, value, number = attribute
                    rows = by_key.get(key)
                    if rows is None:
                        rows = by_key[key] = []
                    rows.append((position, trace_id, key, value, number))
        attributes: list[tuple[int, str, str, str, float | None]] = []
        for key in sorted(by_key):
            rows = by_key[key]
            rows.sort(key=_VALUE)
            attributes += rows
        self._attribute_rows = attributes
        return attributes


def _is_encoding_error(error: BaseException) -> bool:
    for candidate in (error, getattr(error, "orig", None), error.__cause__):
        if candidate is None:
            continue
        if isinstance(candidate, UnicodeEncodeError):
            return True
        message = str(candidate)
        if "NUL" in message or "surrogate" in message:
            return True
    return False


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
