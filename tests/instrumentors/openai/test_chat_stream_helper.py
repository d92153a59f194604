"""The chat.completions.stream() helper (ChatCompletionStreamManager): events, final completion, early exit."""

from __future__ import annotations

import gc
from typing import Any

import pydantic
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import (
    DURATION,
    IDS,
    IS_ASYNC,
    OUTPUT,
    SAY_TEST,
    TTFC,
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
WITH_USAGE = cassette("otel-contrib__test_chat_completion_streaming")
STREAM_TEXT = '"This is a test."'


@ASYNC
def test_stream_helper_read_to_the_end(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                       openai_client: Any) -> None:
    replay.load_cassette(WITH_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        async with opened(client.chat.completions.stream(model="gpt-4", messages=SAY_TEST)) as stream:
            events = await drain(stream)
            final = await aw(stream.get_final_completion())
            return events, final, otel.spans()

    events, final, spans_inside = run(openai_client, is_async, scenario)

    assert [e.type for e in events if e.type != "chunk"] == ["content.delta"] * 6 + ["content.done"]
    assert final.choices[0].message.content == STREAM_TEXT and final.usage.total_tokens == 17
    assert replay.last_request.headers["x-stainless-helper-method"] == "chat.completions.stream"
    assert "stream_options" not in replay.last_request.json
    assert len(spans_inside) == 1  # ended when the stream ran out, before the `with` closed
    span = chat_span(otel)
    assert span.name == "chat gpt-4" and span.status.status_code == StatusCode.UNSET
    attrs = span.attributes
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["gen_ai.response.id"] == final.id
    assert attrs["gen_ai.response.finish_reasons"] == ("stop",)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (12, 5)
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [{"type": "text", "content": STREAM_TEXT}],
                                      "finish_reason": "stop"}]
    assert one_point(otel, TTFC).count == 1 and one_point(otel, DURATION).count == 1


class Reason(pydantic.BaseModel):
    reason: str


@ASYNC
def test_stream_helper_with_response_format(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                            openai_client: Any) -> None:
    chunk = {"id": "chatcmpl-json", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    replay.add_sse("/v1/chat/completions", [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": '{"reason":'}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"content": '"math"}'}, "finish_reason": "stop"}]},
    ])
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.chat.completions.stream(model="gpt-4o-mini", messages=SAY_TEST, response_format=Reason)
        async with opened(manager) as stream:
            await drain(stream)
            return await aw(stream.get_final_completion())

    final = run(openai_client, is_async, scenario)

    assert final.choices[0].message.parsed == Reason(reason="math")
    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert content(span, OUTPUT)[0]["parts"] == [{"type": "text", "content": '{"reason":"math"}'}]


@ASYNC
def test_stream_helper_left_early(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.load_cassette(WITH_USAGE)
    instrument()

    async def scenario(client: Any) -> Any:
        async with opened(client.chat.completions.stream(model="gpt-4", messages=SAY_TEST)) as stream:
            first = await next_item(stream)
            assert otel.spans() == []
        return stream, first, otel.spans()

    # `stream` stays referenced: the span must end when the `with` is left, not when it is collected.
    stream, first, spans_after_with = run(openai_client, is_async, scenario)

    assert first.type == "chunk"
    assert len(spans_after_with) == 1
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert "gen_ai.usage.input_tokens" not in span.attributes  # the usage chunk never arrived
    assert OUTPUT not in span.attributes  # no output had arrived yet (the first chunk has empty content)
    del stream
    gc.collect()
    assert len(otel.spans()) == 1  # collection later does not end it a second time
