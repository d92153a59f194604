"""messages.create / parse through the real anthropic client: attributes, content, usage, metrics."""

from __future__ import annotations

import base64
from typing import Any

import anthropic
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    DURATION,
    HELLO,
    INPUT,
    MODEL,
    OUTPUT,
    SYSTEM,
    TOKENS,
    TOOLS,
    WEATHER_TOOL,
    StartAttributes,
    assert_no_content,
    aw,
    cassette,
    chat_span,
    content,
    create,
    instrument_anthropic,
    message_body,
    one_point,
    opened,
    parts,
    run,
    span_attributes,
    text_part,
    tool_call,
    user,
)

PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


@ASYNC
def test_plain_create(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_basic"))
    instrument_anthropic(instrument)

    result = run(anthropic_client, is_async, create(model=MODEL, max_tokens=100, messages=HELLO))

    assert type(result) is anthropic.types.Message and result.content[0].text == "Hello!"
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == (f"chat {MODEL}", SpanKind.CLIENT, StatusCode.UNSET)
    assert span.parent is None and not span.events
    assert span_attributes(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "anthropic",
        "gen_ai.request.model": MODEL,
        "gen_ai.request.max_tokens": 100,
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.id": "msg_0176GK1qFwwpVM59jDYiKPjN",
        "gen_ai.response.model": MODEL,
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 13,
        "gen_ai.usage.output_tokens": 5,
        "gen_ai.usage.cache_read.input_tokens": 0,
        "gen_ai.usage.cache_write.input_tokens": 0,
        "anthropic.response.service_tier": "standard",
        INPUT: span.attributes[INPUT],
        OUTPUT: span.attributes[OUTPUT],
    }
    assert content(span, INPUT) == [user("Say hello in one word.")]
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part("Hello!")], "finish_reason": "stop"}]
    metric = {"gen_ai.provider.name": "anthropic", "gen_ai.request.model": MODEL, "gen_ai.response.model": MODEL}
    assert one_point(otel, DURATION, metric).count == 1
    assert one_point(otel, TOKENS, {**metric, "gen_ai.token.type": "input"}).sum == 13
    assert one_point(otel, TOKENS, {**metric, "gen_ai.token.type": "output"}).sum == 5


@pytest.mark.parametrize("blocks", [False, True], ids=["string", "blocks"])
def test_system_instructions(blocks: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    if blocks:
        replay.load_cassette(cassette("ddtrace__anthropic_completion_multi_system_prompt"))
        system: Any = [{"type": "text", "text": "You are an AI assistant tasked with analyzing literary works."},
                       {"type": "text", "text": "only respond in all caps", "cache_control": {"type": "ephemeral"}}]
        message = [{"role": "user", "content": [
            {"type": "text", "text": "Hello, I am looking for information about some books!"},
            {"type": "text", "text": "What is the best selling book?"}]}]
    else:
        replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_basic"))
        system, message = "Respond only in all caps.", HELLO
    instrument_anthropic(instrument)

    result = anthropic_client().messages.create(model="claude-3-opus-20240229", max_tokens=15, system=system,
                                                messages=message)

    span = chat_span(otel)
    if blocks:
        assert content(span, SYSTEM) == [text_part("You are an AI assistant tasked with analyzing literary works."),
                                         text_part("only respond in all caps")]
        assert parts(span, INPUT) == [text_part("Hello, I am looking for information about some books!"),
                                      text_part("What is the best selling book?")]
        # stop_reason max_tokens: the output was cut at the limit.
        assert result.stop_reason == "max_tokens"
        assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)
        assert span.attributes["gen_ai.usage.input_tokens"] == 43
    else:
        assert content(span, SYSTEM) == [text_part("Respond only in all caps.")]
    assert all(m["role"] != "system" for m in content(span, INPUT))


def test_request_parameters(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_with_all_params"))
    at_start = StartAttributes()
    otel.tracer_provider.add_span_processor(at_start)
    instrument_anthropic(instrument)

    # anthropic>=1.0 takes sampling parameters only through extra_body.
    anthropic_client().messages.create(
        model=MODEL, max_tokens=50, messages=[{"role": "user", "content": "Say hello."}], stop_sequences=["STOP"],
        output_config={"effort": "low"}, thinking={"type": "enabled", "budget_tokens": 1024},
        extra_body={"temperature": 0.7, "top_k": 40, "top_p": 0.9},
    )

    sent = replay.last_request.json
    assert (sent["temperature"], sent["top_k"], sent["top_p"]) == (0.7, 40, 0.9)
    expected = {
        "gen_ai.request.max_tokens": 50,
        "gen_ai.request.temperature": 0.7,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ["STOP"],
        "gen_ai.request.reasoning.level": "low",
        "anthropic.thinking.type": "enabled",
        "anthropic.thinking.budget_tokens": 1024,
    }
    attrs = span_attributes(chat_span(otel))
    assert {k: attrs.get(k) for k in expected} == expected
    # Sampling-relevant and request attributes are there when the span starts.
    started = {k: list(v) if isinstance(v, tuple) else v for k, v in at_start.seen[0].items()}
    assert expected.items() <= started.items()
    assert started["gen_ai.provider.name"] == "anthropic" and started["server.port"] == replay.port
    assert "gen_ai.request.stream" not in attrs and "gen_ai.output.type" not in attrs


def test_tool_use_response(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_tools_legacy"))
    instrument_anthropic(instrument, full_tool_definitions=True)
    server_tool = {"type": "web_search_20250305", "name": "web_search", "max_uses": 1}

    result = anthropic_client().messages.create(
        model="claude-3-5-sonnet-20240620", max_tokens=1024, tools=[WEATHER_TOOL, server_tool],
        messages=[{"role": "user", "content": "What is the weather like right now in New York? Also what time is "
                                              "it there now?"}])

    span = chat_span(otel)
    assert result.stop_reason == "tool_use"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    output = content(span, OUTPUT)
    assert output[0]["finish_reason"] == "tool_call"
    assert output[0]["parts"] == [
        text_part(result.content[0].text),
        tool_call("toolu_012r6TBCWjRHG71j6zruYyUL", "get_weather", {"location": "New York, NY", "unit": "fahrenheit"}),
        tool_call("toolu_01SkeBKkLCNYWNuivqFerGDd", "get_time", {"timezone": "America/New_York"}),
    ]
    # input_schema is the function's parameters; a server tool is a generic definition.
    assert content(span, TOOLS) == [
        {"type": "function", "name": "get_weather", "description": WEATHER_TOOL["description"],
         "parameters": WEATHER_TOOL["input_schema"]},
        {"type": "web_search_20250305", "name": "web_search"},
    ]
    assert span.attributes["gen_ai.usage.input_tokens"] == 514
    assert span.attributes["gen_ai.usage.output_tokens"] == 152


def test_tool_definitions_names_only_by_default(replay: Any, otel: Any, instrument: Any,
                                                anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_tools_legacy"))
    instrument_anthropic(instrument)

    anthropic_client().messages.create(model="m", max_tokens=10, tools=[WEATHER_TOOL], messages=HELLO)

    assert content(chat_span(otel), TOOLS) == [{"type": "function", "name": "get_weather"}]


def test_tool_results_in_the_history(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_tools_history_legacy"))
    instrument_anthropic(instrument)
    history = [
        {"role": "user", "content": "What is the weather and current time in San Francisco?"},
        {"role": "assistant", "content": [
            {"type": "text", "text": "I'll help you get the weather and current time in San Francisco."},
            {"id": "call_1", "type": "tool_use", "name": "get_weather", "input": {"location": "San Francisco, CA"}}]},
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": "call_1", "content": "Sunny and 65 degrees Fahrenheit"},
            {"type": "tool_result", "tool_use_id": "call_0", "is_error": True,
             "content": [{"type": "text", "text": "timeout"}, {"type": "text", "text": "retry later"}]}]},
    ]

    result = anthropic_client().messages.create(model="claude-3-5-haiku-20241022", max_tokens=1024,
                                                tools=[WEATHER_TOOL], messages=history)

    span = chat_span(otel)
    assert content(span, INPUT) == [
        user("What is the weather and current time in San Francisco?"),
        {"role": "assistant", "parts": [
            text_part("I'll help you get the weather and current time in San Francisco."),
            tool_call("call_1", "get_weather", {"location": "San Francisco, CA"})]},
        {"role": "user", "parts": [
            {"type": "tool_call_response", "id": "call_1", "response": "Sunny and 65 degrees Fahrenheit"},
            {"type": "tool_call_response", "id": "call_0", "response": ["timeout", "retry later"]}]},
    ]
    assert parts(span, OUTPUT) == [tool_call(result.content[0].id, "get_time", {"timezone": "America/Los_Angeles"})]


def test_thinking_blocks(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_captures_thinking_content"))
    instrument_anthropic(instrument)

    result = anthropic_client().messages.create(
        model=MODEL, max_tokens=16000, thinking={"type": "enabled", "budget_tokens": 10000},
        messages=[{"role": "user", "content": "What is 17*19? Think first."}])

    span = chat_span(otel)
    thinking, text = result.content
    assert parts(span, OUTPUT) == [{"type": "reasoning", "content": thinking.thinking}, text_part(text.text)]
    assert "323" in thinking.thinking and "signature" not in span.attributes[OUTPUT]
    assert span.attributes["anthropic.thinking.budget_tokens"] == 10000
    assert "gen_ai.request.reasoning.level" not in span.attributes  # a budget is not a level


def test_prompt_cache_usage(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_prompt_caching_legacy"))
    instrument_anthropic(instrument)
    client = anthropic_client()

    results = [client.messages.create(model="claude-3-5-sonnet-20240620", max_tokens=1024, messages=HELLO)
               for _ in range(2)]

    for result, span in zip(results, otel.spans(), strict=True):
        usage = result.usage
        # input_tokens excludes the cache; the conventions' input count includes reads and writes.
        assert span.attributes["gen_ai.usage.input_tokens"] == (
            usage.input_tokens + usage.cache_read_input_tokens + usage.cache_creation_input_tokens)
        assert span.attributes["gen_ai.usage.cache_read.input_tokens"] == usage.cache_read_input_tokens
        assert span.attributes["gen_ai.usage.cache_write.input_tokens"] == usage.cache_creation_input_tokens
    first, second = (r.usage for r in results)
    assert first.cache_creation_input_tokens > 0 and second.cache_read_input_tokens > 0


@pytest.mark.parametrize(("stop_reason", "expected"), [
    ("end_turn", "stop"), ("stop_sequence", "stop"), ("max_tokens", "length"), ("tool_use", "tool_call"),
    ("refusal", "content_filter"), ("model_context_window_exceeded", "length"), ("pause_turn", "pause_turn"),
    (None, "error"),
])
def test_finish_reasons(stop_reason: str | None, expected: str, replay: Any, otel: Any, instrument: Any,
                        anthropic_client: Any) -> None:
    replay.add("POST", "/v1/messages", body=message_body(stop_reason=stop_reason))
    instrument_anthropic(instrument)

    anthropic_client().messages.create(model=MODEL, max_tokens=10, messages=HELLO)

    span = chat_span(otel)
    assert span.attributes["gen_ai.response.finish_reasons"] == (expected,)
    assert content(span, OUTPUT)[0]["finish_reason"] == expected


def test_images_and_documents(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.add("POST", "/v1/messages", body=message_body({"type": "text", "text": "A cat and a report."}))
    instrument_anthropic(instrument)
    pixel = PIXEL

    anthropic_client().messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": pixel}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Q3 revenue rose."}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/report.pdf"}},
        {"type": "text", "text": "Describe both."},
    ]}])

    assert parts(chat_span(otel), INPUT) == [
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": pixel},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.jpg"},
        {"type": "file", "modality": "image", "file_id": "file_011CNha8iCJcU1wXNR6q4V8w"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": "JVBERi0xLjQK"},
        {"type": "blob", "modality": "document", "mime_type": "text/plain", "content": "UTMgcmV2ZW51ZSByb3NlLg=="},
        {"type": "uri", "modality": "document", "uri": "https://example.com/report.pdf"},
        text_part("Describe both."),
    ]


class Joke(pydantic.BaseModel):
    joke: str
    rating: int


@ASYNC
def test_parse(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_structured_outputs_legacy"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        return await aw(client.messages.parse(model=MODEL, max_tokens=1024, output_format=Joke,
                                              messages=[{"role": "user", "content": "Tell me a joke"}]))

    result = run(anthropic_client, is_async, scenario)

    assert isinstance(result.parsed_output, Joke) and result.parsed_output.rating == 7
    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.response.id"] == result.id
    assert parts(span, OUTPUT) == [text_part(result.content[0].text)]
    assert replay.last_request.json["output_config"]["format"]["type"] == "json_schema"


@ASYNC
@pytest.mark.parametrize("kind", ["with_raw_response", "with_streaming_response"])
def test_raw_responses(kind: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                       anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_basic"))
    instrument_anthropic(instrument)
    ended_before_parse: list[bool] = []

    async def scenario(client: Any) -> Any:
        call = getattr(client.messages, kind).create(model=MODEL, max_tokens=100, messages=HELLO)
        if kind == "with_raw_response":
            raw = await aw(call)
            ended_before_parse.append(len(otel.spans()) == 1)  # the body was read: recorded at once
            return raw.request_id, await aw(raw.parse())
        if is_async:
            async with call as raw:
                return raw.request_id, await raw.parse()
        with call as raw:
            return raw.request_id, raw.parse()

    request_id, message = run(anthropic_client, is_async, scenario)

    assert request_id == "req_011CYfQM6TP1iFTVWNrJQJcn" and message.content[0].text == "Hello!"
    assert ended_before_parse == ([True] if kind == "with_raw_response" else [])
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.id"] == message.id
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert parts(span, OUTPUT) == [text_part("Hello!")]


@ASYNC
def test_streaming_response_never_parsed(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                         anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_basic"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        async with opened(client.messages.with_streaming_response.create(model=MODEL, max_tokens=100,
                                                                         messages=HELLO)) as raw:
            return raw.status_code, len(otel.spans())

    assert run(anthropic_client, is_async, scenario) == (200, 0)
    span = chat_span(otel)  # ended when the block closed the unread response
    assert "gen_ai.response.id" not in span.attributes and span.status.status_code == StatusCode.UNSET


def test_no_content_by_default(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("ddtrace__anthropic_completion_multi_system_prompt"))
    instrument_anthropic(instrument, capture_content=None)

    anthropic_client().messages.create(model="m", max_tokens=15, system="caps", messages=HELLO, tools=[WEATHER_TOOL])

    span = chat_span(otel)
    assert_no_content(span.attributes)
    assert span.attributes["gen_ai.response.finish_reasons"] == ("length",)


def test_image_read_from_a_path(replay: Any, otel: Any, instrument: Any, anthropic_client: Any, tmp_path: Any) -> None:
    """The SDK takes a path (or a binary file) as base64 `data` and encodes it itself; the image is not
    lost from the recorded input, nor read a second time: its file URI is recorded."""
    replay.add("POST", "/v1/messages", body=message_body({"type": "text", "text": "A dot."}))
    instrument_anthropic(instrument)
    picture = tmp_path / "dot.png"
    picture.write_bytes(base64.b64decode(PIXEL))

    anthropic_client().messages.create(model=MODEL, max_tokens=100, messages=[{"role": "user", "content": [
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": picture}},
        {"type": "text", "text": "Describe it."},
    ]}])

    sent = replay.last_request.json["messages"][0]["content"][0]["source"]
    assert sent == {"type": "base64", "media_type": "image/png", "data": PIXEL}
    assert parts(chat_span(otel), INPUT) == [
        {"type": "uri", "modality": "image", "mime_type": "image/png", "uri": picture.as_uri()},
        text_part("Describe it."),
    ]
