"""chat.completions.create(stream=True) read to the end: usage, time to first chunk, accumulated output."""

from __future__ import annotations

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
    TOKENS,
    TOOLS,
    TTFC,
    aw,
    cassette,
    chat_span,
    content,
    drain,
    one_point,
    opened,
    parts,
    points,
    run,
    span_attributes,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
WEATHER = "What's the weather in Seattle and San Francisco today?"


def stream_and_drain(**kwargs: Any) -> Any:
    """Scenario: create(stream=True, ...), read to the end; returns (stream object, chunks)."""

    async def scenario(client: Any) -> Any:
        stream = await aw(client.chat.completions.create(stream=True, **kwargs))
        return stream, await drain(stream)

    return scenario


@ASYNC
def test_stream_with_usage(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    name = "otel-contrib__test_async_chat_completion_streaming" if is_async else \
        "otel-contrib__test_chat_completion_streaming"
    replay.load_cassette(cassette(name), first_chunk_delay=0.05)
    instrument()

    stream, chunks = run(openai_client, is_async, stream_and_drain(
        model="gpt-4", messages=SAY_TEST, stream_options={"include_usage": True}))

    assert isinstance(stream, openai.AsyncStream if is_async else openai.Stream)
    assert len(chunks) == 8 and chunks[-1].choices == [] and chunks[-1].usage.total_tokens == 17
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    # What the server received is what the caller asked for: stream_options exactly as given.
    assert replay.last_request.json["stream"] is True
    assert replay.last_request.json["stream_options"] == {"include_usage": True}
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET
    attrs = span_attributes(span)
    ttfc = attrs.pop("gen_ai.response.time_to_first_chunk")
    assert attrs == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4",
        "gen_ai.request.stream": True,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "chat_completions",
        "gen_ai.response.id": chunks[0].id,
        "gen_ai.response.model": "gpt-4-0613",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "gen_ai.input.messages": attrs["gen_ai.input.messages"],
        "gen_ai.output.messages": attrs["gen_ai.output.messages"],
    }
    span_seconds = (span.end_time - span.start_time) / 1e9
    assert 0.05 <= ttfc < span_seconds  # the server held the first chunk back for 50 ms
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [{"type": "text", "content": text}],
                                      "finish_reason": "stop"}]
    first_chunk = one_point(otel, TTFC)
    assert (first_chunk.count, first_chunk.sum) == (1, pytest.approx(ttfc))
    assert first_chunk.attributes["gen_ai.response.model"] == "gpt-4-0613"
    assert otel.metric(TTFC).unit == "s"
    assert one_point(otel, DURATION).count == 1
    tokens = {p.attributes["gen_ai.token.type"]: (p.count, p.sum) for p in points(otel, TOKENS)}
    assert tokens == {"input": (1, 12), "output": (1, 5)}


@ASYNC
@pytest.mark.parametrize("name, messages, content_text", [
    ("otel-contrib__test_chat_completion_streaming_not_complete", SAY_TEST, "This is a test."),
    ("edot-python__test_chat_stream_with_tools_and_capture_message_content",
     [{"role": "user", "content": "i think it is order_12345"}], None),
], ids=["text", "tool"])
def test_stream_without_usage(is_async: bool, name: str, messages: Any, content_text: str | None, replay: Any,
                              otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette(name))
    instrument()

    _, chunks = run(openai_client, is_async, stream_and_drain(model="gpt-4o-mini", messages=messages))

    assert all(getattr(c, "usage", None) is None for c in chunks)
    # Nothing was added to the request: no usage was asked for, none is reported.
    assert "stream_options" not in replay.last_request.json
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET
    assert not [k for k in span.attributes if k.startswith("gen_ai.usage.")]
    assert points(otel, TOKENS) == []
    assert one_point(otel, DURATION).count == 1 and one_point(otel, TTFC).count == 1
    assert span.attributes["gen_ai.response.id"] == chunks[0].id
    if content_text is not None:
        assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
        assert parts(span, OUTPUT) == [{"type": "text", "content": content_text}]
    else:
        assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
        assert parts(span, OUTPUT) == [{"type": "tool_call", "id": "call_BiJxky21FTzGOu7GDBGK7SHq",
                                        "name": "get_delivery_date", "arguments": {"order_id": "order_12345"}}]


def _tool(name: str) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "parameters": {
        "type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}}


@ASYNC
@pytest.mark.parametrize("name, tool, calls, usage", [
    ("otel-contrib__test_chat_completion_multiple_tools_streaming_with_content", "get_current_weather",
     [("call_fHCjJqt9Pysde6vcJcvbXGBx", "Seattle, WA"), ("call_3J9foSw3CUb48lrqIXoTky6U", "San Francisco, CA")],
     (75, 51)),
    ("edot-python__test_chat_stream_with_parallel_tools_and_capture_message_content", "get_weather",
     [("call_vbjItaL3xe3uYPY1PIVhmBcs", "New York City"), ("call_q2Px0dkOQv47VpcCF50xZsap", "London")], None),
], ids=["with-usage", "without-usage"])
def test_streamed_parallel_tool_calls(is_async: bool, name: str, tool: str, calls: Any, usage: Any, replay: Any,
                                      otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette(name))
    instrument()

    run(openai_client, is_async, stream_and_drain(
        model="gpt-4o-mini", messages=[{"role": "user", "content": WEATHER}], tools=[_tool(tool)],
        **({"stream_options": {"include_usage": True}} if usage else {})))

    span = chat_span(otel)
    # Argument fragments from many chunks come back as one parsed object per call.
    assert content(span, OUTPUT) == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": call_id, "name": tool, "arguments": {"location": location}}
        for call_id, location in calls]}]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert [d["name"] for d in content(span, TOOLS)] == [tool]
    got_usage = tuple(span.attributes.get(f"gen_ai.usage.{k}_tokens") for k in ("input", "output"))
    assert got_usage == (usage or (None, None))


@ASYNC
def test_streamed_multiple_choices(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_multiple_choices_streaming"))
    instrument()
    messages = [{"role": "system", "content": "You're a helpful assistant."}, {"role": "user", "content": WEATHER}]

    _, chunks = run(openai_client, is_async, stream_and_drain(
        model="gpt-4o-mini", messages=messages, n=2, stream_options={"include_usage": True}))

    texts = ["".join(c.choices[0].delta.content or "" for c in chunks if c.choices and c.choices[0].index == i)
             for i in (0, 1)]
    assert texts[0].startswith("I'm unable to provide real-time weather updates.") and texts[0] != texts[1]
    span = chat_span(otel)
    assert span.attributes["gen_ai.request.choice.count"] == 2
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert span.attributes["openai.response.system_fingerprint"] == "fp_0ba0d124f1"
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (26, 104)
    assert content(span, OUTPUT) == [
        {"role": "assistant", "parts": [{"type": "text", "content": text}], "finish_reason": "stop"}
        for text in texts]
    assert content(span, "gen_ai.input.messages")[0] == {
        "role": "system", "parts": [{"type": "text", "content": "You're a helpful assistant."}]}


@ASYNC
def test_stream_keeps_the_sdk_surface(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                      openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_streaming_not_complete"))
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(client.chat.completions.create(model="gpt-4", messages=SAY_TEST, stream=True))
        async with opened(stream) as entered:
            assert entered is stream
            headers = stream.response.headers
            return stream, headers, await drain(entered)

    stream, headers, chunks = run(openai_client, is_async, scenario)

    assert isinstance(stream, openai.AsyncStream if is_async else openai.Stream)
    assert headers["content-type"].startswith("text/event-stream") and headers["openai-organization"] == "test-org"
    assert all(type(c) is openai.types.chat.ChatCompletionChunk for c in chunks) and len(chunks) == 7
    assert chat_span(otel).attributes["gen_ai.response.finish_reasons"] == ("stop",)


@ASYNC
def test_with_streaming_response_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                        openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_streaming"))
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.chat.completions.with_streaming_response.create(
            model="gpt-4", messages=SAY_TEST, stream=True, stream_options={"include_usage": True})
        async with opened(manager) as response:
            stream = await aw(response.parse())
            chunks = await drain(stream)
            return stream, chunks, otel.spans()

    stream, chunks, spans_inside = run(openai_client, is_async, scenario)

    assert isinstance(stream, openai.AsyncStream if is_async else openai.Stream) and len(chunks) == 8
    assert len(spans_inside) == 1  # ended when the stream was exhausted
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.attributes["gen_ai.response.time_to_first_chunk"] > 0


@ASYNC
def test_streamed_refusal(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    chunk = {"id": "chatcmpl-refused", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-08-06"}
    replay.add_sse("/v1/chat/completions", [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None, "refusal": ""}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"refusal": "I'm very sorry, "}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"refusal": "but I can't assist with that request."}}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ])
    instrument()

    _, chunks = run(openai_client, is_async, stream_and_drain(model="gpt-4o", messages=SAY_TEST))

    refusal = "".join(c.choices[0].delta.refusal or "" for c in chunks)
    assert refusal == "I'm very sorry, but I can't assist with that request."
    # Recorded as the non-streamed call records message.refusal: a text part.
    span = chat_span(otel)
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [{"type": "text", "content": refusal}],
                                      "finish_reason": "stop"}]


@ASYNC
def test_leading_prompt_filter_chunk(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                     openai_client: Any) -> None:
    # Azure OpenAI opens a stream with a content-filter chunk that has an empty id and model.
    chunk = {"id": "chatcmpl-az", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-2024-11-20"}
    replay.add_sse("/v1/chat/completions", [
        {"id": "", "object": "", "created": 0, "model": "", "choices": [],
         "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": "Hi"}}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]},
    ])
    instrument()

    run(openai_client, is_async, stream_and_drain(model="gpt-4o", messages=SAY_TEST))

    attributes = chat_span(otel).attributes
    assert attributes["gen_ai.response.id"] == "chatcmpl-az"
    assert attributes["gen_ai.response.model"] == "gpt-4o-2024-11-20"
    assert one_point(otel, DURATION).attributes["gen_ai.response.model"] == "gpt-4o-2024-11-20"


@ASYNC
def test_with_raw_response_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_streaming_not_complete"))
    instrument()

    async def scenario(client: Any) -> Any:
        raw = await aw(client.chat.completions.with_raw_response.create(model="gpt-4", messages=SAY_TEST,
                                                                        stream=True))
        assert raw.headers["content-type"].startswith("text/event-stream")
        stream = raw.parse()
        assert raw.parse() is stream  # the SDK caches parse(); so does the instrumentation's proxy
        return stream, await drain(stream), otel.spans()

    stream, chunks, spans_after_drain = run(openai_client, is_async, scenario)

    assert isinstance(stream, openai.AsyncStream if is_async else openai.Stream) and len(chunks) == 7
    assert len(spans_after_drain) == 1
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert parts(span, OUTPUT) == [{"type": "text", "content": "This is a test."}]


def test_stream_details_event(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_streaming"))
    instrument(capture_content="EVENT_ONLY")

    _, chunks = run(openai_client, False, stream_and_drain(
        model="gpt-4", messages=SAY_TEST, stream_options={"include_usage": True}))

    span = chat_span(otel)
    assert OUTPUT not in span.attributes
    (log,) = otel.logs()  # one event, when the stream ended
    record = log.log_record
    assert record.event_name == "gen_ai.client.inference.operation.details"
    assert record.span_id == span.context.span_id
    assert record.attributes["gen_ai.request.stream"] is True
    assert record.attributes["gen_ai.response.time_to_first_chunk"] == span.attributes[
        "gen_ai.response.time_to_first_chunk"]
    assert record.attributes["gen_ai.usage.output_tokens"] == 5
    (output,) = record.attributes[OUTPUT]
    assert output["parts"][0]["content"] == "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


@ASYNC
def test_streamed_legacy_function_call(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                       openai_client: Any) -> None:
    chunk = {"id": "chatcmpl-fn", "object": "chat.completion.chunk", "created": 1, "model": "gpt-3.5-turbo-0613"}
    replay.add_sse("/v1/chat/completions", [
        {**chunk, "choices": [{"index": 0, "delta": {"role": "assistant", "content": None,
                                                     "function_call": {"name": "get_weather", "arguments": ""}}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"function_call": {"arguments": '{"location":'}}}]},
        {**chunk, "choices": [{"index": 0, "delta": {"function_call": {"arguments": ' "Boston"}'}}}]},
        {**chunk, "choices": [{"index": 0, "delta": {}, "finish_reason": "function_call"}]},
    ])
    instrument(full_tool_definitions=True)
    function = {"name": "get_weather", "parameters": {"type": "object", "properties": {"location": {"type": "string"}}}}

    run(openai_client, is_async, stream_and_drain(model="gpt-3.5-turbo", messages=SAY_TEST, functions=[function]))

    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    # As for the non-streamed message.function_call: one tool_call part, arguments parsed.
    assert parts(span, OUTPUT) == [{"type": "tool_call", "name": "get_weather", "arguments": {"location": "Boston"}}]
    assert content(span, TOOLS) == [{"type": "function", **function}]


@ASYNC
def test_chunks_of_choices_in_turn_and_text_beside_other_fields(is_async: bool, replay: Any, otel: Any,
                                                                instrument: Any, openai_client: Any) -> None:
    # Most chunks carry a piece of text of the choice the previous chunk went to, and nothing
    # else; these alternate between two choices, carry text beside a tool call, a refusal or a
    # finish reason, and two pieces are not text at all.
    chunk = {"id": "chatcmpl-mixed", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}

    def delta(index: int, finish: str | None = None, **fields: Any) -> dict[str, Any]:
        return {**chunk, "choices": [{"index": index, "delta": fields, "finish_reason": finish}]}

    call = {"index": 0, "id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{\"q\""}}
    replay.add_sse("/v1/chat/completions", [
        delta(0, role="assistant", content="A1"), delta(0, content="A2"),
        delta(1, role="assistant", content="B1"), delta(0, content="A3"), delta(1, content="B2"),
        delta(1, content=42), delta(1, content="B3"),
        delta(0, content="A4", tool_calls=[call]),
        delta(0, tool_calls=[{"index": 0, "function": {"arguments": 7}}]),
        delta(0, tool_calls=[{"index": 0, "function": {"arguments": ": 1}"}}]),
        delta(1, content="B4", refusal="R1"),
        delta(0, "tool_calls", content="A5"), delta(1, "stop", content="B5"),
    ])
    instrument()

    _, chunks = run(openai_client, is_async, stream_and_drain(model="gpt-4o-mini", messages=SAY_TEST, n=2))

    assert len(chunks) == 13
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call", "stop")
    assert content(span, OUTPUT) == [
        {"role": "assistant", "finish_reason": "tool_call", "parts": [
            {"type": "text", "content": "A1A2A3A4A5"},
            {"type": "tool_call", "name": "lookup", "id": "call_1", "arguments": {"q": 1}}]},
        {"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "text", "content": "B1B2B3B4B5"}, {"type": "text", "content": "R1"}]},
    ]
