"""messages.create(stream=True): the raw event stream through the generic stream proxy."""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import httpx2
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    HELLO,
    MODEL,
    OUTPUT,
    TTFC,
    aw,
    cassette,
    chat_span,
    content,
    create,
    drain,
    instrument_anthropic,
    next_item,
    one_point,
    opened,
    parts,
    run,
    span_attributes,
    sse_events,
    text_deltas,
    text_part,
    tool_call,
)


@ASYNC
def test_text_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_streaming"), first_chunk_delay=0.05)
    instrument_anthropic(instrument)

    events = run(anthropic_client, is_async, create(model=MODEL, max_tokens=100, messages=HELLO, stream=True))

    assert [e.type for e in events] == ["message_start", "content_block_start", "content_block_delta",
                                        "content_block_stop", "message_delta", "message_stop"]
    span = chat_span(otel)
    attrs = span_attributes(span)
    ttfc = attrs.pop("gen_ai.response.time_to_first_chunk")
    assert 0.05 <= ttfc < 5
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stream": True,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.id": "msg_01VY8H3oPFs4WWVnJXFDxNhU",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ["stop"],
        # message_start's counts, then message_delta's cumulative ones.
        "gen_ai.usage.input_tokens": 13,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_write.input_tokens": 0,
        "anthropic.response.service_tier": "standard",
        "gen_ai.input.messages": attrs["gen_ai.input.messages"],
        "gen_ai.output.messages": attrs["gen_ai.output.messages"],
    }
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part("Hello.")], "finish_reason": "stop"}]
    assert one_point(otel, TTFC).sum == pytest.approx(ttfc)


@ASYNC
@pytest.mark.parametrize(("name", "calls"), [
    ("openllmetry__test_anthropic_tools_streaming_legacy", [
        ("toolu_014x5X91kx3fvdhpLvwXZWE2", "get_weather", {"location": "San Francisco, CA", "unit": "celsius"}),
        ("toolu_0121kXsENLvoDZ72LCuAnCCz", "get_time", {"timezone": "America/Los_Angeles"})]),
    ("openinference__test_anthropic_instrumentation_multiple_tool_calling_streaming", [
        ("toolu_01Mo5Ee5Yb7vrzaxSNS5DVuP", "get_weather", {"location": "New York, NY"}),
        ("toolu_01GDAGw1KUdi1DCPPprMKGHR", "get_time", {"timezone": "America/New_York"})]),
], ids=["two-tools", "parallel-tools"])
def test_tool_use_stream(name: str, calls: list[Any], is_async: bool, replay: Any, otel: Any, instrument: Any,
                         anthropic_client: Any) -> None:
    replay.load_cassette(cassette(name))
    instrument_anthropic(instrument)

    events = run(anthropic_client, is_async, create(model=MODEL, max_tokens=1024, messages=HELLO, stream=True))

    text = "".join(e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta")
    span = chat_span(otel)
    # input_json_delta pieces are joined and parsed once, at the end.
    assert parts(span, OUTPUT) == [text_part(text), *(tool_call(*call) for call in calls)]
    assert content(span, OUTPUT)[0]["finish_reason"] == "tool_call"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)


def test_thinking_stream(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_thinking_streaming_legacy"))
    instrument_anthropic(instrument)

    stream = anthropic_client().messages.create(model="claude-3-7-sonnet-20250219", max_tokens=2048, messages=HELLO,
                                                thinking={"type": "enabled", "budget_tokens": 1024}, stream=True)
    events = list(stream)

    thinking = "".join(e.delta.thinking for e in events
                       if e.type == "content_block_delta" and e.delta.type == "thinking_delta")
    assert thinking.endswith("appears 3 times in the word \"strawberry\".")
    span = chat_span(otel)
    assert parts(span, OUTPUT) == [{"type": "reasoning", "content": thinking},
                                   text_part("The letter 'r' appears 3 times in the word \"strawberry\".")]
    assert span.attributes["gen_ai.usage.output_tokens"] == 216
    assert span.attributes["anthropic.thinking.type"] == "enabled"


@ASYNC
@pytest.mark.parametrize("how", ["close", "with", "break"])
def test_stopped_early_ends_once_with_what_arrived(how: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                  anthropic_client: Any) -> None:
    replay.add_sse("/v1/messages", sse_events(*text_deltas("Why", " did", " the", " chicken")), event_names="type")
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        stream = await aw(client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, stream=True))
        assert isinstance(stream, (anthropic.Stream, anthropic.AsyncStream))
        seen = []
        if how == "with":
            async with opened(stream) as s:
                seen = [await next_item(s) for _ in range(4)]
        else:
            for _ in range(4):
                seen.append(await next_item(stream))
            if how == "close":
                await aw(stream.close())
            else:  # the app stops reading and drops the stream
                del stream
                gc.collect()
        assert len(otel.spans()) == 1  # ended right there, not at teardown
        return seen

    seen = run(anthropic_client, is_async, scenario)

    assert [e.type for e in seen][-1] == "content_block_delta"
    span = chat_span(otel)
    # Two text deltas arrived, no message_delta: the reason is "error", the partial text is kept.
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part("Why did")], "finish_reason": "error"}]
    assert span.attributes["gen_ai.usage.input_tokens"] == 12 and span.status.status_code == StatusCode.UNSET


@ASYNC
def test_connection_lost_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                    anthropic_client: Any) -> None:
    replay.add_sse("/v1/messages", sse_events(*text_deltas("Hel", "lo")), event_names="type", drop_after=4)
    instrument_anthropic(instrument)
    received: list[Any] = []

    async def scenario(client: Any) -> Any:
        stream = await aw(client.messages.create(model=MODEL, max_tokens=64, messages=HELLO, stream=True))
        while True:
            received.append(await next_item(stream))

    with pytest.raises(Exception) as caught:
        run(anthropic_client, is_async, scenario)

    assert [e.type for e in received] == ["message_start", "content_block_start", "content_block_delta",
                                          "content_block_delta"]
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    # The SDK lets the transport's error through as it is, mid-stream.
    assert type(caught.value) is httpx2.RemoteProtocolError
    assert span.attributes["error.type"] == "httpx2.RemoteProtocolError"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert parts(span, OUTPUT) == [text_part("Hello")]


@ASYNC
def test_with_raw_response_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_streaming"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        raw = await aw(client.messages.with_raw_response.create(model=MODEL, max_tokens=100, messages=HELLO,
                                                                stream=True))
        assert otel.spans() == []  # the body is the caller's to read
        stream = await aw(raw.parse())
        assert isinstance(stream, (anthropic.Stream, anthropic.AsyncStream))
        return await drain(stream)

    events = run(anthropic_client, is_async, scenario)

    assert len(events) == 6
    span = chat_span(otel)
    assert parts(span, OUTPUT) == [text_part("Hello.")]
    assert span.attributes["gen_ai.request.stream"] is True and "gen_ai.response.time_to_first_chunk" in span.attributes


def test_stream_answer_after_tool_result(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("ddtrace__anthropic_completion_tools_call_with_tool_result_stream"))
    instrument_anthropic(instrument)
    history = [
        {"role": "user", "content": "What is the weather in San Francisco, CA?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_01DYJVe4ebKaJ6rDfpRmozwk",
                                           "name": "get_weather", "input": {"location": "San Francisco, CA"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_01DYJVe4ebKaJ6rDfpRmozwk",
                                      "content": [{"type": "text", "text": "The weather is 73f"}]}]},
    ]

    with anthropic_client().messages.create(model="claude-3-opus-20240229", max_tokens=500, messages=history,
                                            stream=True) as stream:
        text = "".join(e.delta.text for e in stream if e.type == "content_block_delta")

    span = chat_span(otel)
    assert content(span, "gen_ai.input.messages")[2] == {"role": "user", "parts": [
        {"type": "tool_call_response", "id": "toolu_01DYJVe4ebKaJ6rDfpRmozwk", "response": "The weather is 73f"}]}
    assert parts(span, OUTPUT) == [text_part(text)] and "73°F" in text
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (762, 33)


def test_deltas_of_blocks_in_turn_and_odd_pieces_land_in_their_own_block(replay: Any, otel: Any, instrument: Any,
                                                                        anthropic_client: Any) -> None:
    # Deltas usually follow the block last seen; here they alternate between two text blocks, a
    # block starts anew at an index already used, and some pieces are not text at all.
    def delta(index: int, text: Any) -> dict[str, Any]:
        return {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}

    events = sse_events(*text_deltas("A1", "A2"))
    block_stop = events.index({"type": "content_block_stop", "index": 0})
    events[block_stop:block_stop] = [
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
        delta(1, "B1"), delta(0, "A3"), delta(1, "B2"), delta(1, 42), delta(0, None), delta(1, "B3"),
        {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": "C0"}},
        delta(1, "C1"), delta(0, "A4"), delta(1, "C2"),
    ]
    replay.add_sse("/v1/messages", events, event_names="type")
    instrument_anthropic(instrument)

    received = list(anthropic_client().messages.create(model=MODEL, max_tokens=100, messages=HELLO, stream=True))

    assert len(received) == len(events)
    assert parts(chat_span(otel), OUTPUT) == [text_part("A1A2A3A4"), text_part("C0C1C2")]
