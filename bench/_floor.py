"""The OpenTelemetry SDK's own share of an instrumented call, for bench/overhead.py --floor.

The floor wraps a scenario's call in the least any instrumentation following the GenAI
conventions must do with the SDK: one CLIENT span in context with the five attributes known
before the call, then the duration and the input and output token counts (and, for a stream,
the time to first chunk) recorded on histograms with the advised buckets. It reads nothing
from the request or the response and captures no content, so what a real instrumentor adds
can only be more. Only the OpenTelemetry API is used, on the sink's providers.

For a stream the floor is lower than any instrumentor can reach: the call consumes the stream
inside the span, so no chunk passes through the floor (an instrumentor has to wrap the iterator
and see each one), and its time to first chunk is the duration / 100. What traceglass adds
beyond the floor on a stream therefore includes the unavoidable step per chunk.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from _telemetry import FLOOR_SCOPE

DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92]
TOKEN_BUCKETS = [4.0 ** i for i in range(14)]
# scenario -> (operation, provider, request model, server address, server port)
CALL = {
    "chat": ("chat", "openai", "gpt-4o-mini", "fake-openai.invalid", 80),
    "stream": ("chat", "openai", "gpt-4o-mini", "fake-openai.invalid", 80),
    "tools": ("chat", "openai", "gpt-4o-mini", "fake-openai.invalid", 80),
    "embeddings": ("embeddings", "openai", "text-embedding-3-small", "fake-openai.invalid", 80),
    "anthropic_chat": ("chat", "anthropic", "claude-sonnet-4-5", "fake-anthropic.invalid", 80),
    "anthropic_stream": ("chat", "anthropic", "claude-sonnet-4-5", "fake-anthropic.invalid", 80),
    "ollama_chat": ("chat", "ollama", "llama3.2", "127.0.0.1", 11434),
    "ollama_stream": ("chat", "ollama", "llama3.2", "127.0.0.1", 11434),
}


class Floor:
    def __init__(self, sink: Any) -> None:
        from opentelemetry import trace

        self._trace = trace
        self._tracer = sink.tracer_provider.get_tracer(FLOOR_SCOPE)
        meter = sink.meter_provider.get_meter(FLOOR_SCOPE)
        self._duration = meter.create_histogram("gen_ai.client.operation.duration", unit="s",
                                                explicit_bucket_boundaries_advisory=DURATION_BUCKETS)
        self._tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}",
                                              explicit_bucket_boundaries_advisory=TOKEN_BUCKETS)
        self._first_chunk = meter.create_histogram("gen_ai.client.operation.time_to_first_chunk", unit="s",
                                                   explicit_bucket_boundaries_advisory=DURATION_BUCKETS)

    def wrap(self, scenario: str, fn: Callable[[], Any]) -> Callable[[], Any]:
        operation, provider, model, address, port = CALL[scenario]
        attrs = {"gen_ai.operation.name": operation, "gen_ai.provider.name": provider,
                 "gen_ai.request.model": model, "server.address": address, "server.port": port}
        token_attrs = [{**attrs, "gen_ai.token.type": t}
                       for t in (("input",) if operation == "embeddings" else ("input", "output"))]
        name, kind, stream = f"{operation} {model}", self._trace.SpanKind.CLIENT, scenario.endswith("stream")
        tracer, clock = self._tracer, time.perf_counter

        def call() -> Any:
            start = clock()
            with tracer.start_as_current_span(name, kind=kind, attributes=attrs):
                result = fn()
            elapsed = clock() - start
            self._duration.record(elapsed, attrs)
            for a in token_attrs:
                self._tokens.record(100, a)
            if stream:
                self._first_chunk.record(elapsed / 100, attrs)
            return result

        return call
