"""Process-wide configuration of the manual tracing API (@trace, start_span, ...).

Resolved lazily on first use from the environment (through `_env.Settings`, the one place env
vars are read), or set by `traceglass.configure()`. The tracer is looked up on the provider given
to `configure()`, else on the global one: a ProxyTracer until the application (or
opentelemetry-instrument) installs an SDK provider, so decorating at import time is fine.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from traceglass import semconv
from traceglass._env import CaptureMode, Settings
from traceglass._version import __version__

__all__ = ["TRACER_NAME", "configure", "current", "propagate_context_to_threads", "set_capture"]

TRACER_NAME = "traceglass"
_log = logging.getLogger("traceglass")


class _Config:
    __slots__ = ("record_pending", "settings", "threads", "tracer")

    def __init__(self, tracer: trace.Tracer, settings: Settings, threads: bool, record_pending: bool) -> None:
        self.tracer = tracer
        self.settings = settings
        self.threads = threads  # propagate the context to threads on first span start
        # The tracer is the global provider's: its first span sets up recording if nothing has.
        self.record_pending = record_pending


_config: _Config | None = None
_threads_result: bool | None = None  # None: not tried yet
_lock = threading.Lock()


def configure(
    *,
    tracer_provider: TracerProvider | None = None,
    capture_content: str | bool | CaptureMode | None = None,
    max_content_length: int | None = None,
    propagate_context_to_threads: bool = True,
) -> None:
    """Configure the manual tracing API. Each call replaces the whole previous configuration:
    `configure()` with no arguments restores the defaults.

    tracer_provider: where @trace and start_span create spans (default: the global provider).
    capture_content: record inputs/outputs on spans: SPAN_ONLY/SPAN_AND_EVENT/True record them,
        NO_CONTENT/EVENT_ONLY/False do not (these spans have no events). Default: the
        OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT variable, else NO_CONTENT.
    max_content_length: cap in characters of each inputs/outputs attribute (default:
        TRACEGLASS_MAX_CONTENT_LENGTH, else 65536; 0 means no cap).
    propagate_context_to_threads: call `propagate_context_to_threads()` when the first span
        starts (default True). False does not undo it once done.
    """
    global _config
    settings = Settings.resolve(capture_content=capture_content, max_content_length=max_content_length)
    with _lock:
        _config = _Config(_tracer(tracer_provider), settings, propagate_context_to_threads, tracer_provider is None)


def set_capture(capture: CaptureMode) -> None:
    """Change only the content capture of the configuration in force: autolog() keeps the manual
    API's spans in step with the model calls' (tracer, size cap and threads setting are kept)."""
    global _config
    config = current()
    with _lock:
        _config = _Config(config.tracer, dataclasses.replace(config.settings, capture=capture), config.threads,
                          config.record_pending)


def current() -> _Config:
    """The configuration in force, resolved from the environment on first use."""
    config = _config
    if config is None:
        with _lock:
            if _config is None:
                _set_default()
            config = _config
    assert config is not None
    return config


def _set_default() -> None:
    global _config
    _config = _Config(_tracer(None), Settings.resolve(), True, True)


def _tracer(provider: TracerProvider | None) -> trace.Tracer:
    return trace.get_tracer(TRACER_NAME, __version__, provider, schema_url=semconv.names.SCHEMA_URL)


def maybe_record(config: _Config) -> None:
    """Called at each span start. The first span of the global provider's tracer, when nothing
    has installed an SDK provider (no autolog(), set_experiment() or OpenTelemetry setup of the
    app's), sets up recording as autolog() does: a `@trace`'d function alone is recorded, in the
    local store or where the tracking URI says. Cheap afterwards."""
    if config.record_pending:
        config.record_pending = False
        if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
            from traceglass import _pipeline

            _pipeline.ensure()


def maybe_propagate_to_threads(config: _Config) -> None:
    """Called at each span start: enables thread propagation once, cheaply afterwards."""
    if config.threads and _threads_result is None:
        propagate_context_to_threads()


def propagate_context_to_threads() -> bool:
    """Make threads started inside a span run in that span's context, so their spans nest.

    Uses opentelemetry-instrumentation-threading (patched once per process, never undone by
    traceglass): `threading.Thread` and `threading.Timer` capture the context in `start()` and
    restore it in `run()`; `concurrent.futures.ThreadPoolExecutor.submit` (hence
    `loop.run_in_executor`) runs the callable in the submitter's context. asyncio tasks need
    nothing: they copy the context already. Called automatically when the first traceglass span
    starts, unless `configure(propagate_context_to_threads=False)`.

    Still needs the user's help (pass `opentelemetry.context.get_current()` along and
    `context.attach()` it in the worker):
    - threads already started before this runs (long-lived workers, a queue consumer);
    - `Thread` subclasses whose `run()` does not call `super().run()`, raw `_thread`
      and threads started from C extensions;
    - processes (`ProcessPoolExecutor`, `multiprocessing`): propagate with
      `opentelemetry.propagate.inject()`/`extract()` across the process boundary.

    Returns True if propagation is active (False if the package is missing or failed).
    """
    global _threads_result
    with _lock:
        if _threads_result is not None:
            return _threads_result
        _threads_result = False  # do not retry (and warn) at every span start
        try:
            from opentelemetry.instrumentation.threading import ThreadingInstrumentor
        except ImportError:
            _log.warning("traceglass: opentelemetry-instrumentation-threading is not installed; spans "
                         "in threads will not nest under the span that started them.")
            return False
        try:
            instrumentor: Any = ThreadingInstrumentor()
            if not instrumentor.is_instrumented_by_opentelemetry:  # e.g. by opentelemetry-instrument
                instrumentor.instrument()
        except Exception:
            semconv.report_failure("propagate_context_to_threads")
            return False
        _threads_result = True
        return True
