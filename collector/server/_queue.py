"""The bounded ingest queue and the thread that writes it to the store.

Receivers `offer()` a decoded request; it is accepted only while the work not yet written stays
within the capacity, counted in items (spans, data points, log records) and in bytes (the
requests' protobuf size, which bounds the memory the backlog holds). A request that does not fit
waits a moment for the next batch to be written (no longer than the exporter would be told to
wait before retrying), else the receiver tells the exporter to retry. Capacity is released when a
batch is written, not when it is taken off the queue, so the count is the true backlog. An idle
writer gets what is queued at once; a busy one, a full batch when it is free. Two
threads write: one merges queued span requests into batches and prepares their rows (Python
work), the other writes prepared batches (database work, which releases the GIL), so the next
batch is ready when the previous one commits.

Nothing accepted is dropped for a database that is briefly unavailable (locked, restarting): the
writer retries such errors with backoff while the queue fills and receivers push back. A batch the
store rejects for its content is retried span by span, so one bad span cannot hold up the rest;
only spans the store refuses on their own are logged and dropped. `close()` stops accepting and
waits until the backlog is written.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import exc as sa_exc
from traceglass.collector.store import PreparedSpans, SpanRecord, Store
from traceglass.collector.store._errors import TRANSIENT_ERRORS, keep_for_later

from ._telemetry import TelemetryRequest, TelemetryTable
from ._writer_process import WriterUnavailable

__all__ = ["IngestQueue", "SpanWork", "TelemetryWork"]

_log = logging.getLogger("traceglass.server")

# Errors that say the database could not be reached or was busy, not that the data is bad.
_TRANSIENT = (*TRANSIENT_ERRORS, WriterUnavailable)
_MAX_BACKOFF = 5.0


@dataclasses.dataclass(frozen=True)
class SpanWork:
    records: list[SpanRecord]
    default_experiment: str
    nbytes: int = 0  # protobuf size of the request the spans came in

    @property
    def size(self) -> int:
        return len(self.records)


@dataclasses.dataclass(frozen=True)
class TelemetryWork:
    request: TelemetryRequest

    @property
    def size(self) -> int:
        return max(1, self.request.item_count)

    @property
    def nbytes(self) -> int:
        return len(self.request.payload)


Work = SpanWork | TelemetryWork


class IngestQueue:
    """A bounded backlog of received spans, metrics and logs, written by one thread."""

    def __init__(self, store: Store, telemetry: TelemetryTable, capacity: int, batch_size: int,
                 max_bytes: int = 256 * 1024 * 1024,
                 write_prepared: Callable[[Any], int] | None = None,
                 pack: Callable[[PreparedSpans], Any] | None = None) -> None:
        self._store = store
        # Store.write_prepared, or the same in a writer process (see _writer_process), which takes
        # a batch as `pack` made it: packing runs in the preparing thread, beside the previous
        # batch's write rather than after it.
        self._write_prepared = write_prepared or store.write_prepared
        self._pack = pack
        self._telemetry = telemetry
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._pending_bytes = 0
        self._batch_size = batch_size
        self._items: collections.deque[Work] = collections.deque()
        self._queued = 0  # items offered and not yet taken into a batch
        self._pending = 0  # items offered and not yet written
        self._in_flight = 0  # batches taken and not yet written
        self._closed = False
        self._stop_retrying = False
        self._dropped = 0
        self._condition = threading.Condition()
        # One prepared batch waits while the previous one is written: enough to overlap the two.
        self._prepared: queue.Queue[tuple[list[Work], Any] | None] = queue.Queue(maxsize=1)
        self._writer_done = threading.Event()
        self._preparer = threading.Thread(target=self._prepare_loop, name="traceglass-prepare", daemon=True)
        self._thread = threading.Thread(target=self._write_loop, name="traceglass-writer", daemon=True)

    def start(self) -> None:
        self._thread.start()
        self._preparer.start()

    @property
    def pending(self) -> int:
        """Spans, data points and log records accepted and not yet written."""
        return self._pending

    @property
    def dropped(self) -> int:
        """Spans the store refused (logged), plus anything left unwritten by a timed-out close."""
        return self._dropped

    def offer(self, work: Work, wait: float = 0.0) -> bool:
        """Queue `work`, waiting up to `wait` seconds for room; False when the queue stays full
        or is closing (the caller answers "retry"). A request larger than the whole capacity is
        still accepted when the queue is empty, or it could never be."""
        with self._condition:
            if not self._condition.wait_for(lambda: self._closed or self._has_room(work), wait):
                return False
            if self._closed:
                return False
            self._items.append(work)
            self._queued += work.size
            self._pending += work.size
            self._pending_bytes += work.nbytes
            # All: the preparing thread, and requests waiting for room that may now fit.
            self._condition.notify_all()
            return True

    def _has_room(self, work: Work) -> bool:
        return not self._pending or (self._pending + work.size <= self._capacity
                                     and self._pending_bytes + work.nbytes <= self._max_bytes)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until everything accepted so far is written; False on timeout."""
        with self._condition:
            return self._condition.wait_for(lambda: self._pending == 0, timeout)

    def close(self, timeout: float | None = None) -> bool:
        """Stop accepting, write the backlog, stop the thread. False (and the loss logged) if the
        backlog could not be written within `timeout` seconds."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
        if not self._thread.is_alive():
            return self._pending == 0
        deadline = None if timeout is None else time.monotonic() + timeout
        self._preparer.join(timeout)
        self._thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        if self._thread.is_alive():
            self._stop_retrying = True  # the database stayed down: give up on the backlog
            self._thread.join(_MAX_BACKOFF + 1)
        if self._pending:
            _log.error("traceglass server: %d received items could not be written before shutdown and are lost.",
                       self._pending)
            self._dropped += self._pending
            return False
        return True

    # --- the writer threads ------------------------------------------------------------------

    def _prepare_loop(self) -> None:
        try:
            while True:
                with self._condition:
                    self._condition.wait_for(self._batch_ready)
                    if not self._items:
                        return  # closed and drained
                    batch = self._take()
                    self._in_flight += 1
                self._hand_over((batch, self._prepare(batch)))
        finally:
            self._hand_over(None)

    def _batch_ready(self) -> bool:
        # While the writer is busy, requests gather into a full batch: taking each as it came
        # left the writer small batches under load (a median of 3,584 spans, not 8,192), each
        # costing a commit and a trace update nearly as dear as a full one's. An idle writer
        # gets whatever is there at once. (A full batch: half the capacity when that is smaller,
        # since what is in flight counts against the capacity too.)
        if self._closed:
            return True
        full = min(self._batch_size, self._capacity // 2)
        return bool(self._items) and (self._queued >= full or not self._in_flight)

    def _prepare(self, batch: list[Work]) -> Any:
        """The batch's rows (packed for the writer process when there is one), or None when they could
        not be prepared now (the writer then writes the batch as a whole, with its retries)."""
        first = batch[0]
        if not isinstance(first, SpanWork):
            return None
        records = [record for work in batch if isinstance(work, SpanWork) for record in work.records]
        try:
            prepared = self._store.prepare_spans(records, default_experiment=first.default_experiment)
            return prepared if self._pack is None else self._pack(prepared)
        except Exception:
            _log.debug("traceglass server: preparing %d spans failed; the writer retries them", len(records),
                       exc_info=True)
            return None

    def _hand_over(self, item: tuple[list[Work], Any] | None) -> None:
        while not self._writer_done.is_set():
            try:
                self._prepared.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _write_loop(self) -> None:
        try:
            while True:
                item = self._prepared.get()
                if item is None:
                    return
                batch, prepared = item
                written = sum(work.size for work in batch)
                written_bytes = sum(work.nbytes for work in batch)
                try:
                    self._write(batch, prepared)
                except _GiveUp:
                    return
                except Exception:  # never let the writer die: the backlog would never drain
                    _log.exception("traceglass server: unexpected error writing %d items; they are dropped.",
                                   written)
                    self._dropped += written
                with self._condition:
                    self._pending -= written
                    self._pending_bytes -= written_bytes
                    self._in_flight -= 1
                    self._condition.notify_all()
        finally:
            self._writer_done.set()

    def _take(self) -> list[Work]:
        """The next batch: consecutive span requests of one default experiment up to the batch
        size, or consecutive metrics/logs requests."""
        first = self._items.popleft()
        batch: list[Work] = [first]
        size = first.size
        while self._items and size < self._batch_size:
            following = self._items[0]
            if type(following) is not type(first) or size + following.size > self._batch_size:
                break
            if (isinstance(first, SpanWork) and isinstance(following, SpanWork)
                    and following.default_experiment != first.default_experiment):
                break
            batch.append(self._items.popleft())
            size += following.size
        self._queued -= size
        return batch

    def _write(self, batch: list[Work], prepared: Any) -> None:
        first = batch[0]
        if isinstance(first, TelemetryWork):
            requests = [work.request for work in batch if isinstance(work, TelemetryWork)]
            self._retrying(lambda: self._telemetry.write(requests), len(requests), "metrics/logs requests")
            return
        records = [record for work in batch if isinstance(work, SpanWork) for record in work.records]

        def write() -> int:
            nonlocal prepared
            if prepared is None:
                return self._store.write_spans(records, default_experiment=first.default_experiment)
            try:
                return self._write_prepared(prepared)
            except WriterUnavailable:
                raise  # nothing was written: the same batch goes to the restarted writer
            except _TRANSIENT:
                prepared = None  # prepared under ids that may be stale by the time the database is back
                raise
            except sa_exc.IntegrityError:
                # Prepared with the id of an experiment deleted since (by another process): written
                # here, where the store prepares the batch again with fresh ids, not span by span.
                prepared = None
                return self._store.write_spans(records, default_experiment=first.default_experiment)

        try:
            self._retrying(write, len(records), "spans")
        except _Rejected:
            self._write_one_by_one(records, first.default_experiment)

    def _write_one_by_one(self, records: list[SpanRecord], default_experiment: str) -> None:
        for record in records:
            try:
                self._retrying(lambda r=record: self._store.write_spans([r], default_experiment=default_experiment),
                               1, "spans", quiet=True)
            except _Rejected as rejected:
                self._dropped += 1
                _log.error("traceglass server: the store refused span %s of trace %s (%s); it is dropped.",
                           record.span_id, record.trace_id, rejected.__cause__)

    def _retrying(self, write: Callable[[], Any], count: int, what: str, quiet: bool = False) -> None:
        delay = 0.05
        warned = False
        while True:
            try:
                write()
                if warned:
                    _log.warning("traceglass server: the store is writable again.")
                return
            except Exception as error:
                if _retriable(error):
                    if self._stop_retrying:
                        raise _GiveUp from error
                    if not warned:
                        _log.warning("traceglass server: cannot write %d %s yet (%s); retrying while receivers ask "
                                     "exporters to wait.", count, what, _first_line(error))
                        warned = True
                    time.sleep(delay)
                    delay = min(delay * 2, _MAX_BACKOFF)
                    continue
                if not quiet:
                    _log.warning("traceglass server: the store refused a batch of %d %s (%s); writing them one "
                                 "by one.", count, what, _first_line(error))
                raise _Rejected from error


class _Rejected(Exception):
    """The store refused the data itself (not a connection or lock problem)."""


class _GiveUp(Exception):
    """Shutdown ran out of time while the database was unavailable."""


def _retriable(error: BaseException) -> bool:
    """A database unreachable, busy or out of room, or the writer process restarting: not the data
    refused (on PostgreSQL a value too long for an index is an OperationalError too)."""
    return isinstance(error, WriterUnavailable) or keep_for_later(error)


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
