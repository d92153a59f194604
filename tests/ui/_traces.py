"""Crafted traces for the UI tests, sent to a running server by the OpenTelemetry SDK's own OTLP/HTTP
exporter: an agent run with chat, tool calls and tool definitions, a failed call with an exception,
hostile LLM output, a span with a payload larger than the trace endpoint's cut, and a 2,000-span trace."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from opentelemetry import trace as trace_api
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
from traceglass.collector.server import Server

EXPERIMENT = "traceglass.experiment"
BASE_NS = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
MS = 1_000_000

HOSTILE_ANSWER = 'Sure! <script>window.__pwned = 1</script> and <img src="x" onerror="window.__pwned = 2"> done'
BIG_VALUE = "lorem ipsum " * 2000  # 24,000 characters: more than the UI asks the trace endpoint for


def _messages(*messages: dict[str, Any]) -> str:
    return json.dumps(list(messages))


def _text(role: str, content: str, **extra: Any) -> dict[str, Any]:
    return {"role": role, "parts": [{"type": "text", "content": content}], **extra}


TOOLS = json.dumps([{"type": "function", "name": "get_weather", "description": "Current weather for a city",
                     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}])


class TraceSender:
    """Spans with chosen start/end times, exported to `server` over OTLP/HTTP."""

    def __init__(self, server: Server) -> None:
        self.server = server
        endpoint = f"http://127.0.0.1:{server.ports['http']}/v1/traces"
        token = server.config.auth_token
        exporter = OTLPSpanExporter(endpoint=endpoint, headers={"Authorization": f"Bearer {token}"} if token else None)
        self.provider = TracerProvider(resource=Resource.create({"service.name": "ui-tests"}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter, max_export_batch_size=512))
        self.tracer = self.provider.get_tracer("tests.ui")

    @contextmanager
    def span(self, name: str, start_ms: float, end_ms: float, experiment: str,
             attributes: dict[str, Any] | None = None, error: str | None = None) -> Iterator[trace_api.Span]:
        attrs = {EXPERIMENT: experiment, **(attributes or {})}
        span = self.tracer.start_span(name, start_time=BASE_NS + int(start_ms * MS), attributes=attrs)
        with trace_api.use_span(span, end_on_exit=False):
            yield span
        if error:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=BASE_NS + int(end_ms * MS))

    def flush(self) -> None:
        assert self.provider.force_flush(30_000)
        assert self.server.ingest.queue.wait_idle(30), "the writer did not catch up"

    def close(self) -> None:
        self.provider.shutdown()


def send_agent_run(sender: TraceSender, experiment: str, offset_ms: float = 0, city: str = "Paris") -> str:
    """An agent: a chat call asking for a tool, the tool, a chat call answering. Returns the trace id."""
    t = offset_ms
    question = f"What is the weather in {city}?"
    with sender.span("weather agent", t, t + 1500, experiment, {
        "traceglass.span.type": "AGENT", "gen_ai.operation.name": "invoke_agent",
        "traceglass.span.inputs": json.dumps({"question": question}),
        "traceglass.span.outputs": json.dumps({"answer": f"It is rainy in {city}."}),
        "session.id": "session-42", "user.id": "alice", "traceglass.trace.tags": ("env=test",),
    }) as root:
        with sender.span("chat gpt-4o", t + 10, t + 600, experiment, {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 42, "gen_ai.usage.output_tokens": 12,
            "gen_ai.system_instructions": json.dumps([{"type": "text", "content": "You are a weather bot."}]),
            "gen_ai.input.messages": _messages(_text("user", question)),
            "gen_ai.output.messages": _messages({"role": "assistant", "finish_reason": "tool_call", "parts": [
                {"type": "tool_call", "id": "call_1", "name": "get_weather", "arguments": {"city": city}}]}),
            "gen_ai.tool.definitions": TOOLS,
        }):
            pass
        with sender.span("execute_tool get_weather", t + 610, t + 900, experiment, {
            "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "get_weather",
            "gen_ai.tool.call.arguments": json.dumps({"city": city}), "gen_ai.tool.call.result": '"rainy, 14°C"',
        }):
            pass
        with sender.span("chat gpt-4o", t + 910, t + 1490, experiment, {
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
            "gen_ai.usage.input_tokens": 80, "gen_ai.usage.output_tokens": 9,
            "gen_ai.input.messages": _messages(
                _text("user", question),
                {"role": "assistant", "parts": [{"type": "tool_call", "id": "call_1", "name": "get_weather",
                                                 "arguments": {"city": city}}]},
                {"role": "tool", "parts": [{"type": "tool_call_response", "id": "call_1", "response": "rainy, 14°C"}]}),
            "gen_ai.output.messages": _messages(_text("assistant", f"It is rainy in {city}.", finish_reason="stop")),
        }):
            pass
    return format(root.get_span_context().trace_id, "032x")


def send_failed_call(sender: TraceSender, experiment: str, offset_ms: float) -> str:
    with sender.span("chat gpt-4o-mini", offset_ms, offset_ms + 300, experiment, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.input.messages": _messages(_text("user", "Summarise the quarterly report")),
        "error.type": "openai.RateLimitError",
    }, error="Rate limit reached") as span:
        try:
            raise RuntimeError("Rate limit reached for gpt-4o-mini")
        except RuntimeError as exc:
            span.record_exception(exc, timestamp=BASE_NS + int((offset_ms + 290) * MS))
    return format(span.get_span_context().trace_id, "032x")


def send_hostile(sender: TraceSender, experiment: str, offset_ms: float) -> str:
    """An LLM answer (and names, tags) made of HTML that must show as text."""
    with sender.span("chat <b>bold</b>", offset_ms, offset_ms + 200, experiment, {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o",
        "gen_ai.input.messages": _messages(_text("user", "<script>window.__pwned = 3</script>Say hi")),
        "gen_ai.output.messages": _messages(_text("assistant", HOSTILE_ANSWER, finish_reason="stop")),
        "traceglass.trace.tags": ('<img src=x onerror="window.__pwned=4">',),
    }) as span:
        pass
    return format(span.get_span_context().trace_id, "032x")


def send_big_payload(sender: TraceSender, experiment: str, offset_ms: float) -> str:
    with sender.span("retrieve documents", offset_ms, offset_ms + 120, experiment, {
        "traceglass.span.type": "RETRIEVER", "gen_ai.operation.name": "retrieval",
        "traceglass.span.inputs": json.dumps({"query": "lorem"}),
        "traceglass.span.outputs": BIG_VALUE + "THE END",
    }) as span:
        pass
    return format(span.get_span_context().trace_id, "032x")


def send_wide_trace(sender: TraceSender, experiment: str, offset_ms: float, spans: int = 2000) -> str:
    """One root with `spans - 1` descendants: groups of 20 steps, each step a chat call."""
    groups = (spans - 1) // 20
    with sender.span("batch job", offset_ms, offset_ms + 60_000, experiment, {"traceglass.span.type": "CHAIN"}) as root:
        made = 1
        for g in range(groups):
            start = offset_ms + g * (59_000 / groups)
            with sender.span(f"step {g}", start, start + 50, experiment, {"traceglass.span.type": "CHAIN"}):
                made += 1
                for i in range(19):
                    with sender.span(f"chat {g}.{i}", start + i * 2, start + i * 2 + 2, experiment,
                                     {"gen_ai.operation.name": "chat", "gen_ai.request.model": "gpt-4o"}):
                        made += 1
        while made < spans:
            with sender.span(f"tail {made}", offset_ms + 59_500, offset_ms + 59_600, experiment):
                made += 1
    return format(root.get_span_context().trace_id, "032x")
