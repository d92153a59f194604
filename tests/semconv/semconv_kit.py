"""Helpers of the semconv core tests: in-memory SDK pipelines, sample invocations, stream accumulators.

Everything here is local to one test: no global OpenTelemetry provider is ever set. The official
model (fixtures, registry, schemas) is in semconv_spec.py.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter, SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, Metric, ScopeMetrics
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traceglass.semconv import (
    BlobPart,
    FetchInvocation,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    Invocation,
    OutputMessage,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolCallResponsePart,
    Telemetry,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    UriPart,
    Usage,
)

from traceglass._env import Settings

SCOPE_NAME = "tests.semconv"
SCOPE_VERSION = "0.0.1"


# --- SDK pipelines --------------------------------------------------------------------------------


class StartSnapshot(SpanProcessor):
    """Keeps a copy of each span's attributes as they were when the span started (what a sampler sees)."""

    def __init__(self) -> None:
        self.at_start: list[dict[str, Any]] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.at_start.append(dict(span.attributes or {}))


class Pipelines:
    """Tracer, meter and logger providers whose output stays in memory."""

    def __init__(self) -> None:
        self.snapshot = StartSnapshot()
        self.span_exporter = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(shutdown_on_exit=False)
        self.tracer_provider.add_span_processor(self.snapshot)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        self.metric_reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.metric_reader], shutdown_on_exit=False)
        self.log_exporter = InMemoryLogRecordExporter()
        self.logger_provider = LoggerProvider(shutdown_on_exit=False)
        self.logger_provider.add_log_record_processor(SimpleLogRecordProcessor(self.log_exporter))

    def telemetry(self, settings: Settings | None = None, **resolve: Any) -> Telemetry:
        """A Telemetry on these providers; `resolve` goes to Settings.resolve when no settings are given."""
        if settings is None:
            settings = Settings.resolve(**resolve)
        return Telemetry(
            SCOPE_NAME, SCOPE_VERSION, settings,
            tracer_provider=self.tracer_provider,
            meter_provider=self.meter_provider,
            logger_provider=self.logger_provider,
        )

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def span(self) -> ReadableSpan:
        spans = self.spans()
        assert len(spans) == 1, f"expected 1 finished span, got {[s.name for s in spans]}"
        return spans[0]

    def logs(self) -> list[ReadableLogRecord]:
        return list(self.log_exporter.get_finished_logs())

    def scope_metrics(self) -> list[ScopeMetrics]:
        data = self.metric_reader.get_metrics_data()
        if data is None:
            return []
        return [scope for resource in data.resource_metrics for scope in resource.scope_metrics]

    def metrics(self) -> dict[str, Metric]:
        return {metric.name: metric for scope in self.scope_metrics() for metric in scope.metrics}

    def points(self, name: str) -> list[HistogramDataPoint]:
        metric = self.metrics().get(name)
        return [] if metric is None else list(metric.data.data_points)

    def shutdown(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()
        self.logger_provider.shutdown()


# --- sample invocations ---------------------------------------------------------------------------

WEATHER_PARAMETERS: dict[str, Any] = {
    "type": "object",
    "properties": {"location": {"type": "string"}},
    "required": ["location"],
}


def rich_invocation(**overrides: Any) -> Invocation:
    """A chat call using every request parameter, every part type, usage details and OpenAI attributes."""
    inv = Invocation(
        operation="chat",
        provider="openai",
        request_model="gpt-4o",
        server_address="api.openai.com",
        server_port=443,
        stream=True,
        temperature=0.2,
        top_p=0.9,
        top_k=40,
        max_tokens=256,
        stop_sequences=["END", "STOP"],
        frequency_penalty=0.1,
        presence_penalty=0.3,
        seed=7,
        choice_count=2,
        output_type="json",
        reasoning_level="low",
        previous_response_id="resp_prev",
        conversation_id="conv_42",
        system_instructions=[TextPart("You are a weather bot.")],
        input_messages=[
            InputMessage("system", [TextPart("Answer briefly.")]),
            InputMessage("user", [
                TextPart("Weather in Paris? See the picture and files."),
                BlobPart("image", b"\x89PNG\r\n\x1a\n", mime_type="image/png"),
                UriPart("image", "https://example.com/paris.jpg", mime_type="image/jpeg"),
                FilePart("document", "file-abc123", mime_type="application/pdf"),
            ], name="alice"),
            InputMessage("assistant", [
                ReasoningPart("The user wants the weather; call the tool."),
                ToolCallRequestPart("get_weather", id="call_1", arguments={"location": "Paris"}),
                ServerToolCallPart("web_search", {"type": "web_search", "query": "Paris weather"}, id="srv_1"),
                ServerToolCallResponsePart({"type": "web_search", "results": [{"url": "https://x.example"}]},
                                           id="srv_1"),
            ]),
            InputMessage("tool", [ToolCallResponsePart("rainy, 57°F", id="call_1")]),
        ],
        tool_definitions=[
            FunctionToolDefinition("get_weather", description="Current weather", parameters=WEATHER_PARAMETERS),
            GenericToolDefinition("web_search", "web_search"),
        ],
        output_messages=[
            OutputMessage("assistant", [ReasoningPart("Tool said rainy."), TextPart("It is rainy.")], "stop"),
            OutputMessage("assistant", [ToolCallRequestPart("get_weather", id="call_2",
                                                            arguments={"location": "Lyon"})], "tool_call"),
        ],
        response_id="chatcmpl-123",
        response_model="gpt-4o-2024-08-06",
        finish_reasons=["stop", "tool_call"],
        usage=Usage.normalized(100, 40, cache_read=30, cache_write=5, reasoning=12),
        start_attributes={"openai.api.type": "chat_completions", "openai.request.service_tier": "default"},
        attributes={"openai.response.service_tier": "default", "openai.response.system_fingerprint": "fp_1"},
    )
    for key, value in overrides.items():
        setattr(inv, key, value)
    return inv


def embeddings_invocation() -> Invocation:
    return Invocation(
        operation="embeddings", provider="openai", request_model="text-embedding-3-small",
        server_address="api.openai.com", server_port=443, encoding_formats=["float"],
        response_model="text-embedding-3-small", usage=Usage(input_tokens=8), embedding_dimension_count=1536,
    )


def fetch_invocation(**overrides: Any) -> FetchInvocation:
    """An OpenAI responses.retrieve: a completed stored response read back from a resumed stream."""
    inv = FetchInvocation(
        operation="fetch_response", provider="openai", server_address="api.openai.com", server_port=443,
        stream=True, stream_cursor="42", response_id="resp_abc123", response_model="gpt-4o-2024-08-06",
        response_status="completed", finish_reasons=["stop"],
        system_instructions=[TextPart("You are a weather bot.")],
        tool_definitions=[FunctionToolDefinition("get_weather", description="Current weather",
                                                 parameters=WEATHER_PARAMETERS)],
        output_messages=[OutputMessage("assistant", [TextPart("It is rainy.")], "stop")],
        start_attributes={"openai.api.type": "responses"},
        attributes={"openai.response.service_tier": "default"},
    )
    for key, value in overrides.items():
        setattr(inv, key, value)
    return inv


def text_invocation(text: str = "hello", **fields: Any) -> Invocation:
    """A minimal chat call with one user and one assistant message; `fields` override Invocation fields."""
    defaults: dict[str, Any] = {
        "input_messages": [InputMessage("user", [TextPart(text)])],
        "output_messages": [OutputMessage("assistant", [TextPart("ok")], "stop")],
    }
    return Invocation(operation="chat", provider="openai", request_model="gpt-4o-mini", **{**defaults, **fields})


# --- stream accumulators --------------------------------------------------------------------------


class Collecting:
    """An adapter-side accumulator: joins text chunks; a stream cut short gets finish reason `error`."""

    def __init__(self) -> None:
        self.chunks: list[str] = []
        self.applied: list[bool] = []

    def add(self, chunk: str) -> None:
        self.chunks.append(chunk)

    def apply(self, invocation: Invocation, complete: bool) -> None:
        self.applied.append(complete)
        reason = "stop" if complete else "error"
        invocation.finish_reasons = [reason]
        invocation.response_id = "resp-stream"
        invocation.output_messages = [OutputMessage("assistant", [TextPart("".join(self.chunks))], reason)]


class FailingAdd(Collecting):
    """add() raises on every chunk: iteration must go on regardless."""

    def add(self, chunk: str) -> None:
        raise KeyError(chunk)


class FailingApply(Collecting):
    def apply(self, invocation: Invocation, complete: bool) -> None:
        self.applied.append(complete)
        raise RuntimeError("apply bug")


class ProviderError(Exception):
    """What an SDK raises mid-stream (a dropped connection, an error event)."""


CHUNKS = ["Hel", "lo", ", ", "world"]


def stream_invocation() -> Invocation:
    return text_invocation(stream=True, output_messages=[])
