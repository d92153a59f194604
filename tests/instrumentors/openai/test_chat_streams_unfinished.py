"""chat.completions.create(stream=True) streams that stop early: close(), `with`, errors, abandonment."""

from __future__ import annotations

import gc
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import (
    DURATION,
    IDS,
    IS_ASYNC,
    OUTPUT,
    SAY_TEST,
    aw,
    cassette,
    chat_span,
    content,
    drain,
    next_item,
    one_point,
    opened,
    run,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
NO_USAGE = cassette("otel-contrib__test_chat_completion_streaming_not_complete")  # 7 chunks + [DONE]


def _open_stream(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4", messages=SAY_TEST, stream=True)


def _assert_cut_short(otel: Any, text: str) -> Any:
    """The one span of a stream the caller stopped reading: ended, not an error, finish reason "error"."""
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-ASYMZbRqo8Bkz53FVzaTj7W7feOn4"
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0
    # The partial answer is kept, marked as cut short.
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [{"type": "text", "content": text}],
                                      "finish_reason": "error"}]
    assert one_point(otel, DURATION).count == 1
    return span


@ASYNC
def test_close_after_some_chunks(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                 openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(_open_stream(client))
        first, second = await next_item(stream), await next_item(stream)
        assert otel.spans() == []  # still streaming
        await aw(stream.close())
        return stream, [first, second], otel.spans()

    _stream, chunks, spans_after_close = run(openai_client, is_async, scenario)

    assert [c.choices[0].delta.content for c in chunks] == ["", "This"]
    assert len(spans_after_close) == 1  # ended by close(), while the stream object is still alive
    _assert_cut_short(otel, "This")


@ASYNC
def test_leaving_with_block_early(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        async with opened(await aw(_open_stream(client))) as stream:
            await next_item(stream)
            await next_item(stream)
            await next_item(stream)
        return stream, otel.spans()

    _stream, spans_after_with = run(openai_client, is_async, scenario)

    assert len(spans_after_with) == 1
    _assert_cut_short(otel, "This is")


@ASYNC
def test_exception_in_caller_code_ends_span(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                            openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        async with opened(await aw(_open_stream(client))) as stream:
            await next_item(stream)
            await next_item(stream)
            raise KeyError("the caller's own bug")

    with pytest.raises(KeyError, match="the caller's own bug"):
        run(openai_client, is_async, scenario)

    # The caller's exception is not the model call's: the span is cut short, not failed.
    _assert_cut_short(otel, "This")


@ASYNC
def test_connection_dropped_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                       openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE, drop_after=3)
    instrument()
    received: list[Any] = []

    async def scenario(client: Any) -> Any:
        stream = await aw(_open_stream(client))
        while True:
            try:
                received.append(await next_item(stream))
            except (StopIteration, StopAsyncIteration):
                return

    with pytest.raises(openai.APIConnectionError) as caught:
        run(openai_client, is_async, scenario)

    assert type(caught.value) is openai.APIConnectionError  # the SDK's own error, not a wrapper
    assert "peer closed connection" in str(caught.value.__cause__)
    assert [c.choices[0].delta.content for c in received] == ["", "This", " is"]
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.APIConnectionError"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert [e.name for e in span.events] == ["exception"]
    assert span.events[0].attributes["exception.type"] == "openai.APIConnectionError"
    assert content(span, OUTPUT)[0]["parts"] == [{"type": "text", "content": "This is"}]
    assert one_point(otel, DURATION).attributes["error.type"] == "openai.APIConnectionError"


@ASYNC
def test_error_event_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                openai_client: Any) -> None:
    first = {"id": "chatcmpl-err", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4-0613",
             "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hel"}, "finish_reason": None}]}
    replay.add_sse("/v1/chat/completions", [first, {"error": {"message": "The server had an error",
                                                              "type": "server_error"}}])
    instrument()

    with pytest.raises(openai.APIError, match="The server had an error") as caught:
        run(openai_client, is_async, _drain_stream)

    assert type(caught.value) is openai.APIError
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR and span.attributes["error.type"] == "openai.APIError"
    assert span.attributes["gen_ai.response.id"] == "chatcmpl-err"
    assert content(span, OUTPUT)[0]["parts"] == [{"type": "text", "content": "Hel"}]


async def _drain_stream(client: Any) -> list[Any]:
    return await drain(await aw(_open_stream(client)))


@ASYNC
def test_abandoned_stream_ends_at_garbage_collection(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                     openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(_open_stream(client))
        await next_item(stream)
        await next_item(stream)
        spans_while_referenced = otel.spans()
        del stream
        gc.collect()
        return spans_while_referenced, otel.spans()

    spans_while_referenced, spans_after_gc = run(openai_client, is_async, scenario)

    assert spans_while_referenced == []
    assert len(spans_after_gc) == 1
    _assert_cut_short(otel, "This")


@ASYNC
def test_stream_read_twice_is_one_span(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                       openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(_open_stream(client))
        chunks = await drain(stream)
        again = await drain(stream)  # exhausted: nothing more, and no second ending
        await aw(stream.close())
        return chunks, again

    chunks, again = run(openai_client, is_async, scenario)

    assert (len(chunks), again) == (7, [])
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_stream_refused_before_any_chunk(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                         openai_client: Any) -> None:
    replay.add("POST", "/v1/chat/completions", status=401, body={"error": {
        "message": "Incorrect API key provided", "type": "invalid_request_error", "code": "invalid_api_key"}})
    instrument()

    with pytest.raises(openai.AuthenticationError):
        run(openai_client, is_async, _drain_stream)

    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.AuthenticationError"
    assert span.attributes["gen_ai.request.stream"] is True
    assert "gen_ai.response.time_to_first_chunk" not in span.attributes
    assert OUTPUT not in span.attributes


@ASYNC
def test_streaming_response_left_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                            openai_client: Any) -> None:
    replay.load_cassette(NO_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.chat.completions.with_streaming_response.create(model="gpt-4", messages=SAY_TEST, stream=True)
        async with opened(manager) as response:
            stream = await aw(response.parse())
            await next_item(stream)
            await next_item(stream)
        return stream, otel.spans()

    _stream, spans_after_with = run(openai_client, is_async, scenario)

    assert len(spans_after_with) == 1  # leaving the `with` closed the response, and so the stream
    _assert_cut_short(otel, "This")
