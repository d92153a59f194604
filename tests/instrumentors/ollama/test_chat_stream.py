"""chat(stream=True): a generator (an async generator from AsyncClient) of NDJSON chunks, traced as one span."""

from __future__ import annotations

import gc
import inspect
import json
from typing import Any

import ollama
import pytest
from opentelemetry.trace import StatusCode
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    DURATION,
    JOKE,
    OUTPUT,
    TTFC,
    aw,
    call,
    cassette,
    chat_chunk,
    chat_span,
    content,
    drain,
    durations,
    next_item,
    one_point,
    parts,
    run,
    span_attributes,
    text,
    tool_call_stream,
)

STREAM = cassette("openllmetry__test_ollama_streaming_chat_legacy")  # 49 text chunks + the done chunk


def _open(client: Any) -> Any:
    return client.chat(model="llama3", messages=JOKE, stream=True)


@ASYNC
def test_text_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    recorded = replay.load_cassette(STREAM)
    final = json.loads(recorded.responses[0].body.splitlines()[-1])
    instrument(OllamaInstrumentor)

    async def scenario(client: Any) -> Any:
        stream = await aw(_open(client))
        # A plain (async) generator, as the SDK returns it; nothing is sent before the first next().
        assert inspect.isasyncgen(stream) if is_async else inspect.isgenerator(stream)
        assert replay.requests == [] and otel.spans() == []
        chunks = await drain(stream)
        return chunks

    chunks = run(ollama_client, is_async, scenario)

    assert len(chunks) == 50 and all(type(c) is ollama.ChatResponse for c in chunks)
    answer = "".join(c.message.content for c in chunks)
    assert answer.startswith("Why did the OpenTelemetry agent go to therapy?")
    span = chat_span(otel)
    attrs = span_attributes(span)
    ttfc = attrs.pop("gen_ai.response.time_to_first_chunk")
    assert 0 < ttfc < (span.end_time - span.start_time) / 1e9
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "gen_ai.request.stream": True,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.model": "llama3",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 17,
        "gen_ai.usage.output_tokens": 50,
        **durations(final),
        "gen_ai.input.messages": attrs["gen_ai.input.messages"],
        "gen_ai.output.messages": attrs["gen_ai.output.messages"],
    }
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text(answer)], "finish_reason": "stop"}]
    assert one_point(otel, TTFC, {"gen_ai.request.model": "llama3"}).count == 1
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_thinking_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat_stream"))
    instrument(OllamaInstrumentor)

    chunks = run(ollama_client, is_async, call("chat", model="qwen3.6:latest", stream=True, think=True,
                                               messages=[{"role": "user", "content": "Count from 1 to 5."}]))

    thinking = "".join(c.message.thinking or "" for c in chunks)
    assert thinking.startswith("Here's a thinking process") and len(chunks) > 700
    span = chat_span(otel)
    assert parts(span, OUTPUT) == [{"type": "reasoning", "content": thinking}, text("1\n2\n3\n4\n5")]
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (21, 889)


@ASYNC
def test_streamed_tool_call(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.add_ndjson("/api/chat", tool_call_stream())
    instrument(OllamaInstrumentor)

    tools = [{"type": "function", "function": {"name": "get_current_weather"}}]

    chunks = run(ollama_client, is_async, call("chat", model="qwen3.6:latest", stream=True, tools=tools,
                                               messages=[{"role": "user", "content": "Weather in Paris?"}]))

    assert chunks[2].message.tool_calls[0].function.name == "get_current_weather"
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert content(span, OUTPUT) == [{
        "role": "assistant",
        "parts": [{"type": "reasoning", "content": "The user wants the weather in Paris."},
                  {"type": "tool_call", "name": "get_current_weather", "arguments": {"city": "Paris"}}],
        "finish_reason": "tool_call",
    }]


def _assert_cut_short(otel: Any, output_text: str) -> None:
    """The one span of a stream the caller stopped reading: ended, not an error, finish reason "error"."""
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert "gen_ai.usage.output_tokens" not in span.attributes  # counts come with the done chunk only
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text(output_text)], "finish_reason": "error"}]
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_closed_after_some_chunks(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  ollama_client: Any) -> None:
    replay.load_cassette(STREAM)
    instrument(OllamaInstrumentor)

    async def scenario(client: Any) -> Any:
        stream = await aw(_open(client))
        words = [(await next_item(stream)).message.content for _ in range(2)]
        assert otel.spans() == []  # still streaming
        await (stream.aclose() if is_async else aw(stream.close()))
        return words, otel.spans()

    words, spans_after_close = run(ollama_client, is_async, scenario)

    assert words == ["Why", " did"]
    assert len(spans_after_close) == 1  # ended by close(), not later
    _assert_cut_short(otel, "Why did")


@ASYNC
def test_break_out_of_a_loop(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(STREAM)
    instrument(OllamaInstrumentor)

    async def scenario(client: Any) -> None:
        stream = await aw(_open(client))
        if is_async:
            async for chunk in stream:
                if chunk.message.content == " the":
                    break
            await stream.aclose()
        else:
            for chunk in stream:
                if chunk.message.content == " the":
                    break
            del stream, chunk
            gc.collect()  # CPython would do it on the `del` already; make it explicit

    run(ollama_client, is_async, scenario)

    _assert_cut_short(otel, "Why did the")


def test_abandoned_stream_is_ended_when_collected(replay: Any, otel: Any, instrument: Any,
                                                  ollama_client: Any) -> None:
    replay.load_cassette(STREAM)
    instrument(OllamaInstrumentor)
    stream = _open(ollama_client())
    next(stream)

    del stream
    gc.collect()

    _assert_cut_short(otel, "Why")


@ASYNC
def test_stream_that_ends_without_a_done_chunk(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                              ollama_client: Any) -> None:
    replay.add_ndjson("/api/chat", [chat_chunk("llama3", "Hello"), chat_chunk("llama3", " there")])
    instrument(OllamaInstrumentor)

    chunks = run(ollama_client, is_async, call("chat", model="llama3", messages=JOKE, stream=True))

    # The SDK simply stops; the span says the answer had no proper end.
    assert [c.message.content for c in chunks] == ["Hello", " there"]
    _assert_cut_short(otel, "Hello there")


@ASYNC
def test_time_to_first_chunk(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(STREAM, first_chunk_delay=0.2)
    instrument(OllamaInstrumentor)

    run(ollama_client, is_async, call("chat", model="llama3", messages=JOKE, stream=True))

    span = chat_span(otel)
    ttfc = span.attributes["gen_ai.response.time_to_first_chunk"]
    assert 0.2 <= ttfc < (span.end_time - span.start_time) / 1e9
    assert one_point(otel, TTFC).sum == pytest.approx(ttfc)
