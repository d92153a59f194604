"""OllamaInstrumentor itself: capture modes, server address, context, (un)instrumenting, sampling."""

from __future__ import annotations

import json
from typing import Any

import httpx
import ollama
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    DETAILS_EVENT,
    INPUT,
    JOKE,
    OUTPUT,
    StartAttributes,
    assert_no_content,
    call,
    cassette,
    chat_span,
    content,
    run,
    text,
)

CHAT = cassette("openllmetry__test_ollama_chat_legacy")
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
METHODS = [(cls, name) for cls in (ollama.Client, ollama.AsyncClient)
           for name in ("chat", "generate", "embed", "embeddings")]


def _chat(client: Any) -> Any:
    return client.chat(model="llama3", messages=JOKE)


def test_instrumented_library() -> None:
    assert list(OllamaInstrumentor().instrumentation_dependencies()) == ["ollama >= 0.6"]


def test_no_content_by_default(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    instrument(OllamaInstrumentor, capture_content=None)  # neither argument nor environment variable

    _chat(ollama_client())

    attrs = chat_span(otel).attributes
    assert_no_content(attrs)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.response.finish_reasons"]) == (17, ("stop",))
    assert otel.logs() == []


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"])
@pytest.mark.parametrize("source", ["argument", "env"])
def test_capture_modes(mode: str, source: str, replay: Any, otel: Any, instrument: Any, ollama_client: Any,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(CHAT)
    if source == "env":
        monkeypatch.setenv(CAPTURE_ENV, mode.lower())
        instrument(OllamaInstrumentor, capture_content=None)
    else:
        instrument(OllamaInstrumentor, capture_content=mode)

    result = _chat(ollama_client())

    span = chat_span(otel)
    user = [{"role": "user", "parts": [text("Tell me a joke about OpenTelemetry")]}]
    if "SPAN" in mode:
        assert content(span, INPUT) == user
    else:
        assert_no_content(span.attributes)
    logs = otel.logs()
    if "EVENT" in mode:
        [record] = [r.log_record for r in logs]
        assert record.event_name == DETAILS_EVENT
        assert record.span_id == span.context.span_id
        # Structured on the event, not JSON strings (the SDK stores sequences as tuples: compare as JSON).
        assert json.loads(json.dumps(record.attributes[INPUT])) == user
        assert json.loads(json.dumps(record.attributes[OUTPUT]))[0]["parts"] == [text(result.message.content)]
        assert record.attributes["gen_ai.provider.name"] == "ollama"
    else:
        assert logs == []


@pytest.mark.parametrize(("host", "env", "address"), [
    (None, None, ("127.0.0.1", 11434)),  # the SDK's default
    (None, "http://ollama.internal:8080", ("ollama.internal", 8080)),  # OLLAMA_HOST
    ("https://ollama.example.com", None, ("ollama.example.com", 443)),  # the scheme's default port
    ("gpu-box", None, ("gpu-box", 11434)),  # a bare host name gets Ollama's port
    ("http://[::1]:9000", None, ("::1", 9000)),
])
def test_server_address(host: str | None, env: str | None, address: tuple[str, int], otel: Any, instrument: Any,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    if env is None:
        monkeypatch.delenv("OLLAMA_HOST", raising=False)
    else:
        monkeypatch.setenv("OLLAMA_HOST", env)
    answer = {"model": "llama3", "message": {"role": "assistant", "content": "Hi"}, "done": True}
    # An in-process transport: the address comes from the client's base URL, wherever that points.
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=answer))
    instrument(OllamaInstrumentor)

    with ollama.Client(host=host, transport=transport) as client:
        _chat(client)

    attrs = chat_span(otel).attributes
    assert (attrs["server.address"], attrs["server.port"]) == address


def test_provider_name_override(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    instrument(OllamaInstrumentor, provider_name="ollama.cloud")

    _chat(ollama_client())

    assert chat_span(otel).attributes["gen_ai.provider.name"] == "ollama.cloud"


@ASYNC
def test_span_nests_under_the_current_span(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                           ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    instrument(OllamaInstrumentor)
    tracer = otel.tracer_provider.get_tracer("app")

    async def scenario(client: Any) -> Any:
        with tracer.start_as_current_span("handle request") as parent:
            await call("chat", model="llama3", messages=JOKE)(client)
            # The call's span is not left current after it returns.
            assert trace.get_current_span() is parent
        return parent

    parent = run(ollama_client, is_async, scenario)

    [child] = [s for s in otel.spans() if s.name == "chat llama3"]
    assert child.parent.span_id == parent.get_span_context().span_id
    assert child.context.trace_id == parent.get_span_context().trace_id


def test_sampling_attributes_are_set_at_start(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    seen = StartAttributes()
    otel.tracer_provider.add_span_processor(seen)
    instrument(OllamaInstrumentor)

    _chat(ollama_client())

    assert seen.seen == [{"gen_ai.operation.name": "chat", "gen_ai.provider.name": "ollama",
                          "gen_ai.request.model": "llama3", "server.address": "127.0.0.1",
                          "server.port": replay.port}]


def test_suppressed_instrumentation_makes_no_span(replay: Any, otel: Any, instrument: Any,
                                                  ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    instrument(OllamaInstrumentor)

    with suppress_instrumentation():
        result = _chat(ollama_client())

    assert result.message.content.startswith("A joke about OpenTelemetry!")
    assert otel.spans() == []


def test_uninstrument_restores_every_method(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    originals = {(cls, name): vars(cls)[name] for cls, name in METHODS}
    instrumentor = instrument(OllamaInstrumentor)
    assert all(vars(cls)[name] is not originals[(cls, name)] for cls, name in METHODS)

    instrumentor.uninstrument()

    assert all(vars(cls)[name] is originals[(cls, name)] for cls, name in METHODS)
    replay.load_cassette(CHAT)
    _chat(ollama_client())
    assert otel.spans() == []


def test_instrument_again_after_uninstrument(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(CHAT)
    instrument(OllamaInstrumentor).uninstrument()
    instrument(OllamaInstrumentor)

    _chat(ollama_client())
    ollama_client().chat(model="llama3", messages=JOKE)

    # Wrapped once again, not twice: one span per call.
    assert [s.name for s in otel.spans()] == ["chat llama3", "chat llama3"]
