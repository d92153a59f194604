"""The ingest queue's capacity (items and bytes) and its writer, on a real store."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from traceglass.collector.server._queue import IngestQueue, SpanWork, TelemetryWork
from traceglass.collector.server._telemetry import TelemetryRequest, TelemetryTable
from traceglass.collector.store import SpanRecord, Store


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    with Store.open(store_url) as opened:
        yield opened


def _spans(first: int, count: int) -> list[SpanRecord]:
    return [SpanRecord(trace_id=f"{number:032x}", span_id=f"{number:016x}", name=f"s{number}", start_ns=1, end_ns=2)
            for number in range(first, first + count)]


def test_capacity_in_items_and_bytes(store: Store) -> None:
    telemetry = TelemetryTable(store.engine)
    queue = IngestQueue(store, telemetry, capacity=10, batch_size=4, max_bytes=1000)
    assert queue.offer(SpanWork(_spans(1, 6), "Default", nbytes=100))
    assert not queue.offer(SpanWork(_spans(7, 5), "Default", nbytes=100))  # 11 items > 10
    assert queue.offer(SpanWork(_spans(7, 4), "Default", nbytes=100))  # exactly 10
    assert queue.pending == 10

    by_bytes = IngestQueue(store, telemetry, capacity=10, batch_size=4, max_bytes=1000)
    assert by_bytes.offer(SpanWork(_spans(20, 1), "Default", nbytes=2000))  # too big, but the queue is empty
    assert not by_bytes.offer(TelemetryWork(TelemetryRequest("logs", b"x" * 10, 1)))  # 2010 bytes > 1000

    for started in (queue, by_bytes):
        started.start()
        assert started.close(10)
        assert not started.offer(SpanWork(_spans(40, 1), "Default"))  # closed
        assert started.dropped == 0 and started.pending == 0
    assert len(store.search_traces(max_results=100).traces) == 11


def test_batches_keep_their_default_experiment(store: Store) -> None:
    queue = IngestQueue(store, TelemetryTable(store.engine), capacity=100, batch_size=100)
    assert queue.offer(SpanWork(_spans(1, 2), "first"))
    assert queue.offer(SpanWork(_spans(3, 2), "second"))
    assert queue.offer(SpanWork(_spans(5, 1), "first"))
    queue.start()
    assert queue.close(10)
    experiments = {info.name: info.experiment_name for info in store.search_traces().traces}
    assert experiments == {"s1": "first", "s2": "first", "s3": "second", "s4": "second", "s5": "first"}


def test_a_request_waits_a_moment_for_room(store: Store) -> None:
    """A full queue takes a request as soon as a batch is written, within the wait it is given;
    without one (or if nothing is written meanwhile) the answer is "retry" at once."""
    queue = IngestQueue(store, TelemetryTable(store.engine), capacity=4, batch_size=4)
    assert queue.offer(SpanWork(_spans(1, 4), "Default"))
    started = time.monotonic()
    assert not queue.offer(SpanWork(_spans(5, 2), "Default"), 0.2)  # nothing is written: no room
    assert 0.15 < time.monotonic() - started < 5
    assert not queue.offer(SpanWork(_spans(5, 2), "Default"))

    threading.Timer(0.3, queue.start).start()  # the writer starts late and frees the room
    assert queue.offer(SpanWork(_spans(5, 2), "Default"), 30)
    assert queue.close(10)
    assert not queue.offer(SpanWork(_spans(9, 1), "Default"), 30)  # closed: no wait
    assert len(store.search_traces(max_results=100).traces) == 6


def test_a_waiting_request_is_answered_when_the_queue_closes(store: Store) -> None:
    queue = IngestQueue(store, TelemetryTable(store.engine), capacity=2, batch_size=2)
    assert queue.offer(SpanWork(_spans(1, 2), "Default"))
    answers: list[bool] = []
    waiting = threading.Thread(target=lambda: answers.append(queue.offer(SpanWork(_spans(3, 2), "Default"), 60)))
    waiting.start()
    time.sleep(0.2)
    started = time.monotonic()
    assert not queue.close(0.1)  # never started: the backlog stays unwritten
    waiting.join(10)
    assert answers == [False] and time.monotonic() - started < 5


def test_requests_gather_into_full_batches_while_the_writer_is_busy(store: Store) -> None:
    """An idle writer gets a request at once; while it writes, the requests that come in wait
    until they make a full batch (or the writer is free again), rather than trickling after it
    in batches of one request each."""
    written: list[int] = []
    gate = threading.Event()

    def write_prepared(prepared: object) -> int:
        gate.wait(30)
        written.append(len(prepared.span_rows()))  # type: ignore[attr-defined]
        return store.write_prepared(prepared)  # type: ignore[arg-type]

    queue = IngestQueue(store, TelemetryTable(store.engine), capacity=40, batch_size=10,
                        write_prepared=write_prepared)
    queue.start()
    assert queue.offer(SpanWork(_spans(1, 2), "Default"))
    time.sleep(0.3)  # taken by the idle writer, which now waits at the gate
    for first in range(3, 25, 2):  # eleven requests of two spans
        assert queue.offer(SpanWork(_spans(first, 2), "Default"))
        time.sleep(0.02)
    gate.set()
    assert queue.close(10)
    assert written == [2, 10, 10, 2]
    assert len(store.search_traces(max_results=100).traces) == 24


def test_data_the_database_refuses_is_not_retried_for_ever() -> None:
    """On PostgreSQL a value too long for an index is an OperationalError, like a server that is
    away: the queue retries the second, and writes the first span by span instead."""
    import sqlite3

    import psycopg
    from sqlalchemy.exc import OperationalError
    from traceglass.collector.server._queue import _retriable
    from traceglass.collector.server._writer_process import WriterUnavailable

    def wrapped(cause: Exception) -> OperationalError:
        return OperationalError("INSERT", None, cause)

    assert not _retriable(wrapped(psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum")))
    assert _retriable(wrapped(psycopg.errors.AdminShutdown("terminating connection")))
    assert _retriable(wrapped(psycopg.OperationalError("connection refused")))
    assert _retriable(wrapped(sqlite3.OperationalError("database is locked")))
    assert _retriable(WriterUnavailable("restarting"))
    assert not _retriable(ValueError("a bug"))
