"""chat.completions through with_raw_response, with_streaming_response and the AzureOpenAI client."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import openai
import pytest
from openai._legacy_response import LegacyAPIResponse
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import (
    DURATION,
    IDS,
    IS_ASYNC,
    SAY_TEST,
    aw,
    cassette,
    chat_span,
    content,
    create,
    one_point,
    opened,
    run,
    span_attributes,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
WITH_CONTENT = cassette("otel-contrib__test_chat_completion_with_content")


@ASYNC
def test_with_raw_response(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()

    async def scenario(client: Any) -> Any:
        raw = await aw(client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=SAY_TEST))
        # The body was read by the SDK already: the span is complete before the caller parses.
        spans_before_parse = otel.spans()
        return raw, spans_before_parse, raw.parse(), raw.parse()

    raw, spans_before_parse, parsed, parsed_again = run(openai_client, is_async, scenario)

    assert type(raw) is LegacyAPIResponse  # handed back untouched
    assert raw.http_response.status_code == 200 and raw.headers["openai-organization"] == "test-org"
    assert type(parsed) is openai.types.chat.ChatCompletion and parsed is parsed_again
    assert parsed.choices[0].message.content == "This is a test."
    assert replay.last_request.headers["x-stainless-raw-response"] == "true"
    assert len(spans_before_parse) == 1
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert attrs["gen_ai.response.id"] == parsed.id
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.usage.output_tokens"]) == (12, 5)
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]
    assert content(span, "gen_ai.output.messages")[0]["parts"] == [{"type": "text", "content": "This is a test."}]


@ASYNC
def test_with_streaming_response_parsed(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                        openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=SAY_TEST)
        async with opened(manager) as response:
            assert otel.spans() == []  # the body is not read yet: the call is still going on
            assert response.headers["content-type"] == "application/json"
            parsed = await aw(response.parse())
            return parsed, otel.spans()

    parsed, spans_inside = run(openai_client, is_async, scenario)

    assert type(parsed) is openai.types.chat.ChatCompletion
    assert len(spans_inside) == 1  # finished by parse(), inside the `with`
    assert replay.last_request.headers["x-stainless-raw-response"] == "stream"
    span = chat_span(otel)
    assert span.attributes["gen_ai.response.id"] == parsed.id
    assert span.attributes["gen_ai.usage.output_tokens"] == 5
    assert span.status.status_code == StatusCode.UNSET


@ASYNC
def test_with_streaming_response_never_parsed(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                              openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=SAY_TEST)
        async with opened(manager) as response:
            status = response.status_code
        return status, response, otel.spans()

    status, _response, spans_after_with = run(openai_client, is_async, scenario)

    assert status == 200
    assert len(spans_after_with) == 1  # ended by leaving the `with`, while `response` is still referenced
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET
    assert "gen_ai.response.id" not in span.attributes  # nothing was read, so nothing is made up
    assert one_point(otel, DURATION).count == 1


@pytest.fixture
def azure_client(replay: Any) -> Iterator[Any]:
    sync_clients: list[Any] = []

    def make(is_async: bool, **kw: Any) -> Any:
        cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
        client = cls(azure_endpoint=replay.url(""), api_version="2024-06-01", api_key="azure-key", max_retries=0,
                     **kw)
        if not is_async:
            sync_clients.append(client)
        return client

    yield make
    for client in sync_clients:
        client.close()


AZURE_RESPONSE = {
    "id": "chatcmpl-azure1", "object": "chat.completion", "created": 1731368630, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hi from Azure"},
                 "content_filter_results": {"hate": {"filtered": False, "severity": "safe"}}}],
    "prompt_filter_results": [{"prompt_index": 0, "content_filter_results": {}}],
    "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    "system_fingerprint": "fp_azure",
}


@ASYNC
def test_azure_openai(is_async: bool, replay: Any, otel: Any, instrument: Any, azure_client: Any) -> None:
    replay.add("POST", "/openai/deployments/my-gpt-4o/chat/completions", body=AZURE_RESPONSE)
    instrument()

    result = run(azure_client, is_async, create(model="my-gpt-4o", messages=SAY_TEST))

    assert result.choices[0].message.content == "Hi from Azure"
    request = replay.last_request
    assert request.path == "/openai/deployments/my-gpt-4o/chat/completions"  # the deployment route of Azure
    assert request.params == {"api-version": "2024-06-01"} and request.headers["api-key"] == "azure-key"
    span = chat_span(otel)
    assert span.name == "chat my-gpt-4o"
    assert span_attributes(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "azure.ai.openai",
        "gen_ai.request.model": "my-gpt-4o",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "chat_completions",
        "gen_ai.response.id": "chatcmpl-azure1",
        "gen_ai.response.model": "gpt-4o-2024-08-06",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": 9,
        "gen_ai.usage.output_tokens": 4,
        "openai.response.system_fingerprint": "fp_azure",
        "gen_ai.input.messages": span.attributes["gen_ai.input.messages"],
        "gen_ai.output.messages": span.attributes["gen_ai.output.messages"],
    }
    assert one_point(otel, DURATION).attributes["gen_ai.provider.name"] == "azure.ai.openai"


def test_module_level_client(replay: Any, otel: Any, instrument: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()
    monkeypatch.setattr(openai, "api_key", "module-key")
    monkeypatch.setattr(openai, "base_url", replay.url("/v1") + "/")
    monkeypatch.setattr(openai, "max_retries", 0)
    openai._reset_client()
    try:
        result = openai.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)
    finally:
        openai._reset_client()

    assert replay.last_request.headers["authorization"] == "Bearer module-key"
    assert chat_span(otel).attributes["gen_ai.response.id"] == result.id


def test_beta_chat_parse_is_the_same_surface(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("edot-python__test_parse_response_format_json_object_with_capture_message_content"))
    instrument()

    result = openai_client().beta.chat.completions.parse(model="gpt-4o-mini", messages=SAY_TEST,
                                                         response_format={"type": "json_object"})

    span = chat_span(otel)
    assert span.attributes["gen_ai.output.type"] == "json"
    assert span.attributes["gen_ai.response.id"] == result.id
