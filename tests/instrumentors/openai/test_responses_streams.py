"""The Responses API streamed: create(stream=True), the responses.stream() helper, unfinished streams."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import (
    IDS,
    IS_ASYNC,
    RESPONSES_CASSETTE,
    aw,
    chat_span,
    content,
    drain,
    next_item,
    opened,
    response_body,
    run,
    sdk_call,
    span_attributes,
    text_part,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
STREAMING = RESPONSES_CASSETTE.format("create_streaming")


@ASYNC
def test_create_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(STREAMING)
    instrument()

    events = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4o-mini", input="Say this is a test",
        instructions="You are a helpful assistant.", service_tier="default", stream=True))

    assert len(events) == 13 and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "This is a test."
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["openai.request.service_tier"] == "default"
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < 5
    assert attrs["gen_ai.response.id"] == events[-1].response.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (22, 6)
    assert content(chat_span(otel), "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [text_part("This is a test.")], "finish_reason": "stop"}]


@ASYNC
def test_stream_function_call(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/ddtrace__response_function_call_streamed.yaml")
    instrument()

    events = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4.1", input="What is the weather like in Boston today?", stream=True,
        tools=[{"type": "function", "name": "get_current_weather", "parameters": {}}]))

    assert len(events) == 18
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    (message,) = content(span, "gen_ai.output.messages")
    assert message["parts"] == [{"type": "tool_call", "name": "get_current_weather",
                                 "id": "call_lGe2JKQEBSP15opZ3KfxtEUC",
                                 "arguments": {"location": "Boston, MA", "unit": "celsius"}}]
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (75, 23)


def _stream_helper(read_all: bool) -> Any:
    """Scenario: ``with client.responses.stream(...)``, reading every event or only the first."""

    async def scenario(client: Any) -> tuple[list[Any], Any]:
        manager = client.responses.stream(model="gpt-4o-mini", input="Say this is a test",
                                          instructions="You are a helpful assistant.")
        async with opened(manager) as stream:
            if not read_all:
                return [await next_item(stream)], None
            return await drain(stream), await aw(stream.get_final_response())

    return scenario


@ASYNC
def test_stream_helper(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(STREAMING)
    instrument()

    events, final = run(openai_client, is_async, _stream_helper(read_all=True))

    assert final.output_text == "This is a test." and events[-1].type == "response.completed"
    span = chat_span(otel)
    assert span.name == "chat gpt-4o-mini" and span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens == 6
    assert content(span, "gen_ai.output.messages")[0]["parts"] == [text_part("This is a test.")]


@ASYNC
def test_stream_helper_left_early(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.load_cassette(STREAMING)
    instrument()

    (event,), _ = run(openai_client, is_async, _stream_helper(read_all=False))

    # Leaving the `with` block ends the span although the stream was never exhausted.
    span = chat_span(otel)
    assert event.type == "response.created"
    assert span.attributes["gen_ai.response.id"] == event.response.id
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes


@ASYNC
def test_stream_incomplete(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/ddtrace__response_stream_incomplete.yaml")
    instrument()

    events = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4o", input="Give me a multi paragraph narrative on the life of a car",
        max_output_tokens=16, temperature=0.1, stream=True))

    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert (span.attributes["gen_ai.request.max_tokens"], span.attributes["gen_ai.request.temperature"]) == (16, 0.1)
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "length", "parts": [
        text_part("In the bustling city of Detroit, a sleek, metallic blue sedan rolled off the")]}]


@ASYNC
def test_stream_failed_event(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    failed = response_body(status="failed", output=[], error={"code": "server_error", "message": "boom"})
    replay.add_sse("/v1/responses", [
        {"type": "response.created", "sequence_number": 0, "response": {**failed, "status": "in_progress"}},
        {"type": "response.failed", "sequence_number": 1, "response": failed},
    ], event_names="type")
    instrument()

    events = run(openai_client, is_async, sdk_call("responses.create", model="gpt-4o", input="x", stream=True))

    assert [e.type for e in events] == ["response.created", "response.failed"]
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert span.attributes["gen_ai.usage.input_tokens"] == 3


@ASYNC
@pytest.mark.parametrize("code", ["server_error", None])
def test_stream_error_event(code: str | None, is_async: bool, replay: Any, otel: Any, instrument: Any,
                            openai_client: Any) -> None:
    # An `error` event has no `error` key, so the SDK yields it as an event rather than raising.
    started = response_body(status="in_progress", output=[], usage=None)
    replay.add_sse("/v1/responses", [
        {"type": "response.created", "sequence_number": 0, "response": started},
        {"type": "error", "sequence_number": 1, "code": code, "message": "The server had an error", "param": None},
    ], event_names="type")
    instrument()

    events = run(openai_client, is_async, sdk_call("responses.create", model="gpt-4o", input="x", stream=True))

    assert [e.type for e in events] == ["response.created", "error"]
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == (code or "_OTHER")
    assert span.attributes["gen_ai.response.id"] == "resp_1"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


@ASYNC
def test_stream_connection_dropped(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    # created, in_progress, output_item.added, content_part.added, 2 text deltas; then the socket closes.
    replay.load_cassette(STREAMING, drop_after=6)
    instrument()

    with pytest.raises(openai.APIConnectionError):
        run(openai_client, is_async, sdk_call("responses.create", model="gpt-4o-mini", input="x", stream=True))

    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.APIConnectionError"
    assert span.attributes["gen_ai.response.id"] == "resp_0415a3de5d3015560069e2f3f4b3088192949253e91aff1eb3"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    # The text that did arrive is kept, marked as cut short.
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [text_part("This is")], "finish_reason": "error"}]
