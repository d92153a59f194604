"""The telemetry pipeline autolog(), set_experiment() and search_traces() rely on.

Set up on first need. When no SDK TracerProvider is global, one is created
(`Resource.create()`, so OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES apply) and made global.
When the application or `opentelemetry-instrument` already installed one, traceglass adds to it
rather than replacing it. Either way the provider gets three processors, once:

- `ExperimentSpanProcessor`, which stamps the experiment on each span;
- `LastTraceSpanProcessor`, which notes each trace that finishes (`get_last_active_trace_id()`);
- `DestinationSpanProcessor`, which batches spans to the destination (`_tracking`), unless the
  provider already exports there (no span is ever exported twice to one place). It can be
  re-aimed: `set_tracking_uri()` swaps its exporters.

Metrics and the inference-details events follow the destination too (an SDK MeterProvider and
LoggerProvider are created when none is global and the destination takes them: a traceglass
server or OTLP; a store holds spans only). Everything is flushed at exit, in multiprocessing
children too (`_children`); a traceglass server's exporters then make one attempt per batch
instead of their retries, so a server that is down holds exit a second or two, not ten per
batch. A failure while setting up is logged and swallowed: the application runs on, untraced.
"""

from __future__ import annotations

import atexit
import dataclasses
import logging
import sys
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from traceglass import semconv
from traceglass._active import LastTraceSpanProcessor
from traceglass._children import flush_children, flushing
from traceglass._destinations import Exporters, exporter_identity, exporters_for
from traceglass._env import sdk_disabled
from traceglass._experiment import ExperimentSpanProcessor
from traceglass._tracking import Destination, resolve_destination

__all__ = ["STORE_EXPORT_BATCH", "DestinationSpanProcessor", "Providers", "ensure", "flush", "retarget"]

_log = logging.getLogger("traceglass")


@dataclasses.dataclass(frozen=True)
class Providers:
    """What instrumentors are handed: the tracer provider, and the meter and logger providers when
    traceglass set them up (None: the global ones)."""

    tracer_provider: trace.TracerProvider
    meter_provider: metrics.MeterProvider | None = None
    logger_provider: Any | None = None  # opentelemetry._logs.LoggerProvider (an unstable API)


# A store commits once per batch, so larger batches cost less per span (end to end on SQLite:
# ~4,100 spans/s with the SDK's 512, ~5,700 with 8,192), and a burst of spans waits in memory
# rather than being dropped when the SDK's default queue (2,048) is full.
STORE_EXPORT_BATCH = 4096
_STORE_QUEUE = 65536


def _batch_processor(exporter: SpanExporter) -> BatchSpanProcessor:
    from traceglass.exporters import LocalStoreSpanExporter

    if isinstance(exporter, LocalStoreSpanExporter):
        return BatchSpanProcessor(exporter, max_queue_size=_STORE_QUEUE, max_export_batch_size=STORE_EXPORT_BATCH)
    return BatchSpanProcessor(exporter)


class DestinationSpanProcessor(SpanProcessor):
    """Batches ended spans to the destination's exporters; `replace()` re-aims it."""

    def __init__(self) -> None:
        self._delegates: tuple[BatchSpanProcessor, ...] = ()
        self._exporters: tuple[SpanExporter, ...] = ()

    def replace(self, exporters: Sequence[SpanExporter]) -> None:
        """Export to `exporters` from now on; what the previous ones hold is flushed first (with
        the exporters' usual retries: the app goes on)."""
        old = self._delegates
        self._delegates = tuple(_batch_processor(exporter) for exporter in exporters)
        self._exporters = tuple(exporters)
        for processor in old:
            processor.shutdown()  # flushes, then stops its worker

    def on_start(self, span: Span, parent_context: Any = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._delegates:
            processor.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([processor.force_flush(timeout_millis) for processor in self._delegates])

    def shutdown(self) -> None:
        """The provider shuts down (at exit, or the app's own call): the last spans get one
        attempt each, not a server's full retries."""
        delegates, self._delegates = self._delegates, ()
        exporters, self._exporters = self._exporters, ()
        _finish_server_exporters(exporters)
        for processor in delegates:
            processor.shutdown()


@dataclasses.dataclass
class _Managed:
    """What traceglass added to one tracer provider."""

    experiment: ExperimentSpanProcessor
    last_trace: LastTraceSpanProcessor
    destination: DestinationSpanProcessor
    target: Destination | None = None


# Providers traceglass added its processors to; weak, so a provider the app drops is not kept.
_managed: weakref.WeakKeyDictionary[SDKTracerProvider, _Managed] = weakref.WeakKeyDictionary()
_current: Providers | None = None
_seen_global: object = None  # the global tracer provider _current was built for
_owned: list[Any] = []  # meter/logger providers traceglass created: their own hooks send their last data at exit
_created_tracer_providers: weakref.WeakSet[SDKTracerProvider] = weakref.WeakSet()
_lock = threading.RLock()
_atexit_registered = False


def ensure() -> Providers | None:
    """The pipeline, set up if needed; None if setting it up failed (logged)."""
    current = _current
    if current is not None and _seen_global is trace.get_tracer_provider():
        return current
    with _lock:
        try:
            return _setup()
        except Exception:
            semconv.report_failure("setting up the trace pipeline")
            return None


def _setup() -> Providers:
    global _current, _seen_global
    global_provider = trace.get_tracer_provider()
    if _current is not None and _seen_global is global_provider:
        return _current
    if sdk_disabled():
        return _setup_disabled(global_provider)
    destination = resolve_destination()
    exporters = exporters_for(destination)
    if isinstance(global_provider, SDKTracerProvider):
        provider = global_provider
    else:
        provider = SDKTracerProvider(resource=Resource.create())
        _created_tracer_providers.add(provider)
        if isinstance(global_provider, trace.ProxyTracerProvider):  # nothing global yet
            trace.set_tracer_provider(provider)
        else:
            _log.info("traceglass: the global tracer provider is a %s, not an SDK one; autolog() records "
                      "through its own provider.", type(global_provider).__name__)
    _attach(provider, destination, exporters.spans)
    meter_provider = _meter_provider(provider.resource, exporters)
    logger_provider = _logger_provider(provider.resource, exporters)
    _register_atexit()
    _current = Providers(provider, meter_provider, logger_provider)
    _seen_global = trace.get_tracer_provider()
    return _current


def _setup_disabled(global_provider: trace.TracerProvider) -> Providers:
    # The SDK's providers record nothing under OTEL_SDK_DISABLED: no processor, exporter,
    # worker thread or store is worth making for them.
    global _current, _seen_global
    provider = global_provider
    if isinstance(global_provider, trace.ProxyTracerProvider):  # nothing global yet
        provider = SDKTracerProvider()
        trace.set_tracer_provider(provider)
    _current = Providers(provider)
    _seen_global = trace.get_tracer_provider()
    return _current


def _attach(provider: SDKTracerProvider, destination: Destination,
            span_exporters: Callable[[], list[SpanExporter]]) -> _Managed:
    managed = _managed.get(provider)
    if managed is None:
        managed = _Managed(ExperimentSpanProcessor(), LastTraceSpanProcessor(), DestinationSpanProcessor())
        provider.add_span_processor(managed.experiment)
        provider.add_span_processor(managed.last_trace)
        provider.add_span_processor(managed.destination)
        _managed[provider] = managed
        from traceglass.exporters._notebook import attach as attach_notebook_display

        attach_notebook_display(provider)  # inside a Jupyter kernel only
    _aim(provider, managed, destination, span_exporters)
    return managed


def _aim(provider: SDKTracerProvider, managed: _Managed, destination: Destination,
         span_exporters: Callable[[], list[SpanExporter]]) -> None:
    if managed.target == destination:
        return  # autolog() twice, or set_tracking_uri() to the same place: nothing changes
    existing = _foreign_exporter_identities(provider, managed)
    wanted = []
    for exporter in span_exporters():
        if exporter_identity(exporter) in existing:
            exporter.shutdown()  # the provider exports there already
        else:
            wanted.append(exporter)
    managed.destination.replace(wanted)
    managed.target = destination


def _foreign_exporter_identities(provider: SDKTracerProvider, managed: _Managed) -> set[Any]:
    """Where the provider's other processors already export (so traceglass adds no duplicate)."""
    identities: set[Any] = set()
    multi = getattr(provider, "_active_span_processor", None)
    for processor in getattr(multi, "_span_processors", ()):
        if processor in (managed.destination, managed.experiment, managed.last_trace):
            continue
        exporter = getattr(processor, "span_exporter", None)  # SimpleSpanProcessor
        if exporter is None:  # BatchSpanProcessor keeps it in its worker
            exporter = getattr(getattr(processor, "_batch_processor", None), "_exporter", None)
        if exporter is not None:
            identities.add(exporter_identity(exporter))
    return identities


def _meter_provider(resource: Resource, exporters: Exporters) -> metrics.MeterProvider | None:
    global_provider = metrics.get_meter_provider()
    if _is_sdk(global_provider, "opentelemetry.sdk.metrics", "MeterProvider"):
        return global_provider  # the app's (or opentelemetry-instrument's) own pipeline
    metric_exporters = exporters.metrics()
    if not metric_exporters:
        return None
    from opentelemetry.sdk.metrics import MeterProvider as SDKMeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    provider = SDKMeterProvider(
        resource=resource, metric_readers=[PeriodicExportingMetricReader(e) for e in metric_exporters],
    )
    _owned.append(provider)
    metrics.set_meter_provider(provider)  # a no-op with a warning if another one is already global
    return provider


def _logger_provider(resource: Resource, exporters: Exporters) -> Any | None:
    from opentelemetry import _logs

    global_provider = _logs.get_logger_provider()
    if _is_sdk(global_provider, "opentelemetry.sdk._logs", "LoggerProvider"):
        return global_provider
    log_exporters = exporters.logs()
    if not log_exporters:
        return None
    from opentelemetry.sdk._logs import LoggerProvider as SDKLoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    provider = SDKLoggerProvider(resource=resource)
    for exporter in log_exporters:
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
    _owned.append(provider)
    _logs.set_logger_provider(provider)
    return provider


def _is_sdk(provider: object, module: str, name: str) -> bool:
    # An SDK provider exists only if its module was imported: spare the import (tens of ms) when not.
    sdk = sys.modules.get(module)
    return sdk is not None and isinstance(provider, getattr(sdk, name))


def retarget() -> None:
    """Re-aim every managed provider at the destination in force (after set_tracking_uri()).
    Metrics and events keep the destination they were set up with."""
    with _lock:
        if not _managed:
            return
        try:
            destination = resolve_destination()
            exporters = exporters_for(destination)
            for provider, managed in list(_managed.items()):
                _aim(provider, managed, destination, exporters.spans)
        except Exception:
            semconv.report_failure("set_tracking_uri")


def flush(timeout_millis: int = 30000) -> bool:
    """Export every span ended so far (search_traces() calls this first)."""
    with flushing():
        return _flush(timeout_millis)


def _flush(timeout_millis: int) -> bool:
    ok = True
    providers = list(_managed.keys())
    global_provider = trace.get_tracer_provider()
    if isinstance(global_provider, SDKTracerProvider) and global_provider not in _managed:
        providers.append(global_provider)  # e.g. opentelemetry-instrument's, exporting to the store
    for provider in providers:
        try:
            # The whole provider: under OTEL_TRACES_EXPORTER=traceglass the store's exporter is
            # the provider's own, not ours.
            ok = provider.force_flush(timeout_millis) and ok
        except Exception:
            semconv.report_failure("flushing spans")
            ok = False
    return ok


def _finish_server_exporters(exporters: Sequence[Any] | None = None) -> None:
    """Make a traceglass server's exporters (`exporters`, or all) give up quickly: the process
    ends, and a server that does not answer must not hold it for the exporters' retries."""
    server_export = sys.modules.get("traceglass._server_export")  # imported once one is built
    if server_export is not None:
        server_export.finish(exporters)


def _at_exit() -> None:
    # Before the flush, which waits for an export in progress (its retries stop too). The SDK
    # providers' own shutdown hooks run after this one and find the exporters finished. Those
    # hooks also send the last metrics and logs of the providers traceglass created: flushing
    # them here as well would send every metric point twice, and against an endpoint that is
    # down, wait out the exporter's retries twice.
    _finish_server_exporters()
    flush()


def _at_child_exit() -> None:
    # A forked multiprocessing child runs no atexit hook, the SDK's shutdown hooks included; a
    # spawned one does. Shutting the providers down here sends their last data once either way.
    _at_exit()
    for provider in list(_owned):
        try:
            provider.shutdown()  # which also takes back its exit hook
        except Exception:  # the exporter logs its own failures; exit goes on
            pass


def _register_atexit() -> None:
    # Registered after the SDK provider's own shutdown hook, so it runs before it (atexit is LIFO).
    global _atexit_registered
    if not _atexit_registered:
        atexit.register(_at_exit)
        flush_children(_at_child_exit)
        _atexit_registered = True


def _reset() -> None:
    """Undo everything set up in this process: flush and stop the processors traceglass added,
    shut down the providers it created, forget the tracking URI, the experiment, the last trace,
    open stores and the bad settings already reported. The OpenTelemetry globals themselves are
    left as they are (they can be set only once)."""
    global _current, _seen_global
    from traceglass import _active, _env, _experiment, _tracking

    with _lock:
        _finish_server_exporters()
        for provider, managed in list(_managed.items()):
            managed.destination.shutdown()
            if provider in _created_tracer_providers:
                provider.shutdown()
        _managed.clear()
        for owned in _owned:
            owned.shutdown()
        _owned.clear()
        _current = None
        _seen_global = None
        _tracking._reset()
        _experiment._reset()
        _active._reset()
        _tracking.close_stores()
        _env.reset_warnings()
        server_export = sys.modules.get("traceglass._server_export")
        if server_export is not None:
            server_export.forget()
