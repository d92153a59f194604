"""LocalStoreSpanExporter: spans written straight into a traceglass store, no server needed."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from traceglass import semconv
from traceglass._env import TrackingEnv
from traceglass._tracking import (
    default_store_url,
    display_url,
    get_tracking_uri,
    is_store_url,
    open_store,
    warn_store_unavailable,
)

if TYPE_CHECKING:
    from traceglass.collector.store import SpanRecord, Store

__all__ = ["LocalStoreSpanExporter"]

_log = logging.getLogger("traceglass")

# A database that is busy or briefly away (another process's long write transaction holding a
# SQLite file past its busy timeout, a PostgreSQL restart) gets this long, in seconds, before a
# batch is given up. Writing a batch again is safe: spans already stored are skipped.
_RETRY_FOR = 10.0
_MAX_BACKOFF = 2.0


class LocalStoreSpanExporter(SpanExporter):
    """Writes finished spans into the store at `url` (a `sqlite:///` or `postgresql://` URL).

    url: default, the tracking URI when it is a store URL (set_tracking_uri(),
    TRACEGLASS_TRACKING_URI), else the default local store (`traceglass.db` in TRACEGLASS_HOME or
    ~/.traceglass). The store is opened (and migrated) at the first export, so building the
    exporter costs nothing. Spans with no experiment go to TRACEGLASS_EXPERIMENT, else "Default".

    Also the `traceglass` exporter of opentelemetry-instrument:
    `OTEL_TRACES_EXPORTER=traceglass opentelemetry-instrument python app.py`.
    Export never raises into the SDK: a failure is logged and reported as FAILURE.
    """

    def __init__(self, url: str | None = None) -> None:
        if url is None:
            uri = get_tracking_uri()
            url = uri if is_store_url(uri) else default_store_url()
        self.url = url
        self._default_experiment = TrackingEnv.resolve().experiment or semconv.names.DEFAULT_EXPERIMENT
        self._store: Store | None = None
        self._shutdown = False
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        records = self._records(spans)
        if not records:
            return SpanExportResult.SUCCESS
        try:
            store = self._open()
        except Exception as exc:
            warn_store_unavailable(exc)
            return SpanExportResult.FAILURE
        deadline = time.monotonic() + _RETRY_FOR
        delay = 0.1
        while True:
            try:
                store.write_spans(records, default_experiment=self._default_experiment)
                return SpanExportResult.SUCCESS
            except Exception as exc:
                if _transient(exc) and not self._shutdown and time.monotonic() + delay < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, _MAX_BACKOFF)
                    continue
                semconv.report_failure(f"writing spans to {display_url(self.url)}")
                return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        # The store is shared by the process (search_traces() reads it too): left open.
        self._shutdown = True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True  # nothing is buffered here: export writes before it returns

    def _open(self) -> Store:
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = open_store(self.url)
        return self._store

    @staticmethod
    def _records(spans: Sequence[ReadableSpan]) -> list[SpanRecord]:
        from ._convert import span_to_record

        records = []
        for span in spans:
            try:
                records.append(span_to_record(span))
            except Exception:  # one malformed span must not cost the batch
                semconv.report_failure("converting a span for the store")
        return records


def _transient(error: Exception) -> bool:
    from traceglass.collector.store._errors import TRANSIENT_ERRORS

    return isinstance(error, TRANSIENT_ERRORS)
