"""Legacy text completions through the real openai client: plain, streamed, errors."""

from __future__ import annotations

from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import IDS, IS_ASYNC, chat_span, content, run, sdk_call, span_attributes

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
PROMPT = "Tell me a joke about opentelemetry"


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "content": text}


@ASYNC
def test_completion(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_completion.yaml")
    instrument()

    result = run(openai_client, is_async, sdk_call(
        "completions.create", model="davinci-002", prompt=PROMPT, max_tokens=16, temperature=0.5, top_p=0.9,
        stop=["\n\n"], seed=7, n=1))

    assert result.choices[0].text == "-go library\nS-dmssea 2020-08-13: How"
    span = chat_span(otel)
    assert span.name == "text_completion davinci-002"
    assert span.status.status_code == StatusCode.UNSET
    attrs = span_attributes(span)
    assert attrs == {
        "gen_ai.operation.name": "text_completion",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": "davinci-002",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "gen_ai.request.max_tokens": 16,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.stop_sequences": ["\n\n"],
        "gen_ai.request.seed": 7,
        "gen_ai.response.id": "cmpl-8wq42D1Socatcl1rCmgYZOFX7dFZw",
        "gen_ai.response.model": "davinci-002",
        "gen_ai.response.finish_reasons": ["length"],
        "gen_ai.usage.input_tokens": 8,
        "gen_ai.usage.output_tokens": 16,
        "gen_ai.input.messages": attrs["gen_ai.input.messages"],
        "gen_ai.output.messages": attrs["gen_ai.output.messages"],
    }
    assert content(span, "gen_ai.input.messages") == [{"role": "user", "parts": [_text(PROMPT)]}]
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text(result.choices[0].text)], "finish_reason": "length"}]


def test_several_prompts_and_choices(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    choices = [{"index": i, "text": f"answer {i}", "finish_reason": reason, "logprobs": None}
               for i, reason in enumerate(["stop", "length", "content_filter"])]
    replay.add("POST", "/v1/completions", body={"id": "cmpl-1", "object": "text_completion", "created": 1,
                                                "model": "gpt-3.5-turbo-instruct", "choices": choices})
    instrument()

    result = openai_client().completions.create(model="gpt-3.5-turbo-instruct", prompt=["a", "b", "c"], n=1)

    span = chat_span(otel)
    assert [c.text for c in result.choices] == ["answer 0", "answer 1", "answer 2"]
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop", "length", "content_filter")
    assert "gen_ai.usage.input_tokens" not in span.attributes  # no usage in the response
    assert content(span, "gen_ai.input.messages") == [{"role": "user", "parts": [_text(p)]} for p in "abc"]
    assert [m["parts"] for m in content(span, "gen_ai.output.messages")] == [[_text(c["text"])] for c in choices]



def test_a_choice_whose_text_is_not_a_string(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    # Some compatible servers send a number where the text belongs: the output stays valid.
    choices = [{"index": 0, "text": 7, "finish_reason": "stop", "logprobs": None},
               {"index": 1, "text": "fine", "finish_reason": "stop", "logprobs": None}]
    replay.add("POST", "/v1/completions", body={"id": "cmpl-2", "object": "text_completion", "created": 1,
                                                "model": "gpt-3.5-turbo-instruct", "choices": choices})
    instrument()

    result = openai_client().completions.create(model="gpt-3.5-turbo-instruct", prompt="a", n=2)

    assert [c.text for c in result.choices] == [7, "fine"]
    assert [m["parts"] for m in content(chat_span(otel), "gen_ai.output.messages")] == [[_text("")], [_text("fine")]]

@ASYNC
def test_streaming(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_async_completion_streaming.yaml")
    instrument()

    chunks = run(openai_client, is_async, sdk_call("completions.create", model="davinci-002", prompt=PROMPT,
                                                   stream=True))

    text = "".join(chunk.choices[0].text for chunk in chunks)
    assert text.startswith(" that isn\u2019t about collecting logs") and chunks[-1].choices[0].finish_reason == "length"
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs["gen_ai.request.stream"] is True
    assert 0 < attrs["gen_ai.response.time_to_first_chunk"] < 5
    assert (attrs["gen_ai.response.id"], attrs["gen_ai.response.model"]) == ("cmpl-8wq44uFYuGm6kNe44ntRwluggKZFY",
                                                                             "davinci-002")
    assert attrs["gen_ai.response.finish_reasons"] == ["length"]
    assert "gen_ai.usage.input_tokens" not in attrs  # stream_options.include_usage was not asked for
    assert content(span, "gen_ai.output.messages") == [
        {"role": "assistant", "parts": [_text(text)], "finish_reason": "length"}]
    assert len(otel.metrics()["gen_ai.client.operation.time_to_first_chunk"]) == 1


def _chunk(choices: list[Any], usage: Any = None) -> dict[str, Any]:
    return {"id": "cmpl-9", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct",
            "choices": choices, "usage": usage}


@ASYNC
def test_streaming_with_usage_and_two_choices(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                              openai_client: Any) -> None:
    replay.add_sse("/v1/completions", [
        _chunk([{"index": 1, "text": "B", "finish_reason": None, "logprobs": None}]),
        _chunk([{"index": 0, "text": "A", "finish_reason": None, "logprobs": None}]),
        _chunk([{"index": 0, "text": "!", "finish_reason": "stop", "logprobs": None}]),
        _chunk([{"index": 1, "text": "?", "finish_reason": "length", "logprobs": None}]),
        _chunk([], {"prompt_tokens": 5, "completion_tokens": 4, "total_tokens": 9}),
    ])
    instrument()

    chunks = run(openai_client, is_async, sdk_call("completions.create", model="gpt-3.5-turbo-instruct", prompt="p",
                                                   n=2, stream=True, stream_options={"include_usage": True}))

    assert len(chunks) == 5 and chunks[-1].usage.total_tokens == 9
    span = chat_span(otel)
    assert span.attributes["gen_ai.request.choice.count"] == 2
    assert span.attributes["gen_ai.response.finish_reasons"] == ("stop", "length")
    assert (span.attributes["gen_ai.usage.input_tokens"], span.attributes["gen_ai.usage.output_tokens"]) == (5, 4)
    assert [m["parts"] for m in content(span, "gen_ai.output.messages")] == [[_text("A!")], [_text("B?")]]


def test_stream_with_a_leading_prompt_filter_chunk(replay: Any, otel: Any, instrument: Any,
                                                   openai_client: Any) -> None:
    # Azure OpenAI opens a stream with a content-filter chunk that has an empty id and model.
    replay.add_sse("/v1/completions", [
        {"id": "", "object": "", "created": 0, "model": "", "choices": [],
         "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}]},
        _chunk([{"index": 0, "text": "A", "finish_reason": "stop", "logprobs": None}]),
    ])
    instrument()

    run(openai_client, False, sdk_call("completions.create", model="gpt-35-turbo-instruct", prompt=PROMPT,
                                       stream=True))

    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.response.id"], attrs["gen_ai.response.model"]) == ("cmpl-9", "gpt-3.5-turbo-instruct")


@ASYNC
def test_stream_wrong_api_key(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/ddtrace__completion_stream_wrong_api_key.yaml")
    instrument()

    with pytest.raises(openai.AuthenticationError) as caught:
        run(openai_client, is_async, sdk_call("completions.create", model="text-curie-001",
                                              prompt="how does openai tokenize prompts?", max_tokens=150, n=1,
                                              stream=True, temperature=0.8))

    assert caught.value.status_code == 401 and caught.value.code == "invalid_api_key"
    span = otel.span()
    assert span.name == "text_completion text-curie-001"
    assert span.status.status_code == StatusCode.ERROR
    attrs = span_attributes(span)
    assert attrs["error.type"] == "openai.AuthenticationError"
    assert (attrs["gen_ai.request.stream"], attrs["gen_ai.request.max_tokens"]) == (True, 150)
    assert attrs["gen_ai.request.temperature"] == 0.8
    assert "gen_ai.response.time_to_first_chunk" not in attrs and "gen_ai.output.messages" not in attrs


def test_stream_closed_early(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette("openai/openllmetry__test_async_completion_streaming.yaml")
    instrument()

    with openai_client().completions.create(model="davinci-002", prompt=PROMPT, stream=True) as stream:
        first = next(stream)
        assert otel.spans() == []

    span = chat_span(otel)
    assert first.choices[0].text == " that"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert content(span, "gen_ai.output.messages")[0]["parts"] == [_text(" that")]
