"""Client.chat / AsyncClient.chat, not streamed, through the real ollama client: attributes, content, usage."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import ollama
from opentelemetry.trace import SpanKind, StatusCode
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    DURATION,
    INPUT,
    JOKE,
    OUTPUT,
    PNG,
    TOKENS,
    TOOLS,
    WEATHER_TOOL,
    call,
    cassette,
    chat_span,
    content,
    durations,
    one_point,
    parts,
    points,
    run,
    span_attributes,
    text,
)


def add_two_numbers(a: int, b: int) -> int:
    """
    Add two numbers.

    Args:
      a: The first number.
      b: The second number.

    Returns:
      int: The sum of a and b
    """
    return a + b


@ASYNC
def test_plain_chat(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    name = "openllmetry__test_ollama_async_chat_legacy" if is_async else "openllmetry__test_ollama_chat_legacy"
    recorded = replay.load_cassette(cassette(name))
    body = json.loads(recorded.responses[0].body)
    instrument(OllamaInstrumentor)

    result = run(ollama_client, is_async, call("chat", model="llama3", messages=JOKE))

    # The application's result is the SDK's own, untouched.
    assert type(result) is ollama.ChatResponse
    assert result.message.content == body["message"]["content"]
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == ("chat llama3", SpanKind.CLIENT, StatusCode.UNSET)
    assert span.parent is None and not span.events
    # The async recording has no prompt_eval_count (Ollama omitted it for a cached prompt): no input count.
    usage = {"gen_ai.usage.output_tokens": 79} if is_async else {"gen_ai.usage.input_tokens": 17,
                                                                   "gen_ai.usage.output_tokens": 66}
    assert span_attributes(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "ollama",
        "gen_ai.request.model": "llama3",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.response.model": "llama3",
        "gen_ai.response.finish_reasons": ["stop"],
        **usage,
        **durations(body),
        INPUT: span.attributes[INPUT],
        OUTPUT: span.attributes[OUTPUT],
    }
    assert content(span, INPUT) == [{"role": "user", "parts": [text("Tell me a joke about OpenTelemetry")]}]
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text(result.message.content)],
                                      "finish_reason": "stop"}]
    # Ollama's server timings arrive in nanoseconds and are recorded in seconds.
    assert span.attributes["ollama.total_duration"] == (2.685412125 if is_async else 10.386172208)
    metric_attrs = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "ollama",
                    "gen_ai.request.model": "llama3", "gen_ai.response.model": "llama3",
                    "server.address": "127.0.0.1", "server.port": replay.port}
    duration = one_point(otel, DURATION, metric_attrs)
    assert duration.count == 1 and "error.type" not in duration.attributes
    output = one_point(otel, TOKENS, {"gen_ai.token.type": "output"})
    assert (output.sum, dict(output.attributes)) == (usage["gen_ai.usage.output_tokens"],
                                                     {**metric_attrs, "gen_ai.token.type": "output"})
    assert [p.sum for p in points(otel, TOKENS) if p.attributes["gen_ai.token.type"] == "input"] == \
        ([] if is_async else [17])


@ASYNC
def test_thinking_and_options(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat"))
    instrument(OllamaInstrumentor)
    question = [{"role": "user", "content": "Why is the sky blue? Answer in one sentence."}]

    result = run(ollama_client, is_async, call("chat", model="qwen3.6:latest", messages=question,
                                               options={"temperature": 0, "seed": 42}, think=True))

    span = chat_span(otel)
    attrs = span.attributes
    assert span.name == "chat qwen3.6:latest"
    assert (attrs["gen_ai.request.temperature"], attrs["gen_ai.request.seed"]) == (0.0, 42)
    # think=True turns thinking on; it names no level.
    assert "gen_ai.request.reasoning.level" not in attrs and "gen_ai.output.type" not in attrs
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (21, 369)
    assert parts(span, OUTPUT) == [{"type": "reasoning", "content": result.message.thinking},
                                   text(result.message.content)]
    assert result.message.thinking.startswith("Here's a thinking process")


@ASYNC
def test_tool_call_from_a_tool_dict(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                    ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat_with_tool_call"))
    instrument(OllamaInstrumentor)
    question = [{"role": "user", "content": "What is the weather in Paris? Use the get_current_weather tool."}]

    result = run(ollama_client, is_async, call("chat", model="qwen3.6:latest", messages=question,
                                               tools=[WEATHER_TOOL]))

    assert result.message.tool_calls[0].function.arguments == {"city": "Paris"}
    span = chat_span(otel)
    # Ollama answers done_reason "stop" after a tool call; the conventions say tool_call.
    assert span.attributes["gen_ai.response.finish_reasons"] == ("tool_call",)
    output = content(span, OUTPUT)[0]
    assert output["finish_reason"] == "tool_call"
    # The SDK keeps no tool call id (its ToolCall model has none), so the part has none either.
    assert output["parts"][1:] == [{"type": "tool_call", "name": "get_current_weather",
                                    "arguments": {"city": "Paris"}}]
    assert output["parts"][0]["type"] == "reasoning"
    # Tool definitions: type and name only, by default.
    assert content(span, TOOLS) == [{"type": "function", "name": "get_current_weather"}]


@ASYNC
def test_tool_definitions_whole_when_asked(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                          ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat_with_tool_call"))
    replay.load_cassette(cassette("openinference__test_chat_with_callable_tool"))
    instrument(OllamaInstrumentor, full_tool_definitions=True)

    async def scenario(client: Any) -> list[Any]:
        sent = []
        for tool in (WEATHER_TOOL, add_two_numbers):
            await call("chat", model="qwen3.6:latest", messages=[{"role": "user", "content": "go"}],
                       tools=[tool])(client)
            sent.append(replay.last_request.json["tools"][0])
        return sent

    sent = run(ollama_client, is_async, scenario)

    # A Python function is recorded exactly as the SDK converted it for the request.
    recorded = [content(span, TOOLS)[0] for span in otel.spans()]
    assert recorded == [{"type": "function", **tool["function"]} for tool in sent]
    assert recorded[1]["name"] == "add_two_numbers" and recorded[1]["description"] == "Add two numbers."
    assert recorded[1]["parameters"]["required"] == ["a", "b"]


@ASYNC
def test_callable_tool_names_only_by_default(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                            ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat_with_callable_tool"))
    instrument(OllamaInstrumentor)
    question = [{"role": "user", "content": "What is 2 + 3? Use the add_two_numbers tool."}]

    result = run(ollama_client, is_async, call("chat", model="qwen3.6:latest", messages=question,
                                               tools=[add_two_numbers]))

    assert result.message.tool_calls[0].function.arguments == {"a": 2, "b": 3}
    span = chat_span(otel)
    assert content(span, TOOLS) == [{"type": "function", "name": "add_two_numbers"}]
    assert parts(span, OUTPUT)[-1] == {"type": "tool_call", "name": "add_two_numbers", "arguments": {"a": 2, "b": 3}}


@ASYNC
def test_tool_call_history(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_tool_calls_legacy"))
    instrument(OllamaInstrumentor)
    history = [
        {"role": "assistant", "content": "",
         "tool_calls": [{"function": {"name": "get_current_weather", "arguments": {"location": "San Francisco"}}}]},
        ollama.Message(role="tool", content="The weather in San Francisco is 70 degrees and sunny.",
                       tool_name="get_current_weather"),
    ]

    run(ollama_client, is_async, call("chat", model="llama3.1", messages=history, tools=[]))

    assert content(chat_span(otel), INPUT) == [
        {"role": "assistant", "parts": [{"type": "tool_call", "name": "get_current_weather",
                                         "arguments": {"location": "San Francisco"}}]},
        {"role": "tool", "name": "get_current_weather",
         "parts": [{"type": "tool_call_response",
                    "response": "The weather in San Francisco is 70 degrees and sunny."}]},
    ]


@ASYNC
def test_request_parameters_images_and_positional_arguments(
        is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any, tmp_path: Path) -> None:
    answer = {"model": "llava:7b", "created_at": "2026-08-07T06:08:07Z", "done": True, "done_reason": "length",
              "message": {"role": "assistant", "content": '{"animal": "cat", "col'},
              "prompt_eval_count": 600, "eval_count": 128, "total_duration": 2_500_000_000}
    replay.add("POST", "/api/chat", body=answer)
    instrument(OllamaInstrumentor)
    picture = tmp_path / "cat.png"
    picture.write_bytes(PNG)
    encoded = base64.b64encode(PNG).decode()
    messages = [{"role": "system", "content": "Answer in JSON."},
                {"role": "user", "content": "What is in these pictures?", "images": [PNG, encoded, picture]}]
    options = ollama.Options(temperature=0.2, top_p=0.9, top_k=40, num_predict=128, stop=["\n\n"], seed=7,
                             frequency_penalty=0.5, presence_penalty=0.25)
    schema = {"type": "object", "properties": {"animal": {"type": "string"}}}

    # model and messages positionally, as ollama's own examples do.
    result = run(ollama_client, is_async, call("chat", "llava:7b", messages, options=options, format=schema,
                                               think="low"))

    assert result.message.content == answer["message"]["content"]
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert {key: attrs[key] for key in attrs if key.startswith("gen_ai.request.") or key == "gen_ai.output.type"} == {
        "gen_ai.request.model": "llava:7b",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.top_k": 40,
        "gen_ai.request.max_tokens": 128,
        "gen_ai.request.stop_sequences": ["\n\n"],
        "gen_ai.request.seed": 7,
        "gen_ai.request.frequency_penalty": 0.5,
        "gen_ai.request.presence_penalty": 0.25,
        "gen_ai.request.reasoning.level": "low",
        "gen_ai.output.type": "json",
    }
    assert attrs["gen_ai.response.finish_reasons"] == ["length"]
    assert attrs["ollama.total_duration"] == 2.5
    blob = {"type": "blob", "modality": "image", "mime_type": "image/png", "content": encoded}
    assert content(span, INPUT) == [
        {"role": "system", "parts": [text("Answer in JSON.")]},
        {"role": "user", "parts": [text("What is in these pictures?"), blob, blob,
                                   {"type": "uri", "modality": "image", "uri": picture.as_uri()}]},
    ]
    # What the SDK sent is untouched: three base64 images.
    assert replay.last_request.json["messages"][1]["images"] == [encoded] * 3


def test_one_shot_iterators_still_reach_the_sdk(replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_chat_legacy"))
    instrument(OllamaInstrumentor)
    client = ollama_client()

    client.chat(model="llama3", messages=(m for m in JOKE))  # by keyword: read, and handed on as a list
    client.chat("llama3", (m for m in JOKE))  # positional: cannot be handed on, so it is left unread

    assert [r.json["messages"] for r in replay.requests] == [JOKE, JOKE]
    keyword, positional = otel.spans()
    assert content(keyword, INPUT) == [{"role": "user", "parts": [text(JOKE[0]["content"])]}]
    assert INPUT not in positional.attributes and OUTPUT in positional.attributes
