"""LocalStoreSpanExporter and the ReadableSpan -> SpanRecord conversion."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Link, NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import TraceState
from sqlalchemy.exc import OperationalError
from traceglass.exporters import LocalStoreSpanExporter
from traceglass.exporters._convert import span_to_record

import traceglass
from tests.tracking._helpers import read_store
from traceglass._tracking import open_store

REMOTE = SpanContext(0x1234, 0x5678, is_remote=True, trace_flags=TraceFlags(1),
                     trace_state=TraceState([("vendor", "v1")]))


def _spans() -> list[ReadableSpan]:
    memory = InMemorySpanExporter()
    provider = TracerProvider(
        resource=Resource.create({"service.name": "convert-test"}, schema_url="https://opentelemetry.io/schemas/1.1.0"),
        span_limits=SpanLimits(max_span_attributes=3, max_events=1, max_links=1),
        shutdown_on_exit=False,
    )
    provider.add_span_processor(SimpleSpanProcessor(memory))
    tracer = provider.get_tracer("convert.scope", "1.2.3", schema_url="https://example.com/schema/1.0",
                                 attributes={"scope.attr": "x"})
    parent = trace.set_span_in_context(NonRecordingSpan(REMOTE))
    with tracer.start_as_current_span(
        "server op", context=parent, kind=SpanKind.SERVER,
        links=[Link(REMOTE), Link(REMOTE, {"link.attr": 1})],  # the first is dropped
    ) as span:
        span.set_attributes({"a": 1, "b": ["x", "y"], "c": True, "d": 1.5})  # one too many
        span.add_event("dropped")  # the oldest goes when the limit is passed
        span.add_event("kept", {"e": "v"}, timestamp=123)
        span.set_status(Status(StatusCode.ERROR, "boom"))
        with tracer.start_as_current_span("child"):
            pass
    provider.shutdown()
    return list(memory.get_finished_spans())


def test_conversion_keeps_everything_otlp_has() -> None:
    child, server = (span_to_record(span) for span in _spans())

    assert server.trace_id == f"{0x1234:032x}"
    assert len(server.span_id) == 16
    assert server.parent_span_id == f"{0x5678:016x}"
    assert child.parent_span_id == server.span_id
    assert (server.kind, child.kind) == ("SERVER", "INTERNAL")
    assert (server.status_code, server.status_message) == ("ERROR", "boom")
    assert (child.status_code, child.status_message) == ("UNSET", None)
    assert server.attributes == {"b": ["x", "y"], "c": True, "d": 1.5}  # the oldest is dropped
    assert server.dropped_attributes_count == 1
    assert [(e.name, e.time_ns, dict(e.attributes)) for e in server.events] == [("kept", 123, {"e": "v"})]
    assert server.dropped_events_count == 1
    [link] = server.links
    assert (link.trace_id, link.span_id, link.trace_state) == (f"{0x1234:032x}", f"{0x5678:016x}", "vendor=v1")
    assert link.attributes == {"link.attr": 1}
    assert server.dropped_links_count == 1
    assert server.resource_attributes["service.name"] == "convert-test"
    assert server.resource_schema_url == "https://opentelemetry.io/schemas/1.1.0"
    assert (server.scope_name, server.scope_version) == ("convert.scope", "1.2.3")
    assert server.scope_schema_url == "https://example.com/schema/1.0"
    assert server.scope_attributes == {"scope.attr": "x"}
    assert server.trace_state == "vendor=v1"
    assert server.flags == 0x301  # sampled, parent is remote (and known to be)
    assert child.flags == 0x101
    assert server.start_ns <= child.start_ns <= child.end_ns <= server.end_ns


def test_exporter_writes_into_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'exported.db'}"
    exporter = LocalStoreSpanExporter(url)
    spans = _spans()

    assert exporter.export(spans) is SpanExportResult.SUCCESS
    assert exporter.export(spans) is SpanExportResult.SUCCESS  # a retried batch is not stored twice

    [stored] = read_store(url)
    assert stored.info.trace_id == f"{0x1234:032x}"
    assert sorted(span.name for span in stored.spans) == ["child", "server op"]
    server = next(span for span in stored.spans if span.name == "server op")
    assert server.scope_schema_url == "https://example.com/schema/1.0"
    assert server.attributes["b"] == ["x", "y"]


def test_a_busy_database_is_retried_rather_than_the_spans_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    exporter = LocalStoreSpanExporter(url)
    store = open_store(url)
    write_spans = store.write_spans
    attempts: list[int] = []

    def locked_twice(*args: Any, **kwargs: Any) -> int:
        # What another process holding the write lock past SQLite's busy timeout looks like.
        attempts.append(1)
        if len(attempts) <= 2:
            raise OperationalError("BEGIN IMMEDIATE", None, sqlite3.OperationalError("database is locked"))
        return write_spans(*args, **kwargs)

    monkeypatch.setattr(store, "write_spans", locked_twice)

    assert exporter.export(_spans()) is SpanExportResult.SUCCESS
    assert len(attempts) == 3
    [stored] = read_store(url)
    assert sorted(span.name for span in stored.spans) == ["child", "server op"]


def test_exporter_defaults_to_the_tracking_uri(tmp_path: Path, default_store_url: str) -> None:
    assert LocalStoreSpanExporter().url == default_store_url
    elsewhere = f"sqlite:///{tmp_path / 'x.db'}"
    traceglass.set_tracking_uri(elsewhere)
    assert LocalStoreSpanExporter().url == elsewhere
    traceglass.set_tracking_uri("http://127.0.0.1:5000")  # not a store: the default one
    assert LocalStoreSpanExporter().url == default_store_url


def test_exporter_never_raises(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    exporter = LocalStoreSpanExporter(f"sqlite:///{blocker / 'cannot.db'}")

    with caplog.at_level("WARNING", logger="traceglass"):
        assert exporter.export(_spans()) is SpanExportResult.FAILURE
    assert "The application is not affected" in caplog.text
    exporter.shutdown()
    assert exporter.export(_spans()) is SpanExportResult.FAILURE


def test_spans_a_locked_store_refuses_are_kept_and_written_once_it_is_free(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Another process holds the store's write lock past the busy timeout: each batch is set
    aside with one WARNING line naming the reason (no traceback), and written, all of them, when
    the lock is gone; one INFO line says so."""
    from traceglass.exporters import _local

    monkeypatch.setattr(_local, "_RETRY_FOR", 0.0)  # one attempt (the busy timeout) per batch
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    exporter = LocalStoreSpanExporter(url)
    assert exporter.export(_spans()) is SpanExportResult.SUCCESS  # creates the store
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")

    with caplog.at_level("DEBUG", logger="traceglass"):
        assert exporter.export(_spans()) is SpanExportResult.FAILURE
        assert exporter.export(_spans()) is SpanExportResult.FAILURE
        started = time.monotonic()
        assert not exporter.force_flush()  # refused a moment ago: not tried again at once
        assert time.monotonic() - started < 1
        holder.execute("ROLLBACK")
        monkeypatch.setattr(_local, "_JUST_FAILED", 0.0)
        assert exporter.force_flush()

    warnings = [r for r in caplog.records if r.levelname == "WARNING" and r.name == "traceglass"]
    assert [r.getMessage() for r in warnings] == [
        f"traceglass: could not write 2 spans to {url} (database is locked); they are kept and written with the "
        "next batch. The application is not affected."
    ]
    assert warnings[0].exc_info is None
    assert f"traceglass: writing spans to {url} again (4 spans written)." in caplog.messages
    [stored] = read_store(url)
    assert len(stored.spans) == 6


def test_spans_kept_when_the_exporter_shuts_down_get_one_more_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from traceglass.exporters import _local

    monkeypatch.setattr(_local, "_RETRY_FOR", 0.0)
    monkeypatch.setattr(_local, "_JUST_FAILED", 0.0)
    url = f"sqlite:///{tmp_path / 'locked.db'}"
    exporter = LocalStoreSpanExporter(url)
    assert exporter.export(_spans()) is SpanExportResult.SUCCESS
    holder = sqlite3.connect(tmp_path / "locked.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    assert exporter.export(_spans()) is SpanExportResult.FAILURE

    with caplog.at_level("WARNING", logger="traceglass"):
        exporter.shutdown()  # still locked
    holder.execute("ROLLBACK")
    assert f"traceglass: 2 spans refused by the store at {url} since its last successful write were not " \
           "recorded: the exporter shut down." in caplog.messages
    assert exporter.force_flush()  # nothing kept any more
    [stored] = read_store(url)
    assert len(stored.spans) == 2


@pytest.mark.parametrize(
    ("message", "wait", "keep"),
    [("database is locked", True, True), ("database table is locked", True, True),
     ("database or disk is full", False, True), ("attempt to write a readonly database", False, True),
     ("disk I/O error", False, True), ("too many SQL variables", False, False)],
)
def test_what_is_waited_for_and_kept_on_sqlite(message: str, wait: bool, keep: bool) -> None:
    from traceglass.collector.store._errors import keep_for_later, worth_waiting_for

    error = OperationalError("INSERT", None, sqlite3.OperationalError(message))
    assert (worth_waiting_for(error), keep_for_later(error)) == (wait, keep)


@pytest.mark.parametrize(
    ("driver_error", "wait", "keep"),
    [("OperationalError", True, True),  # no answer: refused, timed out (no SQLSTATE)
     ("AdminShutdown", True, True), ("CannotConnectNow", True, True), ("DeadlockDetected", True, True),
     ("DiskFull", False, True), ("ReadOnlySqlTransaction", False, True),
     ("ProgramLimitExceeded", False, False),  # a value too long for an index: the data itself
     ("StringDataRightTruncation", False, False)],
)
def test_what_is_waited_for_and_kept_on_postgresql(driver_error: str, wait: bool, keep: bool) -> None:
    import psycopg
    from traceglass.collector.store._errors import keep_for_later, worth_waiting_for

    cause = getattr(psycopg.errors, driver_error, None) or getattr(psycopg, driver_error)
    error = OperationalError("INSERT", None, cause("from the server"))
    assert (worth_waiting_for(error), keep_for_later(error)) == (wait, keep)
