"""ollama.chat / generate / embed / embeddings: methods bound at import to a module-level Client.

Wrapping the Client class does not reach them (each holds the original function), so the
instrumentor wraps the module attributes too. Each call must be traced exactly once, and
uninstrument() must give the module its own bound methods back.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator
from typing import Any

import ollama
import pytest
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import JOKE, cassette, chat_span, embed_body

FUNCTIONS = ("chat", "generate", "embed", "embeddings")


@pytest.fixture
def module_client(replay: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """The module-level Client, its HTTP client swapped for one aimed at the replay server.

    `ollama._client` on the package is that Client instance (it shadows the submodule); the
    module functions are its bound methods, so they read `self._client` at every call.
    """
    default = sys.modules["ollama"]._client
    assert isinstance(default, ollama.Client)
    pointed = ollama.Client(host=replay.url(""))
    monkeypatch.setattr(default, "_client", pointed._client)
    yield default
    pointed.close()


def _register(replay: Any, function: str) -> None:
    if function == "chat":
        replay.load_cassette(cassette("openllmetry__test_ollama_operation_duration_includes_model_attribute"))
    elif function == "generate":
        replay.load_cassette(cassette("openllmetry__test_ollama_generation_legacy"))
    elif function == "embed":
        replay.add("POST", "/api/embed", body=embed_body(count=1))
    else:
        replay.load_cassette(cassette("openllmetry__test_ollama_embeddings_legacy"))


_CALLS = {
    "chat": (("gemma3:1b",), {"messages": [{"role": "user", "content": "Hello, this is a test for model attribute."}]}),
    "generate": (("llama3", "Tell me a joke about OpenTelemetry"), {}),
    "embed": (("all-minilm",), {"input": "hello"}),
    "embeddings": ((), {"model": "llama3", "prompt": "all-minilm"}),
}
_SPAN_NAMES = {"chat": "chat gemma3:1b", "generate": "text_completion llama3", "embed": "embeddings all-minilm",
               "embeddings": "embeddings llama3"}


@pytest.mark.parametrize("function", FUNCTIONS)
def test_module_function_is_traced_once(function: str, replay: Any, otel: Any, instrument: Any,
                                        module_client: Any) -> None:
    _register(replay, function)
    instrument(OllamaInstrumentor)
    args, kwargs = _CALLS[function]

    result = getattr(ollama, function)(*args, **kwargs)

    assert result is not None and len(replay.requests) == 1
    span = chat_span(otel)  # exactly one span: the class wrapper does not fire a second time
    assert span.name == _SPAN_NAMES[function]
    # The address is the module client's own (here pointed at the replay server).
    assert (span.attributes["server.address"], span.attributes["server.port"]) == ("127.0.0.1", replay.port)
    assert span.attributes["gen_ai.provider.name"] == "ollama"


def test_module_chat_result_and_attributes(replay: Any, otel: Any, instrument: Any, module_client: Any) -> None:
    _register(replay, "chat")
    instrument(OllamaInstrumentor)
    args, kwargs = _CALLS["chat"]

    result = ollama.chat(*args, **kwargs)

    assert type(result) is ollama.ChatResponse and result.message.content.startswith("Okay, I understand.")
    attrs = chat_span(otel).attributes
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (19, 104)
    assert attrs["ollama.eval_duration"] == 0.81459575


def test_module_stream_is_traced_once(replay: Any, otel: Any, instrument: Any, module_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_streaming_metrics"))
    instrument(OllamaInstrumentor)

    text = "".join(part.response for part in ollama.generate(model="gemma3:1b", prompt=JOKE[0]["content"],
                                                              stream=True))

    assert text.startswith("Okay, here's a joke about OpenTelemetry")
    span = chat_span(otel)
    assert (span.name, span.attributes["gen_ai.request.stream"]) == ("text_completion gemma3:1b", True)
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


def test_client_and_module_function_side_by_side(replay: Any, otel: Any, instrument: Any, module_client: Any,
                                                 ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))
    instrument(OllamaInstrumentor)

    ollama.chat(model="llama3", messages=JOKE)
    ollama_client().chat(model="llama3", messages=JOKE)

    assert [s.name for s in otel.spans()] == ["chat llama3", "chat llama3"]


def test_uninstrument_gives_back_the_bound_methods(replay: Any, otel: Any, instrument: Any,
                                                   module_client: Any) -> None:
    originals = {name: getattr(ollama, name) for name in FUNCTIONS}
    instrumentor = instrument(OllamaInstrumentor)
    assert all(type(getattr(ollama, name)) is not types.MethodType for name in FUNCTIONS)  # wrapped

    instrumentor.uninstrument()

    for name in FUNCTIONS:
        restored = getattr(ollama, name)
        assert type(restored) is types.MethodType and restored == originals[name]
        assert restored.__self__ is module_client and restored.__func__ is vars(ollama.Client)[name]
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))
    ollama.chat(model="llama3", messages=JOKE)
    assert otel.spans() == []


def test_functions_imported_before_instrumenting_are_not_reached(replay: Any, otel: Any, instrument: Any,
                                                                 module_client: Any) -> None:
    # `from ollama import chat` before instrument() keeps the unwrapped bound method: a documented limit.
    early_chat = ollama.chat
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))
    instrument(OllamaInstrumentor)

    early_chat(model="llama3", messages=JOKE)

    assert otel.spans() == []


def test_functions_imported_while_instrumented_stop_tracing_at_uninstrument(
        replay: Any, otel: Any, instrument: Any, module_client: Any) -> None:
    # `from ollama import chat` after instrument(), as the README advises, holds the wrapper itself.
    instrumentor = instrument(OllamaInstrumentor)
    held_chat = ollama.chat
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))

    instrumentor.uninstrument()
    result = held_chat(model="llama3", messages=JOKE)

    assert result.message.content and len(replay.requests) == 1  # the call went through, untraced
    assert otel.spans() == []


def test_functions_imported_while_instrumented_trace_again_when_instrumented_again(
        replay: Any, otel: Any, instrument: Any, module_client: Any) -> None:
    # What autolog() does under opentelemetry-instrument, or when called a second time: uninstrument,
    # then instrument with new options. `from ollama import chat` taken meanwhile must not go dark.
    instrument(OllamaInstrumentor, capture_content="NO_CONTENT")
    held_chat = ollama.chat
    for _ in range(3):
        replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))
    held_chat(model="llama3", messages=JOKE)

    instrument(OllamaInstrumentor, capture_content="SPAN_ONLY")  # the fixture uninstruments first
    held_chat(model="llama3", messages=JOKE)
    ollama.chat(model="llama3", messages=JOKE)  # the new wrapper

    assert [s.name for s in otel.spans()] == ["chat llama3"] * 3 and len(replay.requests) == 3
    first, second, third = otel.spans()
    assert "gen_ai.input.messages" not in first.attributes
    assert "gen_ai.input.messages" in second.attributes and "gen_ai.input.messages" in third.attributes
