"""The Responses API through the real openai client: create, parse, tools, reasoning, errors (streams: see
test_responses_streams.py)."""

from __future__ import annotations

from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import (
    IDS,
    IS_ASYNC,
    RESPONSES_CASSETTE,
    chat_span,
    content,
    response_body,
    run,
    sdk_call,
    span_attributes,
    text_part,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
CASSETTE = RESPONSES_CASSETTE
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


@ASYNC
def test_create_basic(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_basic"))
    instrument()

    response = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4o-mini", input="Say this is a test",
        instructions="You are a helpful assistant.", stream=False))

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
    assert content(span, "gen_ai.system_instructions") == [text_part("You are a helpful assistant.")]
    assert content(span, "gen_ai.input.messages") == [{"role": "user", "parts": [text_part("Say this is a test")]}]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [text_part("This is a test.")], "finish_reason": "stop"}]
    tokens = {p.attributes["gen_ai.token.type"]: p.sum for p in otel.metrics()["gen_ai.client.token.usage"]}
    assert tokens == {"input": 22, "output": 6}
    (duration,) = otel.metrics()["gen_ai.client.operation.duration"]
    assert duration.count == 1 and duration.attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"


def test_no_content_capture_keeps_usage(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
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
        {"role": "user", "parts": [text_part(question)]},
        {"role": "assistant", "parts": [text_part("Luminous")]},
        {"role": "user", "parts": [text_part("Can you explain why you chose that word?")]},
    ]
    (output,) = content(spans[1], "gen_ai.output.messages")
    assert output["parts"] == [text_part(second.output_text)]
    assert spans[1].attributes["gen_ai.usage.input_tokens"] == 40


@ASYNC
def test_tool_call_and_definitions(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_captures_tool_call_content"))
    instrument(full_tool_definitions=True)

    response = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4o-mini", input="What's the weather in Seattle right now?", tools=[WEATHER_TOOL],
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
        {"role": m["role"], "parts": [text_part(m["content"])]} for m in history]
    assert content(span, "gen_ai.tool.definitions") == [{"type": "web_search_preview", "name": "web_search_preview"}]
    # The recorded output holds only the answer message (no web_search_call item): a normal stop.
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (347, 46)


@ASYNC
def test_reasoning(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(CASSETTE.format("create_reports_reasoning_tokens"))
    instrument()

    response = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-5.4", input=[{"role": "user", "content": "Write a bash transpose script."}],
        reasoning={"effort": "low"}, max_output_tokens=300))

    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.reasoning.level"] == "low"
    assert attrs["gen_ai.request.max_tokens"] == 300
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.usage.reasoning.output_tokens"]) == (288, 9)
    (message,) = content(chat_span(otel), "gen_ai.output.messages")
    # The reasoning item has an empty summary: nothing to record for it, only the answer text.
    assert message["parts"] == [text_part(response.output_text)]


class Person(pydantic.BaseModel):
    name: str
    age: int


@ASYNC
def test_parse(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_responses_parse.yaml")
    instrument()

    response = run(openai_client, is_async, sdk_call(
        "responses.parse", model="gpt-4.1-nano", input="Extract: Alice is 30 years old.", text_format=Person))

    assert response.output_parsed == Person(name="Alice", age=30)
    attrs = span_attributes(chat_span(otel))  # exactly one span: parse() does not go through create()
    assert (attrs["gen_ai.output.type"], attrs["gen_ai.response.id"]) == ("json", response.id)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (57, 10)


def test_multimodal_input_items(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=response_body())
    instrument()

    openai_client().responses.create(model="gpt-4o", input=[
        {"type": "message", "role": "developer", "content": [{"type": "input_text", "text": "Be brief."}]},
        {"role": "user", "content": [
            {"type": "input_text", "text": "Compare these"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "auto"},
            {"type": "input_image", "file_id": "file-123", "detail": "low"},
            {"type": "input_file", "file_id": "file-456"},
        ]},
        {"type": "item_reference", "id": "msg_earlier"},  # nothing to record for a bare reference
    ])

    assert content(chat_span(otel), "gen_ai.input.messages") == [
        {"role": "developer", "parts": [text_part("Be brief.")]},
        {"role": "user", "parts": [
            text_part("Compare these"),
            {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgo="},
            {"type": "file", "modality": "image", "file_id": "file-123"},
            {"type": "file", "modality": "document", "file_id": "file-456"},
        ]},
    ]


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


@ASYNC
@pytest.mark.parametrize("conversation", ["conv_123", {"id": "conv_123"}], ids=["str", "dict"])
def test_previous_response_and_conversation(is_async: bool, conversation: Any, replay: Any, otel: Any,
                                            instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=response_body(previous_response_id="resp_0"))
    instrument()

    response = run(openai_client, is_async, sdk_call(
        "responses.create", model="gpt-4o", input="and then?", previous_response_id="resp_0",
        conversation=conversation))

    assert response.output_text == "ok"
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.request.previous_response.id"] == "resp_0"
    assert attrs["gen_ai.conversation.id"] == "conv_123"
    assert replay.last_request.json["previous_response_id"] == "resp_0"


@ASYNC
@pytest.mark.parametrize("status", ["queued", "in_progress"])
def test_background_response_not_finished_yet(status: str, is_async: bool, replay: Any, otel: Any,
                                              instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=response_body(status=status, background=True, output=[], usage=None))
    instrument()

    response = run(openai_client, is_async, sdk_call("responses.create", model="gpt-4o", input="x", background=True))

    # The call only queued the work: nothing has finished, no output exists yet.
    assert response.status == status
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.response.id"] == "resp_1"
    assert "gen_ai.response.finish_reasons" not in attrs and "gen_ai.output.messages" not in attrs
    assert "error.type" not in attrs


@pytest.mark.parametrize(("version", "expected"), [("2", "2"), (None, None)], ids=["versioned", "latest"])
def test_stored_prompt_template(version: str | None, expected: str | None, replay: Any, otel: Any, instrument: Any,
                                openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=response_body())
    instrument(capture_content="NO_CONTENT")

    openai_client().responses.create(
        model="gpt-4o", prompt={"id": "pmpt_abc123", "version": version, "variables": {"city": "Paris"}})

    # gen_ai.prompt.name is conditionally required when a named prompt template is used; the
    # variables are opt-in content, not recorded.
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.prompt.name"] == "pmpt_abc123"
    assert attrs.get("gen_ai.prompt.version") == expected
    assert not [key for key in attrs if key.startswith("gen_ai.prompt.variable")]


def test_with_raw_response(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("POST", "/v1/responses", body=response_body())
    instrument()

    raw = openai_client().responses.with_raw_response.create(model="gpt-4o", input="hi")

    assert raw.parse().output_text == "ok"
    assert span_attributes(chat_span(otel))["gen_ai.usage.input_tokens"] == 3
