"""Manual spans: `start_span()` (sync and async `with`), `start_span_no_context()` and `LiveSpan`.

Every span is a real OpenTelemetry span from the tracer named "traceglass" (see `_config`), of kind
INTERNAL, carrying `traceglass.span.type` and the GenAI operation of its type (semconv's one
table). A failure inside traceglass is reported once (semconv.report_failure) and swallowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Status, StatusCode

from traceglass import semconv
from traceglass._config import _Config, current, maybe_propagate_to_threads, maybe_record

__all__ = ["LiveSpan", "SpanContextManager", "open_span", "start_span", "start_span_no_context"]

_N = semconv.names


class LiveSpan:
    """A started traceglass span: set its inputs, outputs and attributes; end it once.

    `.span` is the OpenTelemetry span, for anything this wrapper does not cover.
    """

    __slots__ = ("_capture", "_ended", "_limit", "span", "trace_attributes")

    def __init__(self, span: trace.Span, config: _Config, trace_attributes: Mapping[str, Any]) -> None:
        self.span = span
        settings = config.settings
        self._capture = settings.capture.on_span and span.is_recording()
        self._limit = settings.max_content_length
        self._ended = False
        self.trace_attributes = trace_attributes  # inherited by start_span_no_context children

    @property
    def trace_id(self) -> str:
        return format(self.span.get_span_context().trace_id, "032x")

    @property
    def span_id(self) -> str:
        return format(self.span.get_span_context().span_id, "016x")

    @property
    def captures_content(self) -> bool:
        """True when inputs/outputs are recorded: content capture is on and the span records."""
        return self._capture

    def set_inputs(self, inputs: Any) -> None:
        """Record `inputs` as JSON in traceglass.span.inputs (only with content capture on)."""
        if self._capture:
            self._set_json(_N.SPAN_INPUTS, inputs)

    def set_outputs(self, outputs: Any) -> None:
        """Record `outputs` as JSON in traceglass.span.outputs (only with content capture on)."""
        if self._capture:
            self._set_json(_N.SPAN_OUTPUTS, outputs)

    def set_attribute(self, key: str, value: Any) -> None:
        try:
            self.span.set_attribute(key, value)
        except Exception:
            semconv.report_failure("LiveSpan.set_attribute")

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        try:
            self.span.set_attributes(attributes)
        except Exception:
            semconv.report_failure("LiveSpan.set_attributes")

    def record_exception(self, exc: BaseException) -> None:
        """Mark the span failed by `exc`: exception event, ERROR status, error.type."""
        try:
            if self.span.is_recording():
                self.span.record_exception(exc)
                self.span.set_status(Status(StatusCode.ERROR, str(exc) or semconv.error_type(exc)))
                self.span.set_attribute(_N.ERROR_TYPE, semconv.error_type(exc))
        except Exception:
            semconv.report_failure("LiveSpan.record_exception")

    def end(
        self,
        outputs: Any = None,
        status: Status | StatusCode | str | None = None,
        exception: BaseException | None = None,
    ) -> None:
        """End the span (later calls are ignored); from any thread or callback.

        outputs: recorded as with set_outputs() when not None. status: "OK", "ERROR", a
        StatusCode or a Status. exception: recorded as with record_exception().
        """
        if self._ended:
            return
        self._ended = True
        try:
            if outputs is not None:
                self.set_outputs(outputs)
            if exception is not None:
                self.record_exception(exception)
            if status is not None:
                self.span.set_status(_status(status))
        except Exception:
            semconv.report_failure("LiveSpan.end")
        self.span.end()

    def _set_json(self, key: str, value: Any) -> None:
        try:
            self.span.set_attribute(key, semconv.value_to_json(value, self._limit))
        except Exception:
            semconv.report_failure("LiveSpan.set_json")


def _span_name(name: Any) -> str:
    # OpenTelemetry takes any object as a name, and exporters then fail on the whole batch.
    if isinstance(name, str):
        return name
    return "span" if name is None else str(name)


def _status(status: Status | StatusCode | str) -> Status:
    if isinstance(status, Status):
        return status
    if isinstance(status, StatusCode):
        return Status(status)
    return Status(StatusCode[str(status).upper()])


def open_span(
    name: str,
    span_type: str | None,
    attributes: Mapping[str, Any] | None,
    parent: otel_context.Context | None = None,
    inherited: Mapping[str, Any] | None = None,
) -> LiveSpan:
    """Start a span (not made current) in `parent` (default: the current context)."""
    config = current()
    maybe_record(config)
    maybe_propagate_to_threads(config)
    inherited = semconv.trace_attributes(parent) if inherited is None else inherited
    start = {**inherited, **semconv.span_type_attributes(span_type, name)}
    if attributes:
        start.update(attributes)
    span = config.tracer.start_span(name, context=parent, attributes=start)
    return LiveSpan(span, config, inherited)


class SpanContextManager:
    """`with` / `async with` form of start_span: the span is current inside the block."""

    __slots__ = ("_args", "_live", "_token")

    def __init__(self, name: str, span_type: str | None, attributes: Mapping[str, Any] | None) -> None:
        self._args = (_span_name(name), span_type, attributes)
        self._live: LiveSpan | None = None
        self._token: object | None = None

    def __enter__(self) -> LiveSpan:
        try:
            self._live = open_span(*self._args)
            self._token = otel_context.attach(trace.set_span_in_context(self._live.span))
            return self._live
        except Exception:
            semconv.report_failure("start_span")
            return LiveSpan(trace.INVALID_SPAN, current(), {})

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        live, token = self._live, self._token
        self._live = self._token = None
        try:
            if token is not None:
                otel_context.detach(token)
            if live is not None:
                live.end(exception=exc if exc is not None and not isinstance(exc, GeneratorExit) else None)
        except Exception:
            semconv.report_failure("start_span.exit")

    async def __aenter__(self) -> LiveSpan:
        return self.__enter__()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.__exit__(exc_type, exc, tb)


def start_span(
    name: str,
    span_type: str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> SpanContextManager:
    """`with traceglass.start_span("retrieve", span_type=SpanType.RETRIEVER) as span:` (or `async with`).

    The span is current inside the block, so spans started there (nested @trace, instrumented SDK
    calls) are its children. An exception leaving the block is recorded and propagates unchanged.
    """
    return SpanContextManager(name, span_type, attributes)


def start_span_no_context(
    name: str,
    parent: LiveSpan | trace.Span | None = None,
    span_type: str | None = None,
    inputs: Any = None,
    attributes: Mapping[str, Any] | None = None,
) -> LiveSpan:
    """Start a span for callback-style code and return it WITHOUT making it current.

    parent: a LiveSpan or OpenTelemetry span; None starts a new trace (a root span). End it with
    `span.end(outputs=..., status=..., exception=...)`, from any callback or thread. It inherits
    the session/user ids of its LiveSpan parent, else those of the current context.
    """
    try:
        name = _span_name(name)
        if parent is None:
            live = open_span(name, span_type, attributes, otel_context.Context(), semconv.trace_attributes())
        elif isinstance(parent, LiveSpan):
            ctx = trace.set_span_in_context(parent.span, otel_context.Context())
            live = open_span(name, span_type, attributes, ctx, parent.trace_attributes)
        else:
            ctx = trace.set_span_in_context(parent, otel_context.Context())
            live = open_span(name, span_type, attributes, ctx, semconv.trace_attributes())
    except Exception:
        semconv.report_failure("start_span_no_context")
        return LiveSpan(trace.INVALID_SPAN, current(), {})
    if inputs is not None:
        live.set_inputs(inputs)
    return live
