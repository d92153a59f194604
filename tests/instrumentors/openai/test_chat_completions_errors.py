"""chat.completions.create failures: HTTP errors, retries, connection errors, timeouts."""

from __future__ import annotations

import socket
import traceback
from typing import Any

import openai
import pytest
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import (
    DURATION,
    IDS,
    IS_ASYNC,
    OUTPUT,
    SAY_TEST,
    TOKENS,
    aw,
    cassette,
    chat_span,
    content,
    create,
    one_point,
    points,
    run,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
RATE_LIMITED = {"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "requests",
                          "param": None, "code": "rate_limit_exceeded"}}


def _load_404(replay: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_404"))


def _load_401(replay: Any) -> None:
    replay.load_cassette(cassette("ddtrace__chat_completion_error"))


def _load_429(replay: Any) -> None:
    replay.add("POST", "/v1/chat/completions", status=429, body=RATE_LIMITED, headers={"x-request-id": "req_429"})


@ASYNC
@pytest.mark.parametrize("load, model, exc_type, status", [
    (_load_404, "this-model-does-not-exist", openai.NotFoundError, 404),
    (_load_401, "gpt-3.5-turbo", openai.AuthenticationError, 401),
    (_load_429, "gpt-4o-mini", openai.RateLimitError, 429),
], ids=["404", "401", "429"])
def test_http_error(is_async: bool, load: Any, model: str, exc_type: type[openai.APIStatusError], status: int,
                    replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    load(replay)
    instrument()
    raised_by_sdk: list[BaseException] = []

    async def scenario(client: Any) -> Any:
        # Spy on the SDK's own error factory (not on traceglass) to learn which object it raised.
        make_error = client._make_status_error

        def spy(*args: Any, **kwargs: Any) -> Any:
            raised_by_sdk.append(make_error(*args, **kwargs))
            return raised_by_sdk[-1]

        client._make_status_error = spy
        return await aw(client.chat.completions.create(model=model, messages=SAY_TEST, n=2))

    with pytest.raises(exc_type) as caught:
        run(openai_client, is_async, scenario)

    error = caught.value
    assert error is raised_by_sdk[-1] and len(raised_by_sdk) == 1  # the very object the SDK raised
    assert type(error) is exc_type and error.status_code == status
    assert any(frame.name == "scenario" for frame in _frames(error))  # its traceback still reaches the caller
    span = chat_span(otel)
    assert span.name == f"chat {model}"
    assert span.status.status_code == StatusCode.ERROR and span.status.description == str(error)
    attrs = span.attributes
    assert attrs["error.type"] == f"openai.{exc_type.__name__}"
    assert attrs["gen_ai.request.choice.count"] == 2
    assert not {k for k in attrs if k.startswith(("gen_ai.response.", "gen_ai.usage."))}
    assert OUTPUT not in attrs and content(span, "gen_ai.input.messages")  # what was asked is still recorded
    (event,) = span.events
    assert event.name == "exception"
    assert event.attributes["exception.type"] == f"openai.{exc_type.__name__}"
    assert event.attributes["exception.message"] == str(error)
    duration = one_point(otel, DURATION)
    assert duration.count == 1
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": model,
        "server.address": "127.0.0.1", "server.port": replay.port, "error.type": f"openai.{exc_type.__name__}"}
    assert points(otel, TOKENS) == []
    if status == 429:
        assert error.request_id == "req_429" and error.code == "rate_limit_exceeded"


def _frames(error: BaseException) -> list[Any]:
    return list(traceback.extract_tb(error.__traceback__))


@ASYNC
def test_retried_call_is_one_span(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                  openai_client: Any) -> None:
    replay.add("POST", "/v1/chat/completions", status=429, body=RATE_LIMITED, headers={"retry-after-ms": "1"})
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"))
    instrument()

    result = run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST), max_retries=2)

    assert [r.headers["x-stainless-retry-count"] for r in replay.requests] == ["0", "1"]
    span = chat_span(otel)  # one span covers both attempts
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    assert span.attributes["gen_ai.response.id"] == result.id
    assert one_point(otel, DURATION).count == 1


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@ASYNC
def test_connection_refused(is_async: bool, otel: Any, instrument: Any, openai_client: Any) -> None:
    instrument()
    port = _closed_port()

    with pytest.raises(openai.APIConnectionError) as caught:
        run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST),
            base_url=f"http://127.0.0.1:{port}/v1")

    assert type(caught.value) is openai.APIConnectionError
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.APIConnectionError"
    assert span.attributes["server.port"] == port
    assert one_point(otel, DURATION, {"error.type": "openai.APIConnectionError"}).count == 1


@ASYNC
def test_timeout(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(cassette("otel-contrib__test_chat_completion_with_content"), first_chunk_delay=0.5)
    instrument()

    with pytest.raises(openai.APITimeoutError):
        run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST), timeout=0.1)

    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.APITimeoutError"
    assert "gen_ai.response.id" not in span.attributes
