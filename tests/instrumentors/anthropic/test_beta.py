"""client.beta.messages: create (plain and stream=True), stream() and parse, on the beta resource classes.

Recent SDKs no longer add ?beta=true to the path; the replay server ignores queries either way.
"""

from __future__ import annotations

from typing import Any

import anthropic
import pydantic
import pytest
from anthropic.types.beta import BetaMessage

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    HELLO,
    OUTPUT,
    TOOLS,
    aw,
    cassette,
    chat_span,
    content,
    drain,
    instrument_anthropic,
    opened,
    parts,
    run,
    text_part,
    tool_call,
)

TOOL_SEARCH = [
    {"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
    {"name": "get_weather", "description": "Get the weather for a specific location",
     "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}}, "defer_loading": True},
]
BETAS = ["advanced-tool-use-2025-11-20"]


@ASYNC
def test_server_tool_use(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("ddtrace__anthropic_completion_tools_server_tool_use"))
    instrument_anthropic(instrument)

    async def scenario(client: Any) -> Any:
        return await aw(client.beta.messages.create(
            model="claude-sonnet-4-6", max_tokens=200, tools=TOOL_SEARCH, betas=BETAS,
            messages=[{"role": "user", "content": "What is the weather in San Francisco, CA?"}]))

    result = run(anthropic_client, is_async, scenario)

    assert type(result) is BetaMessage
    assert replay.last_request.headers["anthropic-beta"] == BETAS[0]
    span = chat_span(otel)
    assert span.name == "chat claude-sonnet-4-6"
    assert parts(span, OUTPUT) == [
        text_part("Let me search for a weather tool to help answer your question!"),
        {"type": "server_tool_call", "id": "srvtoolu_01YBjcsxNhiKh8MPSRLFpXSk", "name": "tool_search_tool_regex",
         "server_tool_call": {"type": "tool_search_tool_regex", "input": {"pattern": "weather"}}},
        {"type": "server_tool_call_response", "id": "srvtoolu_01YBjcsxNhiKh8MPSRLFpXSk",
         "server_tool_call_response": {"type": "tool_search_tool_result", "content": {
             "type": "tool_search_tool_search_result",
             "tool_references": [{"type": "tool_reference", "tool_name": "get_weather"}]}}},
        text_part("I found a weather tool! Let me fetch the current weather for San Francisco, CA."),
        tool_call("toolu_013vNgEGWuTc17pHztigU6j2", "get_weather", {"location": "San Francisco, CA"}),
    ]
    assert content(span, TOOLS) == [{"type": "tool_search_tool_regex_20251119", "name": "tool_search_tool_regex"},
                                    {"type": "function", "name": "get_weather"}]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (1595, 146)


JOKE = "Why did the developer break up with OpenTelemetry? Because they had too many traces of their ex in the logs!"
JOKE_SCHEMA = {"type": "json_schema", "schema": {
    "type": "object", "properties": {"joke": {"type": "string"}, "rating": {"type": "integer"}},
    "required": ["joke", "rating"], "additionalProperties": False}}


class Joke(pydantic.BaseModel):
    joke: str
    rating: int


@ASYNC
@pytest.mark.parametrize("method", ["create", "parse"])
def test_structured_output(method: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                           anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_structured_outputs_legacy"))
    instrument_anthropic(instrument)
    request = {"model": "claude-sonnet-4-20250514", "max_tokens": 1024, "betas": ["structured-outputs-2025-11-13"],
               "messages": [{"role": "user", "content": "Tell me a joke about OpenTelemetry and rate it from 1 to 10"}]}

    async def scenario(client: Any) -> Any:
        if method == "parse":
            return await aw(client.beta.messages.parse(output_format=Joke, **request))
        return await aw(client.beta.messages.create(output_config={"format": JOKE_SCHEMA}, **request))

    result = run(anthropic_client, is_async, scenario)

    if method == "parse":
        assert result.parsed_output == Joke(joke=JOKE, rating=7)
    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert parts(span, OUTPUT) == [text_part(result.content[0].text)]
    assert span.attributes["gen_ai.usage.input_tokens"] == 222


STREAM_JOKE = "Why did the developer love OpenTelemetry? Because it helped them trace their bugs"


@ASYNC
@pytest.mark.parametrize("surface", ["stream_helper", "create_stream"])
def test_streams(surface: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                 anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_async_anthropic_beta_message_stream_manager_legacy"))
    instrument_anthropic(instrument)
    request = {"model": "claude-3-5-haiku-20241022", "max_tokens": 1024, "betas": ["interleaved-thinking-2025-05-14"],
               "messages": [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]}

    async def scenario(client: Any) -> Any:
        if surface == "stream_helper":
            async with opened(client.beta.messages.stream(**request)) as stream:
                return "".join(await drain(stream.text_stream))
        stream = await aw(client.beta.messages.create(stream=True, **request))
        assert isinstance(stream, (anthropic.Stream, anthropic.AsyncStream))
        events = await drain(stream)
        return "".join(e.delta.text for e in events if e.type == "content_block_delta")

    text = run(anthropic_client, is_async, scenario)

    assert text.startswith(STREAM_JOKE)
    span = chat_span(otel)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.id"] == "msg_01BetaStreamTest1234567"
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part(text)], "finish_reason": "stop"}]
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (17, 20)


def test_beta_with_raw_response(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_create_basic"))
    instrument_anthropic(instrument)

    raw = anthropic_client().beta.messages.with_raw_response.create(model="claude-sonnet-4-20250514",
                                                                     max_tokens=100, messages=HELLO)

    assert type(raw.parse()) is BetaMessage
    assert parts(chat_span(otel), OUTPUT) == [text_part("Hello!")]
