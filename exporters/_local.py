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
    next batch, by force_flush() or at shutdown; one line reports the outage, one its end.
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
        self._outage: _Outage | None = None
        self._failed_at = float("-inf")  # time.monotonic() of the last failed write

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if self._shutdown:
            return SpanExportResult.FAILURE
        records = self._records(spans)
        if not records and not self._kept:
            return SpanExportResult.SUCCESS
        return SpanExportResult.SUCCESS if self._write(records, wait=True) else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        # The store is shared by the process (search_traces() reads it too): left open.
        self._shutdown = True
        if self._kept and not self._just_failed():
            self._write([], wait=False)
        if self._kept:
            count = len(self._kept)
            self._kept = []
            _log.warning("traceglass: %s could not be written to %s before the exporter shut down and %s not "
                         "recorded.", _spans(count), display_url(self.url), "was" if count == 1 else "were")

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Write the spans kept from batches that failed (export writes before it returns)."""
        return not self._kept or (not self._just_failed() and self._write([], wait=True))

    def _just_failed(self) -> bool:
        return time.monotonic() - self._failed_at < _JUST_FAILED

    def _write(self, records: list[SpanRecord], wait: bool) -> bool:
        try:
            store = self._open()
        except Exception as exc:
            warn_store_unavailable(exc)
            return False
        with self._writing:
            batch = self._kept + records if self._kept else records
            if not batch:
                return True
            deadline = time.monotonic() + _RETRY_FOR
            delay = 0.1
            while True:
                try:
                    store.write_spans(batch, default_experiment=self._default_experiment)
                except Exception as exc:
                    from traceglass.collector.store._errors import worth_waiting_for

                    if (wait and worth_waiting_for(exc) and not self._shutdown
                            and time.monotonic() + delay < deadline):
                        time.sleep(delay)
                        delay = min(delay * 2, _MAX_BACKOFF)
                        continue
                    self._set_aside(batch, exc)
                    self._failed_at = time.monotonic()
                    return False
                self._kept = []
                if self._outage is not None:
                    outage, self._outage = self._outage, None
                    outage.ended(self.url, len(batch))
                return True

    def _set_aside(self, batch: list[SpanRecord], error: Exception) -> None:
        """Keep what a refusing database may take later; report the first failure of an outage at
        WARNING, with the database's reason on one line (the traceback at DEBUG)."""
        from traceglass.collector.store._errors import TRANSIENT_ERRORS

        _log.debug("traceglass: writing %s to %s failed", _spans(len(batch)), display_url(self.url), exc_info=True)
        self._kept = batch[-_MAX_KEPT:] if isinstance(error, TRANSIENT_ERRORS) else []
        kept, lost = len(self._kept), len(batch) - len(self._kept)
        reported = self._outage is not None
        if self._outage is None:
            self._outage = _Outage()
        self._outage.lost += lost
        if reported:
            return
        if not kept:
            outcome = f"{'it was' if lost == 1 else 'they were'} not recorded"
        elif not lost:
            outcome = f"{'it is' if kept == 1 else 'they are'} kept and written with the next batch"
        else:
            outcome = f"the newest {kept:,} are kept and written with the next batch, {_spans(lost)} not recorded"
        _log.warning("traceglass: could not write %s to %s (%s); %s. The application is not affected.",
                     _spans(len(batch)), display_url(self.url), describe_error(error), outcome)

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
    """A store refusing writes: the spans it made the exporter give up, reported when it ends."""

    def __init__(self) -> None:
        self.lost = 0

    def ended(self, url: str, written: int) -> None:
        lost = f"; {_spans(self.lost)} could not be kept and {'was' if self.lost == 1 else 'were'} not recorded"
        _log.info("traceglass: writing spans to %s again (%s written)%s.", display_url(url), _spans(written),
                  lost if self.lost else "")


def _spans(count: int) -> str:
    return f"{count:,} span{'' if count == 1 else 's'}"
