"""Spans of framework steps that are not model calls: chains, prompts, parsers, tools, retrievers,
workflows (a LangChain run, a LangGraph node).

Spec: GenAI semconv gen-ai-dev 1.42.0-dev, spans (§2 of the digest): execute_tool, retrieval,
invoke_workflow / invoke_agent. A step carries `traceglass.span.type` and, where the conventions
have one, `gen_ai.operation.name` (the one table in `_span_types`). Inputs and outputs are recorded
as JSON in `traceglass.span.inputs/outputs` only when content capture is on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import SpanKind, Status, StatusCode

from traceglass._env import Settings

from . import _names as N
from ._guard import report_failure
from ._span_types import span_type_attributes
from ._telemetry import error_type
from ._trace_context import trace_attributes
from ._values import value_to_json

__all__ = ["StepHandle", "start_step"]


def start_step(
    tracer: trace.Tracer,
    settings: Settings,
    name: str,
    span_type: str | None,
    context: Context | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> StepHandle:
    """Start (not make current) the INTERNAL span of one step in `context` (default: current)."""
    start = {**trace_attributes(context), **span_type_attributes(span_type, name)}
    if attributes:
        start.update({k: v for k, v in attributes.items() if v is not None})
    span = tracer.start_span(name, context=context, kind=SpanKind.INTERNAL, attributes=start)
    return StepHandle(span, settings, context)


class StepHandle:
    """A started step span; `finish()` or `fail()` ends it, and only the first call counts."""

    __slots__ = ("_capture", "_context", "_ended", "_limit", "_span")

    def __init__(self, span: trace.Span, settings: Settings, parent: Context | None) -> None:
        self._span = span
        self._capture = settings.capture.on_span and span.is_recording()
        self._limit = settings.max_content_length
        self._context = trace.set_span_in_context(span, parent)
        self._ended = False

    @property
    def ended(self) -> bool:
        return self._ended

    @property
    def captures_content(self) -> bool:
        return self._capture

    def context(self) -> Context:
        """The parent context's values with this step's span current: children start in it."""
        return self._context

    def set_inputs(self, inputs: Any) -> None:
        self.set_content(N.SPAN_INPUTS, inputs)

    def set_outputs(self, outputs: Any) -> None:
        self.set_content(N.SPAN_OUTPUTS, outputs)

    def set_content(self, key: str, value: Any) -> None:
        """Record `value` as JSON under `key`, only when content capture is on."""
        if not self._capture:
            return
        try:
            self._span.set_attribute(key, value_to_json(value, self._limit))
        except Exception:
            report_failure("StepHandle.set_content")

    def set_text(self, key: str, text: str) -> None:
        """Record `text` as is (a string attribute, not JSON) under `key`, only when content capture is on;
        capped at the content length limit, the truncation marker appended."""
        if not self._capture or not isinstance(text, str):
            return
        try:
            if self._limit and len(text) > self._limit:
                text = text[:max(0, self._limit - len(N.TRUNCATION_MARKER))] + N.TRUNCATION_MARKER
            self._span.set_attribute(key, text)
        except Exception:
            report_failure("StepHandle.set_text")

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        try:
            self._span.set_attributes({k: v for k, v in attributes.items() if v is not None})
        except Exception:
            report_failure("StepHandle.set_attributes")

    def finish(self, outputs: Any = None) -> None:
        if self._ended:
            return
        self._ended = True
        if outputs is not None:
            self.set_outputs(outputs)
        self._span.end()

    def finish_failed(self, error: str, message: str, outputs: Any = None) -> None:
        """End with ERROR status and `error.type` `error`: a failure the framework handled (it
        returned `outputs` describing it) rather than raised."""
        if self._ended:
            return
        try:
            if self._span.is_recording():
                self._span.set_status(Status(StatusCode.ERROR, message or error))
                self._span.set_attribute(N.ERROR_TYPE, error)
        except Exception:
            report_failure("StepHandle.finish_failed")
        self.finish(outputs)

    def fail(self, exc: BaseException) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            if self._span.is_recording():
                err = error_type(exc)
                self._span.record_exception(exc)
                self._span.set_status(Status(StatusCode.ERROR, str(exc) or err))
                self._span.set_attribute(N.ERROR_TYPE, err)
        except Exception:
            report_failure("StepHandle.fail")
        self._span.end()
