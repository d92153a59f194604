"""Errors: API status errors (529 OverloadedError included), retries, errors inside a stream, and
the SDK's exception reaching the caller as the very same object."""

from __future__ import annotations

import asyncio
from typing import Any

import anthropic
import httpx2
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    DURATION,
    HELLO,
    MODEL,
    OUTPUT,
    TOKENS,
    aw,
    cassette,
    chat_span,
    create,
    drain,
    instrument_anthropic,
    one_point,
    parts,
    points,
    run,
    sse_events,
    text_deltas,
    text_part,
)

TOOL_TURN = [{"role": "user", "content": "What is the result of 1,984,135 * 9,343,116?"}]


def _failed_span(otel: Any, error_type: str, exc: BaseException) -> Any:
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR and span.status.description == str(exc)
    assert span.attributes["error.type"] == error_type
    (event,) = span.events
    assert (event.name, event.attributes["exception.type"]) == ("exception", f"anthropic.{type(exc).__name__}")
    # Nothing came back: no response or usage attributes, and no output messages.
    assert not any(k.startswith(("gen_ai.response.", "gen_ai.usage.")) for k in span.attributes)
    assert OUTPUT not in span.attributes
    return span


@ASYNC
@pytest.mark.parametrize(("name", "exc_type", "status"), [
    ("otel-contrib__test_sync_messages_create_api_error", anthropic.NotFoundError, 404),
    ("ddtrace__anthropic_completion_error", anthropic.BadRequestError, 400),
    ("ddtrace__anthropic_completion_invalid_api_key", anthropic.AuthenticationError, 401),
], ids=["404", "400", "401"])
def test_status_errors(name: str, exc_type: type[Exception], status: int, is_async: bool, replay: Any, otel: Any,
                       instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette(name))
    instrument_anthropic(instrument)

    with pytest.raises(exc_type) as caught:
        run(anthropic_client, is_async, create(model="claude-3-opus-20240229", max_tokens=15, messages=HELLO))

    assert caught.value.status_code == status
    error_type = f"anthropic.{exc_type.__name__}"
    span = _failed_span(otel, error_type, caught.value)
    assert span.name == "chat claude-3-opus-20240229"
    assert one_point(otel, DURATION, {"error.type": error_type}).count == 1
    assert points(otel, TOKENS) == []


def test_rate_limited_then_overloaded_then_answered(replay: Any, otel: Any, instrument: Any,
                                                    anthropic_client: Any) -> None:
    # One recording: 429 rate_limit_error, 529 overloaded_error, then 200. With retries off, three calls.
    replay.load_cassette(cassette("ddtrace__anthropic_completion_tools_part_2"))
    instrument_anthropic(instrument)
    client = anthropic_client()
    call = {"model": "claude-3-opus-20240229", "max_tokens": 500, "messages": TOOL_TURN}

    with pytest.raises(anthropic.RateLimitError) as rate_limited:
        client.messages.create(**call)
    with pytest.raises(anthropic.OverloadedError) as overloaded:
        client.messages.create(**call)
    answer = client.messages.create(**call)

    assert overloaded.value.status_code == 529 and overloaded.value.type == "overloaded_error"
    assert overloaded.value.request_id == "req_01PTvVW3st1XAwA3EymUCdq9"
    spans = otel.spans()
    assert [s.attributes.get("error.type") for s in spans] == [
        "anthropic.RateLimitError", "anthropic.OverloadedError", None]
    assert spans[1].status.description == str(overloaded.value)
    assert str(rate_limited.value) == spans[0].status.description
    assert spans[2].attributes["gen_ai.response.id"] == answer.id
    assert parts(spans[2], OUTPUT) == [text_part("Therefore, the result of 1,984,135 * 9,343,116 is 18538003464660.")]


@ASYNC
def test_retries_are_one_span(is_async: bool, replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    recording = replay.load_cassette(cassette("ddtrace__anthropic_completion_tools_part_2"))
    for response in recording.responses[:2]:  # retry at once rather than after the recorded 7 s
        response.headers = [(k, v) for k, v in response.headers if k.lower() != "retry-after"]
        response.headers.append(("retry-after-ms", "1"))
    instrument_anthropic(instrument)

    result = run(anthropic_client, is_async, create(model="claude-3-opus-20240229", max_tokens=500,
                                                    messages=TOOL_TURN), max_retries=2)

    assert len(replay.requests) == 3
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.id"] == result.id == "msg_01EqGsNWHbbSBZfrypiz9rfC"


def test_beta_server_error(replay: Any, otel: Any, instrument: Any, anthropic_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_anthropic_structured_outputs_with_events_with_no_content"))
    instrument_anthropic(instrument)

    with pytest.raises(anthropic.InternalServerError) as caught:
        anthropic_client().beta.messages.create(model=MODEL, max_tokens=64, messages=HELLO)

    assert caught.value.status_code == 500
    _failed_span(otel, "anthropic.InternalServerError", caught.value)


@ASYNC
def test_streaming_request_rejected(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                    anthropic_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_sync_messages_stream_api_error"))
    instrument_anthropic(instrument)

    with pytest.raises(anthropic.NotFoundError) as caught:
        run(anthropic_client, is_async, create(model="invalid-model-name", max_tokens=100, messages=HELLO,
                                               stream=True))

    span = _failed_span(otel, "anthropic.NotFoundError", caught.value)
    assert span.attributes["gen_ai.request.stream"] is True


@ASYNC
def test_error_event_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                anthropic_client: Any) -> None:
    # An overload can arrive as an SSE `error` event after a 200 and some output.
    events: list[Any] = sse_events(*text_deltas("Partial", " answer"), stop_reason=None, stop=False)
    events.append({"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}})
    replay.add_sse("/v1/messages", events, event_names="type")
    instrument_anthropic(instrument)

    with pytest.raises(anthropic.APIStatusError) as caught:
        run(anthropic_client, is_async, create(model=MODEL, max_tokens=64, messages=HELLO, stream=True))

    assert "overloaded_error" in str(caught.value)
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == f"anthropic.{type(caught.value).__name__}"
    # What arrived before the error is kept.
    assert span.attributes["gen_ai.response.id"] == "msg_01XFDUDYJgAACzvnptvVoYEL"
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)
    assert parts(span, OUTPUT) == [text_part("Partial answer")]


class _Unreachable(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Raises the SDK's own connection error instead of sending; remembers the object it raised."""

    def __init__(self) -> None:
        self.raised: list[BaseException] = []

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        self.raised.append(anthropic.APIConnectionError(request=request))
        raise self.raised[-1]

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        return self.handle_request(request)


@ASYNC
@pytest.mark.parametrize("surface", ["create", "stream"])
def test_sdk_exception_is_the_same_object(surface: str, is_async: bool, otel: Any, instrument: Any) -> None:
    instrument_anthropic(instrument)
    transport = _Unreachable()

    async def main() -> None:
        http = (httpx2.AsyncClient if is_async else httpx2.Client)(transport=transport)
        client = (anthropic.AsyncAnthropic if is_async else anthropic.Anthropic)(
            api_key="k", max_retries=0, http_client=http)  # the default base URL: https://api.anthropic.com
        try:
            if surface == "create":
                await aw(client.messages.create(model=MODEL, max_tokens=8, messages=HELLO))
            elif is_async:
                async with client.messages.stream(model=MODEL, max_tokens=8, messages=HELLO) as stream:
                    await drain(stream)
            else:
                with client.messages.stream(model=MODEL, max_tokens=8, messages=HELLO) as stream:
                    await drain(stream)
        finally:
            await aw(client.close())

    with pytest.raises(anthropic.APIConnectionError) as caught:
        asyncio.run(main())

    assert caught.value is transport.raised[0]
    span = chat_span(otel)
    assert span.attributes["error.type"] == "anthropic.APIConnectionError"
    assert (span.attributes["server.address"], span.attributes["server.port"]) == ("api.anthropic.com", 443)
