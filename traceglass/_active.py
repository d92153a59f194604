"""`get_current_active_span()` and `get_last_active_trace_id()`: the span code runs in, and the trace
that last finished, so that an app can tag or look up the trace of a call it just made."""

from __future__ import annotations

import threading

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

from traceglass import semconv
from traceglass._config import current
from traceglass._spans import LiveSpan

__all__ = ["LastTraceSpanProcessor", "get_current_active_span", "get_last_active_trace_id"]

_last_trace_id: str | None = None
_per_thread = threading.local()


class LastTraceSpanProcessor(SpanProcessor):
    """Remembers the trace of each root span that ends (one whose parent is in no other process
    either, or in another process): the trace has then finished here."""

    def on_end(self, span: ReadableSpan) -> None:
        global _last_trace_id
        parent = span.parent
        if parent is not None and not parent.is_remote:
            return
        context = span.context
        if context is None:
            return
        trace_id = format(context.trace_id, "032x")
        _last_trace_id = trace_id
        _per_thread.trace_id = trace_id


def _reset() -> None:
    """Forget the last trace (the pipeline's reset; the calling thread's own is forgotten too)."""
    global _last_trace_id
    _last_trace_id = None
    _per_thread.__dict__.pop("trace_id", None)


def get_last_active_trace_id(thread_local: bool = False) -> str | None:
    """The id of the trace that finished last in this process (its root span ended), or None.

    With `thread_local=True`, the last one that finished in the calling thread: what a web server
    handling requests in threads wants. Pass the id to `get_trace()` or `set_trace_tag()`.
    Traces are seen when traceglass records them (autolog(), set_experiment(), or a span of the
    manual API with nothing else set up); an app that only calls an instrumentor's instrument()
    with its own pipeline gets None.
    """
    if thread_local:
        return getattr(_per_thread, "trace_id", None)
    return _last_trace_id


def get_current_active_span() -> LiveSpan | None:
    """The span that is current here (one of `@trace`, `start_span()` or an instrumented call),
    or None outside any span or when it does not record. Setting inputs, outputs or attributes on
    it works as on the span `start_span()` gives; ending it is for the code that started it."""
    try:
        span = trace.get_current_span()
        if not span.is_recording():
            return None
        return LiveSpan(span, current(), semconv.trace_attributes())
    except Exception:
        semconv.report_failure("get_current_active_span")
        return None
