"""The anthropic SDK's own OpenTelemetry spans (`anthropic.messages.create`, scope
com.anthropic.sdk.python): while traceglass is instrumented, exactly one inference span per model call.

In-process tests give the SDK the test's tracer provider through its documented client option
(`open_telemetry={"tracer_provider": ...}`), so its spans land next to ours; one subprocess test
uses the default set-up instead: a global tracer provider, which the SDK picks up by itself.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Awaitable, Callable
from typing import Any

import anthropic._base_client as base_client
import anthropic._tracing as sdk_tracing
import pytest

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    HELLO,
    MODEL,
    aw,
    drain,
    instrument_anthropic,
    message_body,
    opened,
    sse_events,
    text_deltas,
)

SDK_SCOPE = "com.anthropic.sdk.python"
OURS = "traceglass.instrumentors.anthropic"
REQUEST = {"model": MODEL, "max_tokens": 32, "messages": HELLO}


async def _create(c: Any) -> Any:
    return await aw(c.messages.create(**REQUEST))


async def _create_stream(c: Any) -> Any:
    return await drain(await aw(c.messages.create(stream=True, **REQUEST)))


async def _stream_helper(c: Any) -> Any:
    async with opened(c.messages.stream(**REQUEST)) as stream:
        return await aw(stream.get_final_message())


async def _parse(c: Any) -> Any:
    return await aw(c.messages.parse(**REQUEST))


async def _raw(c: Any) -> Any:
    return await aw((await aw(c.messages.with_raw_response.create(**REQUEST))).parse())


async def _streaming_response(c: Any) -> Any:
    async with opened(c.messages.with_streaming_response.create(**REQUEST)) as response:
        return await aw(response.parse())


async def _beta_create(c: Any) -> Any:
    return await aw(c.beta.messages.create(**REQUEST))


async def _beta_stream_helper(c: Any) -> Any:
    async with opened(c.beta.messages.stream(**REQUEST)) as stream:
        return await drain(stream.text_stream)


SURFACES: dict[str, Callable[[Any], Awaitable[Any]]] = {
    "create": _create, "create_stream": _create_stream, "stream_helper": _stream_helper, "parse": _parse,
    "with_raw_response": _raw, "with_streaming_response": _streaming_response, "beta_create": _beta_create,
    "beta_stream_helper": _beta_stream_helper,
}
STREAMING = {"create_stream", "stream_helper", "beta_stream_helper"}


def _respond(replay: Any, surface: str) -> None:
    if surface in STREAMING:
        replay.add_sse("/v1/messages", sse_events(*text_deltas("Hi")), event_names="type")
    else:
        replay.add("POST", "/v1/messages", body=message_body())


def _call(client: Any, is_async: bool, scenario: Callable[[Any], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        try:
            return await scenario(client)
        finally:
            if is_async:
                await client.close()

    return asyncio.run(main())


def _scopes(otel: Any) -> list[tuple[str, str]]:
    return [(s.instrumentation_scope.name, s.name) for s in otel.spans()]


@pytest.fixture
def sdk_traced(otel: Any, anthropic_client: Any) -> Callable[..., Any]:
    """``make(is_async, **open_telemetry_options)``: a client whose own spans go to the test's tracer provider."""
    def make(is_async: bool, **options: Any) -> Any:
        return anthropic_client(is_async, open_telemetry={"tracer_provider": otel.tracer_provider, **options})

    return make


def test_the_sdk_traces_itself(replay: Any, otel: Any, sdk_traced: Any) -> None:
    """The baseline: uninstrumented, the SDK's span is there, so its absence below means something."""
    _respond(replay, "create")

    _call(sdk_traced(False), False, _create)

    assert _scopes(otel) == [(SDK_SCOPE, "anthropic.messages.create")]


@ASYNC
@pytest.mark.parametrize("built", ["before", "after"], ids=["client-before-instrument", "client-after"])
@pytest.mark.parametrize("surface", list(SURFACES))
def test_one_span_per_call(surface: str, built: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                           sdk_traced: Any) -> None:
    _respond(replay, surface)
    if built == "before":
        client = sdk_traced(is_async)
        assert client.messages is not None and client.beta.messages is not None  # resources cached before
        instrument_anthropic(instrument)
    else:
        instrument_anthropic(instrument)
        client = sdk_traced(is_async)

    _call(client, is_async, SURFACES[surface])

    assert _scopes(otel) == [(OURS, f"chat {MODEL}")]


def test_trace_context_still_propagates(replay: Any, otel: Any, instrument: Any, sdk_traced: Any) -> None:
    """The SDK keeps injecting `traceparent` (its `propagation` option); it now names our span."""
    instrument_anthropic(instrument)
    for _ in range(2):
        _respond(replay, "create")

    _call(sdk_traced(False), False, _create)
    _call(sdk_traced(False, propagation=False), False, _create)

    first, second = otel.spans()
    context = first.get_span_context()
    traceparent = replay.requests[0].headers["traceparent"]
    assert traceparent.split("-")[1:3] == [f"{context.trace_id:032x}", f"{context.span_id:016x}"]
    assert "traceparent" not in replay.requests[1].headers and second.name == f"chat {MODEL}"


def test_calls_traceglass_does_not_trace_keep_the_sdk_span(replay: Any, otel: Any, instrument: Any,
                                                          sdk_traced: Any) -> None:
    client = sdk_traced(False)
    early_raw = client.messages.with_raw_response  # binds the unwrapped create, before instrument()
    instrument_anthropic(instrument)
    replay.add("POST", "/v1/messages/count_tokens", body={"input_tokens": 12})
    _respond(replay, "create")

    client.messages.count_tokens(model=MODEL, messages=HELLO)
    early_raw.create(**REQUEST).parse()

    # Still one span per call: the SDK's, since traceglass recorded neither.
    assert _scopes(otel) == [(SDK_SCOPE, "anthropic.messages.count_tokens"), (SDK_SCOPE, "anthropic.messages.create")]


def test_uninstrument_brings_the_sdk_spans_back(replay: Any, otel: Any, instrument: Any, sdk_traced: Any) -> None:
    instrumentor = instrument_anthropic(instrument)
    client = sdk_traced(False)
    _respond(replay, "create")
    _call(client, False, _create)
    assert base_client.start_api_call_span is not sdk_tracing.start_api_call_span

    instrumentor.uninstrument()
    _call(client, False, _create)

    assert base_client.start_api_call_span is sdk_tracing.start_api_call_span
    assert _scopes(otel) == [(OURS, f"chat {MODEL}"), (SDK_SCOPE, "anthropic.messages.create")]


_SCRIPT = """
import json, sys
import anthropic
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from traceglass.instrumentors.anthropic import AnthropicInstrumentor

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # the SDK's default: spans go to the global provider
request = {"model": "claude-sonnet-4-20250514", "max_tokens": 32, "messages": [{"role": "user", "content": "hi"}]}
phases = {}

def phase(name, calls):
    exporter.clear()
    for call in calls:
        call()
    phases[name] = [[s.instrumentation_scope.name, s.name] for s in exporter.get_finished_spans()]

def stream(client):
    with client.messages.stream(**request) as s:
        s.get_final_message()

before = anthropic.Anthropic(base_url=sys.argv[1], api_key="k", max_retries=0)
phase("bare", [lambda: before.messages.create(**request)])
AnthropicInstrumentor().instrument()
after = anthropic.Anthropic(base_url=sys.argv[1], api_key="k", max_retries=0)
phase("instrumented", [lambda: before.messages.create(**request), lambda: after.messages.create(**request),
                       lambda: stream(after)])
AnthropicInstrumentor().uninstrument()
phase("uninstrumented", [lambda: before.messages.create(**request)])
print(json.dumps(phases))
"""


@pytest.mark.slow
def test_global_tracer_provider_in_a_fresh_process(replay: Any) -> None:
    for surface in ("create", "create", "create", "stream_helper", "create"):
        _respond(replay, surface)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "OTEL_"))}

    done = subprocess.run([sys.executable, "-c", textwrap.dedent(_SCRIPT), replay.url("")], env=env,
                          capture_output=True, text=True, timeout=120, check=False)

    assert done.returncode == 0, done.stderr
    phases = json.loads(done.stdout.strip().splitlines()[-1])
    sdk, ours = [SDK_SCOPE, "anthropic.messages.create"], [OURS, "chat claude-sonnet-4-20250514"]
    assert phases == {"bare": [sdk], "instrumented": [ours, ours, ours], "uninstrumented": [sdk]}
    assert len(replay.requests) == 5


CALL_FACTS = ("gen_ai.conversation.id", "anthropic.request.service_tier", "anthropic.response.service_tier")


@ASYNC
@pytest.mark.parametrize("surface", ["create", "create_stream", "stream_helper"])
def test_what_the_sdk_span_said_of_the_call_stays_said(surface: str, is_async: bool, replay: Any, otel: Any,
                                                       instrument: Any, sdk_traced: Any) -> None:
    """The SDK's own span records the conversation its client was given (the SDK documents
    `with_options(open_telemetry={..., "conversation_id": ...})` for that) and the service tier
    asked for and served. The span that replaces it must not lose them."""
    request = {**REQUEST, "service_tier": "auto"}

    async def scenario(c: Any) -> Any:
        c = c.with_options(open_telemetry={**c.open_telemetry, "conversation_id": "conv_123"})
        if surface == "create":
            return await aw(c.messages.create(**request))
        if surface == "create_stream":
            return await drain(await aw(c.messages.create(stream=True, **request)))
        async with opened(c.messages.stream(**request)) as stream:
            return await aw(stream.get_final_message())

    def respond() -> None:
        if surface == "create":
            replay.add("POST", "/v1/messages", body=message_body())
        else:
            events = sse_events(*text_deltas("Hi"))
            events[0]["message"]["usage"]["service_tier"] = "standard"  # as the API starts a stream
            replay.add_sse("/v1/messages", events, event_names="type")

    respond()
    _call(sdk_traced(is_async), is_async, scenario)
    (sdk_span,) = otel.spans()
    expected = {key: sdk_span.attributes[key] for key in CALL_FACTS}
    assert expected == {"gen_ai.conversation.id": "conv_123", "anthropic.request.service_tier": "auto",
                        "anthropic.response.service_tier": "standard"}
    otel.clear()

    instrument_anthropic(instrument)
    respond()
    _call(sdk_traced(is_async), is_async, scenario)

    (span,) = otel.spans()
    assert span.instrumentation_scope.name == OURS
    assert {key: span.attributes.get(key) for key in CALL_FACTS} == expected
