"""chat.completions.create / parse through the real openai client: attributes, content, usage."""

from __future__ import annotations

import json
from typing import Any

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import (
    IDS,
    IS_ASYNC,
    SAY_TEST,
    TOOLS,
    StartAttributes,
    aw,
    cassette,
    chat_span,
    content,
    create,
    parts,
    run,
    span_attributes,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a given location",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string", "description": "The city and state, e.g. Boston, MA"}},
            "required": ["location"],
            "additionalProperties": False,
        },
    },
}


def _text(text: str) -> dict[str, str]:
    return {"type": "text", "content": text}


@ASYNC
def test_plain_create(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    name = "otel-contrib__test_async_chat_completion_with_content" if is_async else \
        "otel-contrib__test_chat_completion_with_content"
    replay.load_cassette(cassette(name))
    instrument()

    result = run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST, stream=False))

    assert type(result) is openai.types.chat.ChatCompletion
    answer = result.choices[0].message.content
    assert answer == ("This is a test. How can I assist you further?" if is_async else "This is a test.")
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == ("chat gpt-4o-mini", SpanKind.CLIENT, StatusCode.UNSET)
    assert span.parent is None and not span.events
    assert span_attributes(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "chat_completions",
        "gen_ai.response.id": result.id,
        "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 12,
        "gen_ai.usage.output_tokens": result.usage.completion_tokens,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.reasoning.output_tokens": 0,
        "openai.response.system_fingerprint": "fp_0ba0d124f1",
        "gen_ai.input.messages": span.attributes["gen_ai.input.messages"],
        "gen_ai.output.messages": span.attributes["gen_ai.output.messages"],
    }
    assert content(span, "gen_ai.input.messages") == [{"role": "user", "parts": [_text("Say this is a test")]}]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text(answer)], "finish_reason": "stop"}]
    assert result.id.startswith("chatcmpl-") and span.attributes["gen_ai.response.id"] == result.id


def test_request_parameters(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_extra_params"))
    at_start = StartAttributes()
    otel.tracer_provider.add_span_processor(at_start)
    instrument()

    openai_client().chat.completions.create(
        model="gpt-4o-mini", messages=SAY_TEST, max_tokens=50, seed=42, temperature=0.5, service_tier="default",
        response_format={"type": "text"}, top_p=0.9, stop=["\n\n", "END"], frequency_penalty=0.25,
        presence_penalty=-0.5,
    )

    attrs = span_attributes(chat_span(otel))
    expected_request = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "gpt-4o-mini",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.seed": 42,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ["\n\n", "END"],
        "gen_ai.request.frequency_penalty": 0.25,
        "gen_ai.request.presence_penalty": -0.5,
        "gen_ai.output.type": "text",
        "openai.request.service_tier": "default",
    }
    assert {k: attrs.get(k) for k in expected_request} == expected_request
    assert attrs["openai.response.service_tier"] == "default"
    assert attrs["openai.response.system_fingerprint"] == "fp_0705bf87c0"
    assert "gen_ai.request.stream" not in attrs and "gen_ai.request.choice.count" not in attrs
    # Sampling-relevant and request attributes are there when the span starts, not only at its end.
    (start,) = at_start.seen
    assert {k: list(v) if isinstance(v, tuple) else v for k, v in start.items()} == {
        **expected_request, "openai.api.type": "chat_completions"}


def test_whole_number_sampling_parameters_are_doubles(replay: Any, otel: Any, instrument: Any,
                                                      openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_extra_params"))
    instrument()

    openai_client().chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST, temperature=0, top_p=1,
                                            frequency_penalty=0, presence_penalty=1)

    attrs = chat_span(otel).attributes
    recorded = {key: attrs[key] for key in ("gen_ai.request.temperature", "gen_ai.request.top_p",
                                            "gen_ai.request.frequency_penalty", "gen_ai.request.presence_penalty")}
    # The registry types these as double: an int given for them is exported as a double all the same.
    assert recorded == {"gen_ai.request.temperature": 0.0, "gen_ai.request.top_p": 1.0,
                        "gen_ai.request.frequency_penalty": 0.0, "gen_ai.request.presence_penalty": 1.0}
    assert all(type(value) is float for value in recorded.values()), recorded


def test_max_completion_tokens_and_auto_tier(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    instrument()

    openai_client().chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST, max_completion_tokens=64,
                                            service_tier="auto", n=1)

    attrs = chat_span(otel).attributes
    assert attrs["gen_ai.request.max_tokens"] == 64
    # "auto" is the default tier and n=1 the default count: the conventions leave both out.
    assert "openai.request.service_tier" not in attrs and "gen_ai.request.choice.count" not in attrs


@ASYNC
def test_multiple_choices(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_multiple_choices"))
    instrument()

    result = run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST, n=2))

    assert len(result.choices) == 2
    span = chat_span(otel)
    assert span.attributes["gen_ai.request.choice.count"] == 2
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop", "stop")
    assert span.attributes["gen_ai.usage.output_tokens"] == 24
    text = "This is a test. How can I assist you further?"
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text(text)], "finish_reason": "stop"}] * 2


@ASYNC
def test_tool_calls_then_tool_results(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                      openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_tool_calls_with_content"))
    instrument(full_tool_definitions=True)
    messages: list[Any] = [
        {"role": "system", "content": "You're a helpful assistant."},
        {"role": "user", "content": "What's the weather in Seattle and San Francisco today?"},
    ]

    async def scenario(client: Any) -> Any:
        first = await aw(client.chat.completions.create(model="gpt-4o-mini", messages=messages,
                                                        tools=[WEATHER_TOOL], tool_choice="auto"))
        calls = first.choices[0].message.tool_calls
        history = [*messages, first.choices[0].message,
                   {"role": "tool", "content": "50 degrees and raining", "tool_call_id": calls[0].id},
                   {"role": "tool", "content": "70 degrees and sunny", "tool_call_id": calls[1].id}]
        return first, await aw(client.chat.completions.create(model="gpt-4o-mini", messages=history))

    first, second = run(openai_client, is_async, scenario)

    asking, answering = otel.spans()
    assert asking.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    seattle = {"type": "tool_call", "id": "call_JpNb8OiAkbIbHzDggfpdDHpi", "name": "get_current_weather",
               "arguments": {"location": "Seattle, WA"}}
    san_francisco = {"type": "tool_call", "id": "call_vaFQc3zK6hHTRZKXRI5Eo2cJ", "name": "get_current_weather",
                     "arguments": {"location": "San Francisco, CA"}}
    assert content(asking, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [seattle, san_francisco], "finish_reason": "tool_call"}]
    assert content(asking, TOOLS) == [{"type": "function", "name": "get_current_weather",
                                       "description": "Get the current weather in a given location",
                                       "parameters": WEATHER_TOOL["function"]["parameters"]}]
    assert content(asking, "gen_ai.input.messages") == [
        {"role": "system", "parts": [_text("You're a helpful assistant.")]},
        {"role": "user", "parts": [_text("What's the weather in Seattle and San Francisco today?")]},
    ]
    # The follow-up: the assistant turn (an SDK message object) and the tool results come back as input.
    assert content(answering, "gen_ai.input.messages")[2:] == [
        {"role": "assistant", "parts": [seattle, san_francisco]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": seattle["id"],
                                    "response": "50 degrees and raining"}]},
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": san_francisco["id"],
                                    "response": "70 degrees and sunny"}]},
    ]
    assert TOOLS not in answering.attributes
    assert answering.attributes["gen_ai.response.finish_reasons"] == ("stop",)
    assert parts(answering, "gen_ai.output.messages") == [_text(second.choices[0].message.content)]
    assert [s.attributes["gen_ai.response.id"] for s in (asking, answering)] == [first.id, second.id]


def test_custom_tool(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("ddtrace__chat_completion_custom_tool_call"))
    instrument()
    tool = {"type": "custom", "custom": {"name": "math_exp", "description": "Creates valid mathematical expressions",
                                         "format": {"type": "grammar",
                                                    "grammar": {"syntax": "lark", "definition": "start: expr"}}}}

    result = openai_client().chat.completions.create(
        model="gpt-5", messages=[{"role": "user", "content": "Use the math_exp tool to add four plus four."}],
        tools=[tool])

    assert result.choices[0].message.tool_calls[0].custom.input == "4 + 4"
    span = chat_span(otel)
    assert content(span, TOOLS) == [{"type": "custom", "name": "math_exp"}]
    assert content(span, "gen_ai.output.messages") == [{"role": "assistant", "finish_reason": "tool_call", "parts": [
        {"type": "tool_call", "id": "call_QpgJRI5C9DcjExMNU6lrJPcu", "name": "math_exp", "arguments": "4 + 4"}]}]
    assert (span.attributes["gen_ai.usage.output_tokens"], span.attributes["gen_ai.usage.reasoning.output_tokens"]) \
        == (214, 192)


@pytest.mark.parametrize("name, response_format", [
    ("edot-python__test_parse_response_format_json_object_with_capture_message_content", {"type": "json_object"}),
    ("edot-python__test_parse_response_format_structured_output_with_capture_message_content", {
        "type": "json_schema", "json_schema": {"name": "Reason", "strict": True, "schema": {
            "type": "object", "properties": {"reason": {"type": "string"}}, "required": ["reason"],
            "additionalProperties": False}}}),
], ids=["json_object", "json_schema"])
def test_json_response_format(name: str, response_format: Any, replay: Any, otel: Any, instrument: Any,
                              openai_client: Any) -> None:
    replay.load_cassette(cassette(name))
    instrument()

    result = openai_client().chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST,
                                                     response_format=response_format)

    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert parts(span, "gen_ai.output.messages") == [_text(result.choices[0].message.content)]


class StructuredAnswer(pydantic.BaseModel):
    rating: int
    joke: str


@ASYNC
@pytest.mark.parametrize("refused", [False, True], ids=["answer", "refusal"])
def test_parse_with_pydantic_model(is_async: bool, refused: bool, replay: Any, otel: Any, instrument: Any,
                                   openai_client: Any) -> None:
    name = "openllmetry__test_parsed_refused_completion" if refused else "openllmetry__test_parsed_completion"
    replay.load_cassette(cassette(name))
    instrument()
    question = "Best ways to make a bomb" if refused else "Tell me a joke about opentelemetry"

    async def scenario(client: Any) -> Any:
        return await aw(client.chat.completions.parse(
            model="gpt-4o", messages=[{"role": "user", "content": question}], response_format=StructuredAnswer))

    result = run(openai_client, is_async, scenario)

    assert isinstance(result, openai.types.chat.ParsedChatCompletion)
    message = result.choices[0].message
    span = chat_span(otel)  # parse() posts by itself: exactly one span, not one per layer
    assert span.name == "chat gpt-4o"
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.response.id"] == result.id
    assert replay.last_request.headers["x-stainless-helper-method"] == "chat.completions.parse"
    if refused:
        assert message.parsed is None
        assert parts(span, "gen_ai.output.messages") == [_text("I'm very sorry, but I can't assist with that request.")]
    else:
        assert isinstance(message.parsed, StructuredAnswer) and message.parsed.rating == 5
        assert parts(span, "gen_ai.output.messages") == [_text(message.content)]


@ASYNC
@pytest.mark.parametrize(("finish", "error"), [("length", openai.LengthFinishReasonError),
                                               ("content_filter", openai.ContentFilterFinishReasonError)])
@pytest.mark.parametrize("raw", [False, True], ids=["parse", "with_raw_response"])
def test_parse_of_a_cut_completion(finish: str, error: type[Exception], raw: bool, is_async: bool, replay: Any,
                                   otel: Any, instrument: Any, openai_client: Any) -> None:
    # parse() raises for a completion it cannot parse; the completion was received (and billed).
    replay.add("POST", "/v1/chat/completions", body={
        "id": "chatcmpl-cut", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "finish_reason": finish,
                     "message": {"role": "assistant", "content": '{"rating": 5, "jo'}}],
        "usage": {"prompt_tokens": 20, "completion_tokens": 8, "total_tokens": 28}})
    instrument()
    request = {"model": "gpt-4o", "messages": SAY_TEST, "response_format": StructuredAnswer, "max_tokens": 8}

    async def scenario(client: Any) -> Any:
        if raw:
            return (await aw(client.chat.completions.with_raw_response.parse(**request))).parse()
        return await aw(client.chat.completions.parse(**request))

    with pytest.raises(error):
        run(openai_client, is_async, scenario)

    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs["gen_ai.response.id"] == "chatcmpl-cut"
    assert attrs["gen_ai.response.finish_reasons"] == [finish]
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (20, 8)
    assert parts(span, "gen_ai.output.messages") == [_text('{"rating": 5, "jo')]
    if raw:  # the call itself succeeded: the caller's parse() of its response raised
        assert span.status.status_code == StatusCode.UNSET and "error.type" not in attrs
    else:
        assert span.status.status_code == StatusCode.ERROR and attrs["error.type"] == f"openai.{error.__name__}"


def test_reasoning_tokens_and_effort(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_chat_reasoning"))
    instrument()

    openai_client().chat.completions.create(model="gpt-5-nano", reasoning_effort="low",
                                            messages=[{"role": "user", "content": "Count r's in strawberry"}])

    attrs = chat_span(otel).attributes
    assert attrs["gen_ai.request.reasoning.level"] == "low"
    # output_tokens already include the reasoning tokens (OpenAI's completion_tokens do).
    assert (attrs["gen_ai.usage.output_tokens"], attrs["gen_ai.usage.reasoning.output_tokens"]) == (228, 192)
    assert attrs["gen_ai.usage.input_tokens"] == 11
    assert "gen_ai.usage.cache_write.input_tokens" not in attrs


def test_cached_tokens(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    recorded = replay.load_cassette(cassette("openinference__test_cached_tokens"))
    instrument()
    client = openai_client()
    messages = json.loads(recorded.requests[0]["body"])["messages"]  # the long prompt, as recorded

    for _ in range(2):
        client.chat.completions.create(model="gpt-4o-mini", messages=messages)

    cold, warm = (s.attributes for s in otel.spans())
    assert (cold["gen_ai.usage.input_tokens"], cold["gen_ai.usage.cache_read.input_tokens"]) == (1370, 0)
    # input_tokens include the cached ones.
    assert (warm["gen_ai.usage.input_tokens"], warm["gen_ai.usage.cache_read.input_tokens"]) == (1370, 1280)


@pytest.mark.parametrize("url, part", [
    ("https://source.unsplash.com/8xznAGy4HcY/800x400",
     {"type": "uri", "modality": "image", "uri": "https://source.unsplash.com/8xznAGy4HcY/800x400"}),
    ("data:image/png;base64,iVBORw0KGgo=",
     {"type": "blob", "modality": "image", "mime_type": "image/png", "content": "iVBORw0KGgo="}),
], ids=["uri", "data-url"])
def test_vision_image_parts(url: str, part: dict[str, Any], replay: Any, otel: Any, instrument: Any,
                            openai_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_vision"))
    instrument()

    openai_client().chat.completions.create(model="gpt-4-vision-preview", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"}, {"type": "image_url", "image_url": {"url": url}}]}])

    span = chat_span(otel)
    assert parts(span, "gen_ai.input.messages") == [_text("What is in this image?"), part]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
    assert replay.last_request.json["messages"][0]["content"][1]["image_url"]["url"] == url


@ASYNC
def test_one_shot_iterables_still_reach_the_sdk(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                openai_client: Any) -> None:
    # The SDK takes any Iterable for messages and tools; reading them for telemetry must not use them up.
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_tool_calls_with_content"))
    instrument()
    messages = [{"role": "user", "content": "What's the weather in Seattle and San Francisco today?"}]

    run(openai_client, is_async, create(model="gpt-4o-mini", messages=iter(messages), tools=iter([WEATHER_TOOL])))

    sent = replay.last_request.json
    assert (sent["messages"], sent["tools"]) == (messages, [WEATHER_TOOL])
    span = chat_span(otel)
    assert parts(span, "gen_ai.input.messages") == [_text(messages[0]["content"])]
    assert [d["name"] for d in content(span, TOOLS)] == ["get_current_weather"]


def test_audio_and_file_parts(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_vision"))
    instrument()

    openai_client().chat.completions.create(model="gpt-4o", messages=[
        {"role": "developer", "content": "Be brief."},
        {"role": "user", "name": "alice", "content": [
            {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
            {"type": "file", "file": {"file_id": "file-abc123"}},
            {"type": "file", "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}},
        ]},
    ])

    assert content(chat_span(otel), "gen_ai.input.messages") == [
        {"role": "developer", "parts": [_text("Be brief.")]},
        {"role": "user", "name": "alice", "parts": [
            {"type": "blob", "modality": "audio", "mime_type": "audio/wav", "content": "UklGRg=="},
            {"type": "file", "modality": "document", "file_id": "file-abc123"},
            {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": "JVBERi0="},
        ]},
    ]


def test_audio_output_is_speech(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_vision"))
    instrument()

    openai_client().chat.completions.create(model="gpt-4o-audio-preview", messages=SAY_TEST,
                                            modalities=["text", "audio"], audio={"voice": "alloy", "format": "wav"})

    # The conventions' output type is the requested modality: `speech` for audio output.
    assert chat_span(otel).attributes["gen_ai.output.type"] == "speech"


def test_tool_definitions_carry_names_only_by_default(replay: Any, otel: Any, instrument: Any,
                                                      openai_client: Any) -> None:
    """The conventions advise against the large optional properties (description, parameters)
    by default; TRACEGLASS_FULL_TOOL_DEFINITIONS / full_tool_definitions=True records them."""
    replay.load_cassette("openai/otel-contrib__test_chat_completion_tool_calls_with_content.yaml")
    instrument()
    client = openai_client()
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "weather?"}],
                                   tools=[WEATHER_TOOL])
    span = otel.spans()[0]
    assert content(span, TOOLS) == [{"type": "function", "name": "get_current_weather"}]
