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
    describe_error,
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
# batch is set aside. Writing a batch again is safe: spans already stored are skipped.
_RETRY_FOR = 10.0
_MAX_BACKOFF = 2.0
# Spans whose batch could not be written are kept, up to this many (the newest), and written
# with the next batch: a store locked or full for a while loses nothing it can hold. Minutes of
# an ordinary app's spans, in some 50 MB at most (with 1-2 KB of content each).
_MAX_KEPT = 16384
# A flush or shutdown right after a batch failed does not try the kept spans again at once: the
# database refused them a moment ago, and each attempt on a locked file waits its busy timeout.
_JUST_FAILED = 1.0


class LocalStoreSpanExporter(SpanExporter):
    """Writes finished spans into the store at `url` (a `sqlite:///` or `postgresql://` URL).

    url: default, the tracking URI when it is a store URL (set_tracking_uri(),
    TRACEGLASS_TRACKING_URI), else the default local store (`traceglass.db` in TRACEGLASS_HOME or
    ~/.traceglass). The store is opened (and migrated) at the first export, so building the
    exporter costs nothing. Spans with no experiment go to TRACEGLASS_EXPERIMENT, else "Default".

    Also the `traceglass` exporter of opentelemetry-instrument:
    `OTEL_TRACES_EXPORTER=traceglass opentelemetry-instrument python app.py`.
    Export never raises into the SDK. A batch the database refuses for a while (locked by
    another process, a full disk, a server away) is kept, up to 16,384 spans, and written with the
    next batch, by force_flush() or at shutdown; one line reports each reason of an outage, one
    its end. A batch the database refuses for its data is given up, without the kept spans.
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
        self._writing = threading.Lock()  # one write at a time: the kept spans go out once
        self._kept: list[SpanRecord] = []
        self._outage = _Outage()
        self._failed_at = float("-inf")  # time.monotonic() of the last failed write

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        records = self._records(spans)
        if not records and not self._kept:
            return SpanExportResult.SUCCESS
        return SpanExportResult.SUCCESS if self._write(records, _RETRY_FOR) else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        # The store is shared by the process (search_traces() reads it too): left open.
        self._shutdown = True
        if self._kept and not self._just_failed():
            self._write([], 0.0)
        with self._writing:
            count, self._kept = len(self._kept), []
        lost = self._outage.lost + count
        if lost:
            _log.warning("traceglass: %s refused by the store at %s since its last successful write %s not "
                         "recorded: the exporter shut down.", _spans(lost), display_url(self.url),
                         "was" if lost == 1 else "were")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write the spans kept from batches that failed, trying for at most `timeout_millis`
        (export writes its batch before it returns)."""
        if not self._kept:
            return True
        return not self._just_failed() and self._write([], min(_RETRY_FOR, timeout_millis / 1000))

    def _just_failed(self) -> bool:
        return time.monotonic() - self._failed_at < _JUST_FAILED

    def _write(self, records: list[SpanRecord], retry_for: float) -> bool:
        """Write the kept spans and `records`; what fails is kept or given up (see _failed)."""
        with self._writing:
            kept, self._kept = self._kept, []
            try:
                store = self._open()
            except Exception as exc:  # a StoreError, caused by the database's own error
                warn_store_unavailable(exc)
                self._failed([(kept + records, exc.__cause__ or exc)], reported=True)
                return False
            batch = kept + records if kept else records
            if not batch:
                return True
            error = self._attempt(store, batch, retry_for)
            if error is None:
                self._outage.ended(self.url, len(batch))
                return True
            from traceglass.collector.store._errors import keep_for_later

            if kept and records and not keep_for_later(error):
                # The database refused the data itself: the new spans or the kept ones, each once.
                parts = [(kept, self._attempt(store, kept, 0.0)), (records, self._attempt(store, records, 0.0))]
                self._failed([(part, part_error) for part, part_error in parts if part_error is not None])
            else:
                self._failed([(batch, error)])
            return False

    def _attempt(self, store: Store, batch: list[SpanRecord], retry_for: float) -> Exception | None:
        """Write `batch`, trying again for `retry_for` seconds while the database is locked or
        away; the error it ended with, or None."""
        from traceglass.collector.store._errors import worth_waiting_for

        deadline = time.monotonic() + retry_for
        delay = 0.1
        while True:
            try:
                store.write_spans(batch, default_experiment=self._default_experiment)
                return None
            except Exception as exc:
                if worth_waiting_for(exc) and not self._shutdown and time.monotonic() + delay < deadline:
                    time.sleep(delay)
                    delay = min(delay * 2, _MAX_BACKOFF)
                    continue
                return exc

    def _failed(self, failures: list[tuple[list[SpanRecord], BaseException]], reported: bool = False) -> None:
        """Keep the spans of each failed part a database may take later (the newest _MAX_KEPT),
        give the others up, and say so: one WARNING line for each new reason during an outage,
        with the database's own message (the traceback at DEBUG)."""
        from traceglass.collector.store._errors import keep_for_later

        self._failed_at = time.monotonic()
        for part, error in failures:
            if not reported:  # (a store that did not open was reported on one line already)
                _log.debug("traceglass: writing %s to %s failed", _spans(len(part)), display_url(self.url),
                           exc_info=error)
            if keep_for_later(error):
                held = self._kept + part
                self._kept = held[-_MAX_KEPT:]
                lost = len(held) - len(self._kept)
            else:
                lost = len(part)
            self._outage.lost += lost
            reason = describe_error(error)
            if reported or self._shutdown or not self._outage.new_reason(reason):
                continue
            if lost == 0:
                outcome = f"{'it is' if len(part) == 1 else 'they are'} kept and written with the next batch"
            elif lost == len(part):
                outcome = f"{'it was' if lost == 1 else 'they were'} not recorded"
            else:
                outcome = f"{_spans(lost)} of them not recorded, the rest kept for the next batch"
            _log.warning("traceglass: could not write %s to %s (%s); %s. The application is not affected.",
                         _spans(len(part)), display_url(self.url), reason, outcome)

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


class _Outage:
    """Writes failing since the last one that succeeded: the reasons reported, the spans given up."""

    def __init__(self) -> None:
        self.reasons: set[str] = set()
        self.lost = 0

    def new_reason(self, reason: str) -> bool:
        if reason in self.reasons:
            return False
        self.reasons.add(reason)
        return True

    def ended(self, url: str, written: int) -> None:
        if not self.reasons:
            return
        lost = f"; {_spans(self.lost)} could not be kept and {'was' if self.lost == 1 else 'were'} not recorded"
        _log.info("traceglass: writing spans to %s again (%s written)%s.", display_url(url), _spans(written),
                  lost if self.lost else "")
        self.reasons.clear()
        self.lost = 0


def _spans(count: int) -> str:
    return f"{count:,} span{'' if count == 1 else 's'}"
