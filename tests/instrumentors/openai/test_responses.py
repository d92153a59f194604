"""The Responses API through the real openai client: create, parse, streams, errors."""

from __future__ import annotations

from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import (
    aw,
    chat_span,
    content,
    drain,
    next_item,
    opened,
    run,
    sdk_call,
    span_attributes,
)

ASYNC = pytest.mark.parametrize("is_async", [False, True], ids=["sync", "async"])
CASSETTE = "openai/otel-contrib__test_responses_{}[content_mode0].yaml"
WEATHER_TOOL = {
    "type": "function",
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city and state, e.g. Boston, MA"}},
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": True,
}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


@ASYNC
def test_create_basic(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_basic"))
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4o-mini", input="Say this is a test", instructions="You are a helpful assistant.", stream=False))

    assert response.output_text == "This is a test."
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == ("chat gpt-4o-mini", SpanKind.CLIENT, StatusCode.UNSET)
    assert span_attributes(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "responses",
        "gen_ai.response.id": "resp_0f4faba17dcd0f1e0069e2f3e4907881909179832ba1237025",
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 22,
        "gen_ai.usage.output_tokens": 6,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "openai.response.service_tier": "default",
        "gen_ai.system_instructions": span.attributes["gen_ai.system_instructions"],
        "gen_ai.input.messages": span.attributes["gen_ai.input.messages"],
        "gen_ai.output.messages": span.attributes["gen_ai.output.messages"],
    }
    assert content(span, "gen_ai.system_instructions") == [_text("You are a helpful assistant.")]
    assert content(span, "gen_ai.input.messages") == [{"role": "user", "parts": [_text("Say this is a test")]}]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text("This is a test.")], "finish_reason": "stop"}]
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in otel.metrics()["gen_ai.client.token.usage"]}
    assert tokens == {"input": 22, "output": 6}
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.count == 1 and duration.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"


def test_no_content_by_default_keeps_usage(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_basic"))
    instrument(capture_content="NO_CONTENT")

    openai_client().responses.create(model="gpt-4o-mini", input="Say this is a test",
                                     instructions="You are a helpful assistant.")

    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.usage.input_tokens"] == 22
    assert not {k for k in attrs if k.startswith(("gen_ai.input", "gen_ai.output", "gen_ai.system"))}


def test_input_history(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_responses_with_input_history.yaml")
    instrument()
    client = openai_client()
    question = "Come up with an adjective in English. Respond with just one word."

    first = client.responses.create(model="gpt-4.1-nano", input=question)
    second = client.responses.create(model="gpt-4.1-nano", input=[
        {"role": "user", "content": question},
        {"role": "assistant", "content": [{"type": "output_text", "text": first.output_text}]},
        {"role": "user", "content": "Can you explain why you chose that word?"},
    ])

    assert first.output_text == "Luminous"
    spans = otel.spans()
    assert [s.attributes["gen_ai.response.id"] for s in spans] == [first.id, second.id]
    assert content(spans[1], "gen_ai.input.messages") == [
        {"role": "user", "parts": [_text(question)]},
        {"role": "assistant", "parts": [_text("Luminous")]},
        {"role": "user", "parts": [_text("Can you explain why you chose that word?")]},
    ]
    (output,) = content(spans[1], "gen_ai.output.messages")
    assert output["parts"] == [_text(second.output_text)]
    assert spans[1].attributes["gen_ai.usage.input_tokens"] == 40


@ASYNC
def test_tool_call_and_definitions(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_captures_tool_call_content"))
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4o-mini", input="What's the weather in Seattle right now?", tools=[WEATHER_TOOL],
        tool_choice={"type": "function", "name": "get_current_weather"}))

    (call,) = response.output
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "name": "get_current_weather", "id": call.call_id,
         "arguments": {"location": "Seattle, WA"}},
    ]}]
    assert content(span, "gen_ai.tool.definitions") == [{
        "type": "function", "name": "get_current_weather", "description": WEATHER_TOOL["description"],
        "parameters": WEATHER_TOOL["parameters"]}]


def test_parallel_tool_calls_then_tool_results(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_responses_tool_calls.yaml")
    instrument()
    client = openai_client()
    tool = {"type": "function", "name": "get_weather", "description": "Get the current weather for a location",
            "parameters": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]}}
    history: list[Any] = [{"type": "message", "role": "user", "content": "What's the weather in London?"}]

    response = client.responses.create(model="gpt-4.1-nano", input=history, tools=[tool], tool_choice="auto")
    calls = [item for item in response.output if item.type == "function_call"]
    history += [{"type": "function_call", "call_id": c.call_id, "name": c.name, "arguments": c.arguments}
                for c in calls]
    history += [{"type": "function_call_output", "call_id": c.call_id, "output": "rainy, 12C"} for c in calls]
    client.responses.create(model="gpt-4.1-nano", input=history, tools=[tool])

    first, second = otel.spans()
    (message,) = content(first, "gen_ai.output.messages")
    assert message["parts"] == [{"type": "tool_call", "name": "get_weather", "id": c.call_id,
                                 "arguments": {"location": "London"}} for c in calls]
    assert len(calls) == 2 and first.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert content(second, "gen_ai.input.messages")[1:] == [
        *({"role": "assistant", "parts": [{"type": "tool_call", "name": "get_weather", "id": c.call_id,
                                           "arguments": {"location": "London"}}]} for c in calls),
        *({"role": "tool", "parts": [{"type": "tool_call_response", "id": c.call_id, "response": "rainy, 12C"}]}
          for c in calls),
    ]


def test_builtin_tool_and_system_history(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/ddtrace__response_tools.yaml")
    instrument()
    history = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "Who won the world series in 2020?"},
        {"role": "assistant", "content": "The Los Angeles Dodgers won the World Series in 2020."},
        {"role": "user", "content": "Where was it played?"},
    ]

    response = openai_client().responses.create(model="gpt-4.1", input=history,
                                                tools=[{"type": "web_search_preview"}])

    span = chat_span(otel)
    assert "Globe Life Field" in response.output_text
    assert content(span, "gen_ai.input.messages") == [
        {"role": m["role"], "parts": [_text(m["content"])]} for m in history]
    assert content(span, "gen_ai.tool.definitions") == [{"type": "web_search_preview", "name": "web_search_preview"}]
    # The recorded output holds only the answer message (no web_search_call item): a normal stop.
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (347, 46)


@ASYNC
def test_reasoning(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_reports_reasoning_tokens"))
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-5.4", input=[{"role": "user", "content": "Write a bash transpose script."}],
        reasoning={"effort": "low"}, max_output_tokens=300))

    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.reasoning.level"] == "low"
    assert attrs["gen_ai.request.max_tokens"] == 300
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.usage.reasoning.output_tokens"]) == (288, 9)
    (message,) = content(chat_span(otel), "gen_ai.output.messages")
    # The reasoning item has an empty summary: nothing to record for it, only the answer text.
    assert message["parts"] == [_text(response.output_text)]


class Person(pydantic.BaseModel):
    name: str
    age: int


@ASYNC
def test_parse(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_responses_parse.yaml")
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.parse",
        model="gpt-4.1-nano", input="Extract: Alice is 30 years old.", text_format=Person))

    assert response.output_parsed == Person(name="Alice", age=30)
    attrs = span_attributes(chat_span(otel))  # exactly one span: parse() does not go through create()
    assert (attrs["gen_ai.output.type"], attrs["gen_ai.response.id"]) == ("json", response.id)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (57, 10)


@ASYNC
def test_create_stream(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_streaming"))
    instrument()

    events = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4o-mini", input="Say this is a test", instructions="You are a helpful assistant.",
        service_tier="default", stream=True))

    assert len(events) == 13 and events[-1].type == "response.completed"
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "This is a test."
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.stream"] is True
    assert attrs["openai.request.service_tier"] == "default"
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < 5
    assert attrs["gen_ai.response.id"] == events[-1].response.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (22, 6)
    assert content(chat_span(otel), "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text("This is a test.")], "finish_reason": "stop"}]


@ASYNC
def test_stream_function_call(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/ddtrace__response_function_call_streamed.yaml")
    instrument()

    events = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4.1", input="What is the weather like in Boston today?", stream=True,
        tools=[{**WEATHER_TOOL, "name": "get_current_weather"}]))

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
    replay.load_cassette(CASSETTE.format("create_streaming"))
    instrument()

    events, final = run(openai_client, is_async, _stream_helper(read_all=True))

    assert final.output_text == "This is a test." and events[-1].type == "response.completed"
    span = chat_span(otel)
    assert span.name == "chat gpt-4o-mini" and span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.id"] == final.id
    assert span.attributes["gen_ai.usage.output_tokens"] == final.usage.output_tokens == 6
    assert content(span, "gen_ai.output.messages")[0]["parts"] == [_text("This is a test.")]


@ASYNC
def test_stream_helper_left_early(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_streaming"))
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

    events = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4o", input="Give me a multi paragraph narrative on the life of a car", max_output_tokens=16,
        temperature=0.1, stream=True))

    assert events[-1].type == "response.incomplete"
    assert events[-1].response.incomplete_details.reason == "max_output_tokens"
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert (span.attributes["gen_ai.request.max_tokens"], span.attributes["gen_ai.request.temperature"]) == (16, 0.1)
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "length", "parts": [
        _text("In the bustling city of Detroit, a sleek, metallic blue sedan rolled off the")]}]


@ASYNC
@pytest.mark.parametrize(("cassette", "model", "exc_type"), [
    (CASSETTE.format("create_api_error"), "this-model-does-not-exist", openai.BadRequestError),
    ("openai/ddtrace__response_error.yaml", "gpt-4.1", openai.AuthenticationError),
], ids=["400", "401"])
def test_error(is_async: bool, cassette: str, model: str, exc_type: type[Exception], replay: Any, otel: Any,
               instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette)
    instrument()

    with pytest.raises(exc_type) as caught:
        run(openai_client, is_async, sdk_call("responses.create", model=model, input="Hello"))

    assert type(caught.value) is exc_type
    span = chat_span(otel)
    assert span.name == f"chat {model}"
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == f"openai.{exc_type.__name__}"
    assert "gen_ai.response.id" not in span.attributes and "gen_ai.output.messages" not in span.attributes
    (event,) = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.message"] == str(caught.value)
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.attributes["error.type"] == f"openai.{exc_type.__name__}"


def _response_json(**fields: Any) -> dict[str, Any]:
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4o-2024",
            "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "ok", "annotations": []}]}],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}, **fields}


@ASYNC
@pytest.mark.parametrize("conversation", ["conv_123", {"id": "conv_123"}], ids=["str", "dict"])
def test_previous_response_and_conversation(is_async: bool, conversation: Any, replay: Any, otel: Any,
                                            instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=_response_json(previous_response_id="resp_0"))
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.create",
        model="gpt-4o", input="and then?", previous_response_id="resp_0", conversation=conversation))

    assert response.output_text == "ok"
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.previous_response.id"] == "resp_0"
    assert attrs["gen_ai.conversation.id"] == "conv_123"
    assert replay.last_request.json["previous_response_id"] == "resp_0"


def test_with_raw_response(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=_response_json())
    instrument()

    raw = openai_client().responses.with_raw_response.create(model="gpt-4o", input="hi")

    assert raw.parse().output_text == "ok"
    assert span_attributes(chat_span(otel))["gen_ai.usage.input_tokens"] == 3


@ASYNC
def test_stream_failed_event(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    failed = _response_json(status="failed", output=[], error={"code": "server_error", "message": "boom"})
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
def test_stream_connection_dropped(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    # created, in_progress, output_item.added, content_part.added, 2 text deltas; then the socket closes.
    replay.load_cassette(CASSETTE.format("create_streaming"), drop_after=6)
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
        {"role": "assistant", "parts": [_text("This is")], "finish_reason": "error"}]
