"""The one place that turns an Invocation into spans, metrics and events.

Spec: GenAI semconv gen-ai-dev 1.42.0-dev: spans.yaml (inference, embeddings, fetch_response),
metrics.yaml (client metrics), events.yaml (gen_ai.client.inference.operation.details). Names:
`_names`.

DESIGN: nested inference (spec §2 "Nesting": an inference nested in another inference of the same
kind is suppressed and enriches the outer span). A framework instrumentor (LangChain) starts its
model-call invocation with `enrichable=True` and makes `handle.context()` current for the duration
of the model call. `Telemetry.start` does one context lookup: when the current invocation is
enrichable, not ended, and both are inference operations, it opens no span and returns a
`_NestedHandle`. The provider adapter fills it as usual (stream wrapper included); its finish/fail
merges the provider's response data (response id/model, finish reasons, usage, server address/port,
provider name, provider attributes) into the outer invocation and records nothing itself: no span,
no metrics, no event. The outer handle ends once, so the model call has exactly one span and one
metric point, under the framework's run tree, with the provider's details. Embeddings inside a chat
run (a different kind) still get their own span.
"""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from opentelemetry import trace
from opentelemetry._logs import LoggerProvider, SeverityNumber, get_logger
from opentelemetry.context import Context, create_key, get_value, set_value
from opentelemetry.metrics import MeterProvider, get_meter
from opentelemetry.trace import SpanKind, Status, StatusCode, TracerProvider

from traceglass._env import Settings

from . import _names as N
from ._guard import report_failure
from ._invocation import Invocation, Usage
from ._messages import GenericToolDefinition, to_json
from ._metrics import Metrics
from ._trace_context import trace_attributes

if TYPE_CHECKING:
    from ._steps import StepHandle

__all__ = ["InvocationHandle", "Telemetry", "current_invocation", "error_type"]

# Marks the context in which an invocation's SDK call runs, so code inside that call (an SDK's own
# tracing, a nested instrumentor) can tell that traceglass already records this operation.
_INVOCATION_KEY = create_key("traceglass-invocation")
_INFERENCE = frozenset((N.CHAT, N.TEXT_COMPLETION, N.GENERATE_CONTENT))
_FETCH_RESPONSE = N.FETCH_RESPONSE


def error_type(exc: BaseException) -> str:
    """Low-cardinality id of an exception: `openai.RateLimitError`, `TimeoutError`."""
    cls = type(exc)
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    # Report the public import path (openai._exceptions -> openai), as users write it.
    public = []
    for part in module.split("."):
        if part.startswith("_"):
            break
        public.append(part)
    return ".".join([*public, cls.__qualname__]) if public else cls.__qualname__


class Telemetry:
    """Tracer, instruments and logger of one instrumentor, with its settings."""

    def __init__(
        self,
        name: str,
        version: str,
        settings: Settings,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        logger_provider: LoggerProvider | None = None,
    ) -> None:
        self.settings = settings
        # False once the instrumentor that made it is uninstrumented: the SDK wrappers it installed
        # may live on where the app captured a method while instrumented (a `with_raw_response`
        # resource, `from ollama import chat`), and must not trace there any more.
        self.active = True
        self._tracer = trace.get_tracer(name, version, tracer_provider, schema_url=N.SCHEMA_URL)
        meter = get_meter(name, version, meter_provider, schema_url=N.SCHEMA_URL)
        self._metrics = Metrics(meter)
        self._logger = (get_logger(name, version, logger_provider, schema_url=N.SCHEMA_URL)
                        if settings.emit_event else None)

    def start_step(
        self,
        name: str,
        span_type: str | None,
        *,
        context: Context | None = None,
        attributes: dict[str, Any] | None = None,
    ) -> StepHandle:
        """Start the span of a framework step that is not a model call (see `_steps`)."""
        from ._steps import start_step

        return start_step(self._tracer, self.settings, name, span_type, context, attributes)

    def start(
        self, invocation: Invocation, *, context: Context | None = None, enrichable: bool = False
    ) -> InvocationHandle:
        """Open the span of `invocation` in `context` (default: current); sampling-relevant
        attributes are set here.

        Inside an enrichable inference (see the module DESIGN note) an inference opens no span: the
        returned handle merges into the enclosing one when it ends. `enrichable=True` lets later
        nested inferences merge into this one.
        """
        if self.settings.provider_name is not None:  # the user's override wins over the adapter's
            invocation.provider = self.settings.provider_name
        if invocation.operation == _FETCH_RESPONSE:
            return self._start_fetch(invocation, context)
        outer = get_value(_INVOCATION_KEY, context)
        if (
            outer is not None
            and outer._enrichable
            and not outer._ended
            and invocation.operation in _INFERENCE
            and outer.invocation.operation in _INFERENCE
        ):
            return _NestedHandle(outer, invocation)
        name = invocation.operation
        if invocation.request_model:
            name = f"{name} {invocation.request_model}"
        session = trace_attributes(context)  # session/user ids of update_current_trace()
        if session and invocation.conversation_id is None:
            # An inference attribute: the details event, which carries the span's GenAI attributes
            # but not session.id / user.id, must have it too. The invocation's own id wins.
            conversation = session.get(N.CONVERSATION_ID)
            invocation.conversation_id = conversation if isinstance(conversation, str) else None
        attributes = _start_attributes(invocation)
        if session:
            attributes = {**session, **attributes}
        span = self._tracer.start_span(name, context=context, kind=SpanKind.CLIENT, attributes=attributes)
        handle = InvocationHandle(self, invocation, span)
        handle._enrichable = enrichable
        return handle

    def _start_fetch(self, invocation: Invocation, context: Context | None) -> InvocationHandle:
        # spans.yaml gen_ai.fetch_response.client: named by the operation alone (the response id is
        # high cardinality); no inference happens, so it never merges into an enclosing one.
        attributes = _fetch_start_attributes(invocation)
        session = trace_attributes(context)
        if session:
            attributes = {**session, **attributes}
        span = self._tracer.start_span(invocation.operation, context=context, kind=SpanKind.CLIENT,
                                       attributes=attributes)
        return _FetchResponseHandle(self, invocation, span)


def current_invocation(context: Context | None = None) -> InvocationHandle | None:
    """The invocation whose SDK call is running in `context` (default: the current context), if
    it has not ended; None outside any traced call."""
    handle = get_value(_INVOCATION_KEY, context)
    return handle if isinstance(handle, InvocationHandle) and not handle.ended else None


class InvocationHandle:
    """A started invocation; `finish()` or `fail()` ends it, and only the first call counts."""

    __slots__ = ("_ended", "_enrichable", "_first_chunk", "_span", "_start", "_telemetry", "invocation")

    def __init__(self, telemetry: Telemetry, invocation: Invocation, span: trace.Span) -> None:
        self._telemetry = telemetry
        self.invocation = invocation
        self._span = span
        self._start = time.perf_counter()
        self._first_chunk: float | None = None
        self._ended = False
        self._enrichable = False

    @property
    def ended(self) -> bool:
        return self._ended

    def context(self) -> Context:
        """A context in which this invocation's span is current (HTTP spans nest under it) and
        `current_invocation()` returns this handle."""
        return trace.set_span_in_context(self._span, set_value(_INVOCATION_KEY, self))

    def stand_in_span(self) -> trace.Span:
        """A non-recording span with this invocation's span context.

        For an SDK that traces its own calls: given this instead of a span of its own, it records
        nothing (one span per operation), while its trace-context propagation still works and
        names this invocation's span as the parent.
        """
        return trace.NonRecordingSpan(self._span.get_span_context())

    def first_chunk(self) -> None:
        """Mark the arrival of the first streamed chunk (later calls are ignored)."""
        if self._first_chunk is None:
            self._first_chunk = time.perf_counter()

    def finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            self._end(None)
        except Exception:
            report_failure("Telemetry.finish")
            self._abort()

    def fail(self, exc: BaseException) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            self._end(exc)
        except Exception:
            report_failure("Telemetry.fail")
            self._abort()

    def _abort(self) -> None:
        self._span.end()

    def _end(self, exc: BaseException | None) -> None:
        tel = self._telemetry
        inv = self.invocation
        span = self._span
        duration = time.perf_counter() - self._start
        ttfc = None if self._first_chunk is None else self._first_chunk - self._start
        err = inv.error_type if exc is None else error_type(exc)
        # Metrics first: they use only typed fields, and must survive a failure in the span or
        # event code below (an odd provider attribute, a broken processor).
        self._record_metrics(duration, ttfc, err)
        attributes = _end_attributes(inv, ttfc)
        if err is not None:
            attributes[N.ERROR_TYPE] = err
        capture = tel.settings.capture
        recording = span.is_recording()
        content = None
        if (capture.on_span and recording) or (capture.on_event and tel._logger is not None):
            content = _content(inv, tel.settings)
        if content and capture.on_span:
            attributes.update(content)
        if recording:
            if err is not None:
                # Before the other attributes, so a bad one cannot hide that the call failed.
                if exc is not None:
                    span.record_exception(exc)
                span.set_status(Status(StatusCode.ERROR, (str(exc) if exc is not None else "") or err))
                span.set_attributes({N.ERROR_TYPE: err})
            span.set_attributes(attributes)
        if tel._logger is not None and inv.operation != N.EMBEDDINGS:
            # The details event is the inference one; embeddings have no event (and no content).
            self._emit_event(attributes, content)
        span.end()

    def _record_metrics(self, duration: float, ttfc: float | None, err: str | None) -> None:
        inv = self.invocation
        usage = inv.usage
        self._telemetry._metrics.add((
            inv.operation, inv.provider, inv.request_model, inv.response_model, inv.server_address,
            inv.server_port, err, duration, ttfc,
            None if usage is None else usage.input_tokens, None if usage is None else usage.output_tokens,
            self._span,
        ))

    def _emit_event(self, attributes: dict[str, Any], content: dict[str, str] | None) -> None:
        tel = self._telemetry
        inv = self.invocation
        event_attrs = {**_start_attributes(inv), **attributes}
        for key in (N.SYSTEM_INSTRUCTIONS, N.INPUT_MESSAGES, N.OUTPUT_MESSAGES, N.TOOL_DEFINITIONS):
            event_attrs.pop(key, None)
        if content is not None and tel.settings.capture.on_event:
            # On events the conventions want structured values, not JSON strings: parse the JSON
            # so the size cap (max_content_length) holds on events too.
            event_attrs.update({key: json.loads(value) for key, value in content.items()})
        assert tel._logger is not None
        tel._logger.emit(
            event_name=N.DETAILS_EVENT,
            severity_number=SeverityNumber(N.DETAILS_EVENT_SEVERITY_NUMBER),
            attributes=event_attrs,
            context=trace.set_span_in_context(self._span),
        )


class _NestedHandle(InvocationHandle):
    """An inference inside an enrichable one: no span of its own, merged into `outer` on end."""

    __slots__ = ("_outer",)

    def __init__(self, outer: InvocationHandle, invocation: Invocation) -> None:
        super().__init__(outer._telemetry, invocation, outer._span)
        self._outer = outer

    def context(self) -> Context:
        return self._outer.context()

    def first_chunk(self) -> None:
        self._outer.first_chunk()

    def _end(self, exc: BaseException | None) -> None:
        _merge(self.invocation, self._outer.invocation)

    def _abort(self) -> None:
        pass  # the span is the outer's, which ends on its own


class _FetchResponseHandle(InvocationHandle):
    """A fetch_response: a stored response read back by its id, no inference performed.

    What sets it apart from an inference: the fetched response's status is recorded; token usage is
    not (the conventions: neither as attributes nor as metrics), nor time to first chunk (nothing is
    generated); and there is no details event, which describes an inference.
    """

    __slots__ = ()

    def first_chunk(self) -> None:
        pass

    def _end(self, exc: BaseException | None) -> None:
        inv = self.invocation
        inv.usage = None
        status = getattr(inv, "response_status", None)  # a plain Invocation has none
        if status:
            inv.attributes[N.RESPONSE_STATUS] = status
        super()._end(exc)

    def _emit_event(self, attributes: dict[str, Any], content: dict[str, str] | None) -> None:
        pass


_MERGED_FIELDS = ("response_id", "response_model", "finish_reasons", "usage", "server_address", "server_port",
                  "error_type", "embedding_dimension_count")


def _merge(inner: Invocation, outer: Invocation) -> None:
    """Copy what the provider saw into the enclosing invocation; the provider's values win."""
    # Request parameters the framework does not report (a response_format or reasoning effort bound
    # to the model) are in the provider's request; gen_ai.output.type is conditionally required.
    # Before the fields below change: only what the outer span did not start with is added.
    known = _start_attributes(outer)
    for key, value in _start_attributes(inner).items():
        if key not in known:
            outer.attributes[key] = value
    for field in _MERGED_FIELDS:
        value = getattr(inner, field)
        if value is not None:
            setattr(outer, field, value)
    if inner.provider:
        outer.provider = inner.provider
        outer.attributes[N.PROVIDER_NAME] = inner.provider  # the span started with the framework's guess
    if inner.server_address is not None:  # start attributes of the outer span: set them at its end
        outer.attributes[N.SERVER_ADDRESS] = inner.server_address
        if inner.server_port is not None:
            outer.attributes[N.SERVER_PORT] = inner.server_port
    if inner.stream and not outer.stream:
        outer.stream = True
        outer.attributes[N.REQUEST_STREAM] = True
    if outer.request_model is None:
        outer.request_model = inner.request_model
    if not outer.output_messages:
        outer.output_messages = inner.output_messages
    outer.attributes.update(inner.start_attributes)
    outer.attributes.update(inner.attributes)


def _start_attributes(inv: Invocation) -> dict[str, Any]:
    attrs: dict[str, Any] = {N.OPERATION_NAME: inv.operation, N.PROVIDER_NAME: inv.provider}
    for key, value in (
        (N.REQUEST_MODEL, inv.request_model),
        (N.SERVER_ADDRESS, inv.server_address),
        (N.SERVER_PORT, inv.server_port if inv.server_address else None),
        (N.REQUEST_TEMPERATURE, _double(inv.temperature)),
        (N.REQUEST_TOP_P, _double(inv.top_p)),
        (N.REQUEST_TOP_K, inv.top_k),
        (N.REQUEST_MAX_TOKENS, inv.max_tokens),
        (N.REQUEST_STOP_SEQUENCES, inv.stop_sequences),
        (N.REQUEST_FREQUENCY_PENALTY, _double(inv.frequency_penalty)),
        (N.REQUEST_PRESENCE_PENALTY, _double(inv.presence_penalty)),
        (N.REQUEST_SEED, inv.seed),
        (N.REQUEST_CHOICE_COUNT, inv.choice_count if inv.choice_count != 1 else None),
        (N.OUTPUT_TYPE, inv.output_type),
        (N.REQUEST_REASONING_LEVEL, inv.reasoning_level),
        (N.REQUEST_PREVIOUS_RESPONSE_ID, inv.previous_response_id),
        (N.CONVERSATION_ID, inv.conversation_id),
        (N.REQUEST_ENCODING_FORMATS, inv.encoding_formats),
        (N.PROMPT_NAME, inv.prompt_name),
        (N.PROMPT_VERSION, inv.prompt_version if inv.prompt_name else None),
        (N.REQUEST_STREAM, True if inv.stream else None),
    ):
        if value is not None:
            attrs[key] = value
    if inv.start_attributes:
        attrs.update(inv.start_attributes)
    return attrs


def _fetch_start_attributes(inv: Invocation) -> dict[str, Any]:
    # No request parameters: the request names a response, not a model. Its id is known now.
    attrs: dict[str, Any] = {N.OPERATION_NAME: inv.operation, N.PROVIDER_NAME: inv.provider}
    for key, value in (
        (N.SERVER_ADDRESS, inv.server_address),
        (N.SERVER_PORT, inv.server_port if inv.server_address else None),
        (N.RESPONSE_ID, inv.response_id),
        (N.REQUEST_STREAM_CURSOR, getattr(inv, "stream_cursor", None)),
    ):
        if value is not None:
            attrs[key] = value
    if inv.start_attributes:
        attrs.update(inv.start_attributes)
    return attrs


def _double(value: float | None) -> float | None:
    # These are registered as double; `temperature=0` as given would be exported as an int value,
    # which a backend typing the attribute by its registry entry rejects or files apart.
    if value is None or type(value) is float:
        return value
    try:
        return float(value)
    except (TypeError, ValueError, OverflowError):
        return None


def _end_attributes(inv: Invocation, ttfc: float | None) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    if inv.response_id is not None:
        attrs[N.RESPONSE_ID] = inv.response_id
    if inv.response_model is not None:
        attrs[N.RESPONSE_MODEL] = inv.response_model
    if inv.finish_reasons:
        attrs[N.RESPONSE_FINISH_REASONS] = inv.finish_reasons
    if ttfc is not None:
        attrs[N.RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
    if inv.embedding_dimension_count is not None:
        attrs[N.EMBEDDINGS_DIMENSION_COUNT] = inv.embedding_dimension_count
    usage = inv.usage
    if usage is not None:
        _usage_attributes(usage, attrs)
    if inv.attributes:
        attrs.update(inv.attributes)
    return attrs


def _usage_attributes(usage: Usage, attrs: dict[str, Any]) -> None:
    for key, value in (
        (N.USAGE_INPUT_TOKENS, usage.input_tokens),
        (N.USAGE_OUTPUT_TOKENS, usage.output_tokens),
        (N.USAGE_CACHE_READ_INPUT_TOKENS, usage.cache_read_input_tokens),
        (N.USAGE_CACHE_WRITE_INPUT_TOKENS, usage.cache_write_input_tokens),
        (N.USAGE_REASONING_OUTPUT_TOKENS, usage.reasoning_output_tokens),
    ):
        if value is not None:
            attrs[key] = value


def _content(inv: Invocation, settings: Settings) -> dict[str, str]:
    limit = settings.max_content_length
    out: dict[str, str] = {}
    if inv.system_instructions:
        out[N.SYSTEM_INSTRUCTIONS] = to_json(inv.system_instructions, limit)
    if inv.input_messages:
        out[N.INPUT_MESSAGES] = to_json(inv.input_messages, limit)
    if inv.output_messages:
        out[N.OUTPUT_MESSAGES] = to_json(inv.output_messages, limit)
    if inv.tool_definitions:
        definitions = inv.tool_definitions
        if not settings.full_tool_definitions:
            # The conventions advise against the optional properties by default (size).
            definitions = [GenericToolDefinition(d.type, d.name) for d in definitions]
        out[N.TOOL_DEFINITIONS] = to_json(definitions, limit)
    return out

