"""messages.stream(): the MessageStreamManager helper, which sends its request when entered.

However the app reads the MessageStream (events, text_stream, get_final_message, until_done) or
leaves the `with` block, the span ends exactly once, with what arrived.
"""

from __future__ import annotations

import gc
from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.lib.streaming import AsyncMessageStreamManager, MessageStreamManager
from opentelemetry.trace import StatusCode

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    HELLO,
    INPUT,
    MODEL,
    OUTPUT,
    aw,
    cassette,
    chat_span,
    content,
    drain,
    instrument_anthropic,
    next_item,
    opened,
    parts,
    run,
    span_attributes,
    sse_events,
    text_deltas,
    text_part,
    tool_call,
    user,
)


async def _read(stream: Any, how: str) -> str:
    """Read a MessageStream the way an app would; returns the text it got."""
    if how == "events":
        events = await drain(stream)
        return "".join(e.delta.text for e in events if e.type == "content_block_delta")
    if how == "text_stream":
        return "".join(await drain(stream.text_stream))
    if how == "final_message":
        return (await aw(stream.get_final_message())).content[0].text
    if how == "final_text":
        return await aw(stream.get_final_text())
    await aw(stream.until_done())
    return stream.current_message_snapshot.content[0].text


@ASYNC
@pytest.mark.parametrize("how", ["events", "text_stream", "final_message", "final_text", "until_done"])
def test_read_to_the_end(how: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                         anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_stream"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        manager = client.messages.stream(model=MODEL, max_tokens=100, messages=HELLO)
        assert isinstance(manager, (MessageStreamManager, AsyncMessageStreamManager))
        async with opened(manager) as stream:
            text = await _read(stream, how)
            assert len(otel.spans()) == 1  # ended by the end of the stream, before the `with` exits
        return text, stream.request_id

    text, request_id = run(anthropic_client, is_async, scenario)

    assert text == "Hello!"
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs.pop("gen_ai.response.time_to_first_chunk") > 0
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 100,
        "gen_ai.request.stream": True,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.id": "msg_01FpWuSsvRgJp3eYbdHBinNp",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 13,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_write.input_tokens": 0,
        "anthropic.response.service_tier": "standard",
        INPUT: attrs[INPUT],
        OUTPUT: attrs[OUTPUT],
    }
    assert content(span, INPUT) == [user("Say hello in one word.")]
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part("Hello!")], "finish_reason": "stop"}]
    assert request_id == "req_011CaSta4VpT5jmAHFwkrWEx"  # MessageStream.response works through the proxy
    assert replay.last_request.headers["x-stainless-stream-helper"] == "messages"


@ASYNC
@pytest.mark.parametrize("how", ["leave", "close", "app_error"])
def test_leaving_early_ends_once_with_what_arrived(how: str, is_async: bool, replay: Any, otel: Any,
                                                   instrument: Any, anthropic_client: Any) -> None:
    replay.add_sse("/v1/messages", sse_events(*text_deltas("Once", " upon", " a", " time")), event_names="type")
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        try:
            async with opened(client.messages.stream(model=MODEL, max_tokens=64, messages=HELLO)) as stream:
                first = [await next_item(stream) for _ in range(4)]
                if how == "close":
                    await aw(stream.close())
                    assert len(otel.spans()) == 1
                if how == "app_error":
                    raise KeyError("the app's own bug")
        except KeyError:
            pass
        assert len(otel.spans()) == 1  # ended on leaving the block
        return first

    first = run(anthropic_client, is_async, scenario)

    # message_start, content_block_start, then the first delta twice: raw, and as the helper's "text" event.
    assert [e.type for e in first] == ["message_start", "content_block_start", "content_block_delta", "text"]
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part("Once")], "finish_reason": "error"}]


@ASYNC
def test_tool_use(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_tools_streaming_legacy"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        async with opened(client.messages.stream(model=MODEL, max_tokens=1024, messages=HELLO)) as stream:
            return await aw(stream.get_final_message())

    message = run(anthropic_client, is_async, scenario)

    text, *calls = message.content
    span = chat_span(otel)
    # What the helper accumulated for the app and what the span recorded agree.
    assert parts(span, OUTPUT) == [text_part(text.text), *(tool_call(c.id, c.name, c.input) for c in calls)]
    assert calls[0].input == {"location": "San Francisco, CA", "unit": "celsius"}
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert span.attributes["gen_ai.usage.output_tokens"] == message.usage.output_tokens == 153


@ASYNC
@pytest.mark.parametrize("pieces", [[""], ["", '{"city": "Pa', 'ris"', "}"]], ids=["no_arguments", "split"])
def test_tool_use_input_pieces(pieces: list[str], is_async: bool, replay: Any, otel: Any, instrument: Any,
                               anthropic_client: Any) -> None:
    # A tool called without arguments streams one empty input_json_delta; others may open with one.
    deltas = [{"type": "input_json_delta", "partial_json": piece} for piece in pieces]
    start = {"type": "tool_use", "id": "toolu_01", "name": "get_time", "input": {}}
    replay.add_sse("/v1/messages", sse_events(*deltas, stop_reason="tool_use", start_block=start),
                   event_names="type")
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        async with opened(client.messages.stream(model=MODEL, max_tokens=1024, messages=HELLO)) as stream:
            return await aw(stream.get_final_message())

    message = run(anthropic_client, is_async, scenario)

    (call,) = message.content
    assert call.input == ({} if pieces == [""] else {"city": "Paris"})
    assert parts(chat_span(otel), OUTPUT) == [tool_call("toolu_01", "get_time", call.input)]


class Greeting(pydantic.BaseModel):
    greeting: str


def test_output_format(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.add_sse("/v1/messages", sse_events(*text_deltas('{"greeting": ', '"Hello!"}')), event_names="type")
    instrument_anthropic(instrument)

    with anthropic_client().messages.stream(model=MODEL, max_tokens=64, messages=HELLO,
                                            output_format=Greeting) as stream:
        message = stream.get_final_message()

    assert message.parsed_output == Greeting(greeting="Hello!")
    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert parts(span, OUTPUT) == [text_part('{"greeting": "Hello!"}')]


@ASYNC
def test_error_on_enter(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_stream_api_error"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        async with opened(client.messages.stream(model="invalid-model-name", max_tokens=100, messages=HELLO)):
            pytest.fail("entered a stream whose request failed")

    with pytest.raises(anthropic.NotFoundError) as caught:
        run(anthropic_client, is_async, scenario)

    assert caught.value.status_code == 404
    span = chat_span(otel)
    assert span.name == "chat invalid-model-name" and span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "anthropic.NotFoundError"
    assert span.events[0].attributes["exception.message"] == str(caught.value)


def test_manager_never_entered(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    instrument_anthropic(instrument)

    manager = anthropic_client().messages.stream(model=MODEL, max_tokens=64, messages=HELLO)
    del manager
    gc.collect()

    assert replay.requests == []  # nothing was sent...
    span = chat_span(otel)  # ...and the span did not stay open
    assert "gen_ai.response.id" not in span.attributes and "error.type" not in span.attributes
