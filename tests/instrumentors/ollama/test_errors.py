"""Errors reach the caller unchanged (the same object) and fail the span: HTTP errors, errors in a stream,
connection failures, SDK-side validation. Streams send their request lazily, so their errors arrive while
the caller iterates, after chat() has returned."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import ollama
import pytest
from opentelemetry.trace import StatusCode
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import (
    ASYNC,
    DURATION,
    JOKE,
    OUTPUT,
    aw,
    call,
    cassette,
    chat_chunk,
    chat_span,
    content,
    next_item,
    one_point,
    run,
    text,
)

MISSING = "nonexistent-model:latest"


def _assert_failed(otel: Any, exc: BaseException, error_type: str) -> Any:
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == error_type
    [event] = [e for e in span.events if e.name == "exception"]
    assert event.attributes["exception.message"] == str(exc)
    assert one_point(otel, DURATION).attributes["error.type"] == error_type
    return span


@ASYNC
def test_model_not_found(is_async: bool, replay: Any, otel: Any, instrument: Any, ollama_client: Any) -> None:
    replay.load_cassette(cassette("openinference__test_chat_error_records_model_name"))
    instrument(OllamaInstrumentor)

    with pytest.raises(ollama.ResponseError) as caught:
        run(ollama_client, is_async, call("chat", model=MISSING, messages=[{"role": "user", "content": "Why?"}]))

    assert (caught.value.status_code, caught.value.error) == (404, "model 'nonexistent-model:latest' not found")
    span = _assert_failed(otel, caught.value, "ollama.ResponseError")
    assert span.name == f"chat {MISSING}" and span.attributes["gen_ai.request.model"] == MISSING
    assert OUTPUT not in span.attributes and "gen_ai.response.finish_reasons" not in span.attributes


@ASYNC
def test_stream_http_error_arrives_on_first_next(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                 ollama_client: Any) -> None:
    replay.add("POST", "/api/chat", 404, {"error": f"model '{MISSING}' not found"})
    instrument(OllamaInstrumentor)

    async def scenario(client: Any) -> Any:
        stream = await aw(client.chat(model=MISSING, messages=JOKE, stream=True))
        assert otel.spans() == []  # chat() returned; nothing was sent yet
        try:
            await next_item(stream)
        except ollama.ResponseError as exc:
            return exc
        raise AssertionError("no error")

    exc = run(ollama_client, is_async, scenario)

    assert exc.status_code == 404
    span = _assert_failed(otel, exc, "ollama.ResponseError")
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.response.finish_reasons"] == ("error",)


@ASYNC
def test_error_line_in_the_middle_of_a_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                              ollama_client: Any) -> None:
    replay.add_ndjson("/api/chat", [chat_chunk("llama3", "Why"), chat_chunk("llama3", " did"),
                                    {"error": "an error was encountered while running the model"}])
    instrument(OllamaInstrumentor)
    seen: list[str] = []

    async def scenario(client: Any) -> None:
        stream = await aw(client.chat(model="llama3", messages=JOKE, stream=True))
        while True:
            seen.append((await next_item(stream)).message.content)

    with pytest.raises(ollama.ResponseError) as caught:
        run(ollama_client, is_async, scenario)

    assert (caught.value.status_code, seen) == (-1, ["Why", " did"])
    span = _assert_failed(otel, caught.value, "ollama.ResponseError")
    # What arrived before the error is kept, marked as cut short.
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text("Why did")], "finish_reason": "error"}]


@ASYNC
def test_connection_dropped_mid_stream(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                       ollama_client: Any) -> None:
    replay.load_cassette(cassette("openllmetry__test_ollama_streaming_chat_legacy"), drop_after=3)
    instrument(OllamaInstrumentor)

    with pytest.raises(httpx.RemoteProtocolError) as caught:
        run(ollama_client, is_async, call("chat", model="llama3", messages=JOKE, stream=True))

    span = _assert_failed(otel, caught.value, "httpx.RemoteProtocolError")
    assert content(span, OUTPUT)[0]["parts"] == [text("Why did the")]


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@ASYNC
@pytest.mark.parametrize("stream", [False, True], ids=["call", "stream"])
def test_server_not_running(is_async: bool, stream: bool, otel: Any, instrument: Any, ollama_client: Any) -> None:
    instrument(OllamaInstrumentor)
    port = _closed_port()

    with pytest.raises(Exception) as caught:
        run(ollama_client, is_async, call("chat", model="llama3", messages=JOKE, stream=stream),
            host=f"http://127.0.0.1:{port}")

    # The SDK turns a refused connection into the builtin ConnectionError, except inside streams.
    expected = "httpx.ConnectError" if stream else "ConnectionError"
    span = _assert_failed(otel, caught.value, expected)
    assert (span.attributes["server.address"], span.attributes["server.port"]) == ("127.0.0.1", port)


class _Abort(BaseException):
    """Not an Exception: neither the SDK nor traceglass may swallow or replace it."""


class _Failing(httpx.MockTransport):
    """Raises a known exception object: at the request, or after the first NDJSON line of the body."""

    def __init__(self, where: str) -> None:
        self.raised: BaseException | None = None
        self.where = where
        super().__init__(self._handle)

    def _error(self, request: httpx.Request) -> BaseException:
        self.raised = httpx.ReadTimeout("timed out", request=request) if self.where == "request" else _Abort("cut")
        return self.raised

    def _handle(self, request: httpx.Request) -> httpx.Response:
        if self.where == "request":
            raise self._error(request)
        line = b'{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}\n'
        failing = self

        class Body(httpx.SyncByteStream, httpx.AsyncByteStream):
            def __iter__(self) -> Any:
                yield line
                raise failing._error(request)

            async def __aiter__(self) -> Any:
                yield line
                raise failing._error(request)

        return httpx.Response(200, stream=Body())


@ASYNC
@pytest.mark.parametrize(("where", "stream"), [("request", False), ("request", True), ("body", True)])
def test_exception_is_the_same_object(is_async: bool, where: str, stream: bool, otel: Any, instrument: Any,
                                      ollama_client: Any) -> None:
    instrument(OllamaInstrumentor)
    transport = _Failing(where)

    with pytest.raises(BaseException) as caught:
        run(ollama_client, is_async, call("chat", model="m", messages=JOKE, stream=stream), transport=transport)

    assert caught.value is transport.raised
    expected = "httpx.ReadTimeout" if where == "request" else f"{__name__}._Abort"
    _assert_failed(otel, caught.value, expected)


@ASYNC
def test_sdk_validation_error_before_any_request(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                 ollama_client: Any) -> None:
    instrument(OllamaInstrumentor)

    # The SDK's request model requires a model name; it raises before sending anything.
    with pytest.raises(Exception) as caught:
        run(ollama_client, is_async, call("chat", model="", messages=JOKE))

    assert type(caught.value).__name__ == "ValidationError" and replay.requests == []
    span = _assert_failed(otel, caught.value, "pydantic_core.ValidationError")
    assert span.name == "chat" and "gen_ai.request.model" not in span.attributes
