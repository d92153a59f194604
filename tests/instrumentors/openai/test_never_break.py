"""Never break the application: odd but well-formed provider responses, internal bugs, SDK exceptions.

Each property feeds one generated response through the real client twice over real HTTP: once with
instrumentation suppressed (exactly what the bare SDK does) and once traced. The application must get
the same result or the same exception, exactly one span must end, and traceglass must not fail inside.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx2
import openai
import pytest
import traceglass.instrumentors.openai._response as response_module
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.trace import StatusCode

from tests.instrumentors.openai._helpers import IDS, IS_ASYNC, aw, chat_span, drain, run, sdk_call

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- strategies: JSON a provider (or an OpenAI-compatible server) might plausibly send --------------

json_scalar = st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=6)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=2)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=4)
count = st.none() | st.integers(-5, 10**6) | st.sampled_from([2**64, "12", "many", "", 3.5, True]) | json_value
maybe_str = st.none() | st.text(max_size=8) | st.integers(0, 9)
name = st.none() | st.text(max_size=8)  # chat tool names and ids: strings, as the API defines them
text = (st.none() | st.text(max_size=12) | st.sampled_from(["", "x" * 200_000, "\u0000\ud7ff\U0001f600"])
        | st.integers(0, 9))  # a number where text belongs: some compatible servers send one
arguments = st.none() | st.sampled_from(['{"city": "Paris"}', "{broken", "", "null", "[1, 2]", '"s"', "{}"])
finish = st.none() | st.sampled_from(["stop", "length", "tool_calls", "function_call", "content_filter", "", "new"])


def obj(required: dict[str, Any] | None = None, **optional: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose optional fields may each be missing; an unknown field may come along."""
    return st.fixed_dictionaries({k: v if isinstance(v, st.SearchStrategy) else st.just(v)
                                  for k, v in (required or {}).items()},
                                 optional={**optional, "x_unknown_field": json_value})


details = st.none() | obj(cached_tokens=count, reasoning_tokens=count, cache_write_tokens=count)
chat_usage = st.none() | obj(prompt_tokens=count, completion_tokens=count, total_tokens=count,
                             prompt_tokens_details=details, completion_tokens_details=details)
function = st.none() | obj(name=name, arguments=arguments)
tool_call = obj(id=name, type=st.sampled_from(["function", "custom", "new_kind"]), function=function,
                custom=st.none() | obj(name=name, input=text))
message = obj(role=st.none() | st.sampled_from(["assistant", "tool", "who"]), content=text, refusal=text,
              tool_calls=st.none() | st.lists(tool_call, max_size=3), function_call=function)
chat_completion = obj({"object": "chat.completion"}, id=maybe_str, model=maybe_str, created=count,
                      service_tier=maybe_str, system_fingerprint=maybe_str, usage=chat_usage,
                      choices=st.none() | st.lists(obj(index=count, finish_reason=finish, message=st.none() | message,
                                                       logprobs=st.none()), max_size=3))

delta = obj(role=maybe_str, content=text, refusal=text, function_call=function,
            tool_calls=st.none() | st.lists(obj(index=st.none() | st.integers(0, 2), id=name,
                                                 function=function), max_size=2))
chunk = obj({"object": "chat.completion.chunk"}, id=maybe_str, model=maybe_str, usage=chat_usage,
            error=st.none() | obj(message=maybe_str),  # the SDK raises APIError on a truthy "error"
            service_tier=maybe_str, system_fingerprint=maybe_str,
            choices=st.none() | st.lists(obj(index=st.none() | st.integers(0, 2), delta=st.none() | delta,
                                             finish_reason=finish), max_size=2))
completion_chunk = obj({"object": "text_completion"}, id=maybe_str, model=maybe_str, usage=chat_usage,
                       choices=st.none() | st.lists(obj(index=st.none() | st.integers(0, 2), text=text,
                                                        finish_reason=finish), max_size=2))

output_item = st.none() | obj(
    type=st.none() | st.sampled_from(["message", "function_call", "reasoning", "web_search_call", "mcp_call",
                                      "image_generation_call", "computer_call", "brand_new_item", "_call", ""]),
    id=maybe_str, name=maybe_str, call_id=maybe_str, arguments=arguments, role=maybe_str, status=maybe_str,
    content=st.none() | st.lists(st.none() | obj(type=maybe_str, text=text, refusal=text), max_size=2),
    summary=st.none() | st.lists(obj(type=maybe_str, text=text), max_size=2))
response_usage = st.none() | obj(input_tokens=count, output_tokens=count, total_tokens=count,
                                 input_tokens_details=details, output_tokens_details=details)
response = obj({"object": "response"}, id=maybe_str, model=maybe_str, usage=response_usage,
               output=st.none() | st.lists(output_item, max_size=3), service_tier=maybe_str,
               status=st.none() | st.sampled_from(["completed", "incomplete", "failed", "cancelled", "queued", "odd"]),
               incomplete_details=st.none() | obj(reason=maybe_str | st.just("max_output_tokens")))
response_event = obj(
    type=st.sampled_from(["response.created", "response.in_progress", "response.output_text.delta",
                          "response.completed", "response.incomplete", "response.failed", "response.brand_new",
                          "error"]),
    sequence_number=count, delta=text, response=st.none() | response)

embedding = st.none() | obj(object=maybe_str, index=count,
                            embedding=st.none() | st.lists(st.floats(-1, 1), max_size=4)
                            | st.sampled_from(["AACAPwAAAEA=", "====", "", "not base64!"]))
embeddings = obj({"object": "list"}, model=maybe_str, usage=st.none() | obj(prompt_tokens=count, total_tokens=count),
                 data=st.none() | st.lists(embedding, max_size=3))


# --- running one example ---------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(item) for item in value]
    if hasattr(value, "model_dump"):
        return (type(value).__name__, value.model_dump(warnings=False))
    return value


async def _outcome(call: Callable[[Any], Any], client: Any) -> tuple[Any, ...]:
    """What the application sees: the result (streams read to the end) or the exception raised."""
    items: list[Any] = []
    try:
        result = await aw(call(client))
        if isinstance(result, (openai.Stream, openai.AsyncStream)):
            async for item in _aiter(result):
                items.append(item)
            return ("stream", _dump(items))
        return ("result", _dump(result))
    except Exception as exc:
        return ("raised", type(exc), str(exc), _dump(items))


async def _aiter(stream: Any) -> Any:
    if isinstance(stream, openai.AsyncStream):
        async for item in stream:
            yield item
    else:
        for item in stream:
            yield item


def _check_span_attributes(span: Any) -> None:
    for key, value in (span.attributes or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**63, f"{key}={value} does not fit an OTLP int64"
        if key.startswith("gen_ai.usage.") or key == "gen_ai.embeddings.dimension.count":
            assert isinstance(value, int) and value >= 0, f"{key}={value!r}"
        if key in ("gen_ai.response.id", "gen_ai.response.model"):
            assert isinstance(value, str), f"{key}={value!r}"


_STRING_FIELDS = {"text": ("content",), "reasoning": ("content",), "tool_call": ("name", "id"),
                  "tool_call_response": ("id",), "server_tool_call": ("name", "id")}


def _check_content_types(span: Any) -> None:
    """The schemas accept a mistyped part as a generic one; the typed fields must really be strings."""
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        for message in json.loads((span.attributes or {}).get(key, "[]")):
            assert isinstance(message["role"], str), message
            assert isinstance(message.get("finish_reason", ""), str), message
            for part in message["parts"]:
                for field in _STRING_FIELDS.get(part["type"], ()):
                    assert isinstance(part.get(field, ""), str), f"{key}: {field} of {part}"


def check_never_breaks(replay: Any, otel: Any, caplog: Any, make_client: Any, is_async: bool,
                       register: Callable[[], Any], call: Callable[[Any], Any]) -> None:
    """The property: same outcome as the bare SDK, exactly one span, no internal traceglass failure."""
    replay.reset()
    otel.clear()
    caplog.clear()
    register()

    async def scenario(client: Any) -> tuple[Any, Any]:
        with suppress_instrumentation():
            bare = await _outcome(call, client)
        assert otel.spans() == [], "suppressed call was traced"
        return bare, await _outcome(call, client)

    bare, traced = run(make_client, is_async, scenario)

    assert traced == bare
    span = chat_span(otel)  # exactly one span; its content attributes match the GenAI JSON schemas
    _check_span_attributes(span)
    _check_content_types(span)
    if bare[0] == "raised":
        assert span.attributes["error.type"].endswith(bare[1].__name__)
    failures = [r for r in caplog.records if r.name == "traceglass" and r.exc_info]
    assert not failures, caplog.text


@pytest.fixture
def property_env(replay: Any, otel: Any, instrument: Any, caplog: Any, openai_client: Any) -> Any:
    instrument()
    caplog.set_level(logging.DEBUG, logger="traceglass")

    def check(is_async: bool, register: Callable[[], Any], call: Callable[[Any], Any]) -> None:
        check_never_breaks(replay, otel, caplog, openai_client, is_async, register, call)

    return check


# --- properties ------------------------------------------------------------------------------------


@ASYNC
@PROPERTY
@given(body=chat_completion)
def test_chat_completion(is_async: bool, property_env: Any, replay: Any, body: dict[str, Any]) -> None:
    property_env(is_async, lambda: replay.add("POST", "/v1/chat/completions", body=body),
                 sdk_call("chat.completions.create", model="m", messages=[{"role": "user", "content": "hi"}]))


@ASYNC
@PROPERTY
@given(chunks=st.lists(chunk, max_size=5), done=st.booleans())
def test_chat_stream(is_async: bool, property_env: Any, replay: Any, chunks: list[Any], done: bool) -> None:
    property_env(is_async, lambda: replay.add_sse("/v1/chat/completions", chunks, done=done),
                 lambda c: c.chat.completions.create(model="m", messages=[], stream=True))


@PROPERTY
@given(chunks=st.lists(completion_chunk, max_size=5), stream=st.booleans())
def test_legacy_completion(property_env: Any, replay: Any, chunks: list[Any], stream: bool) -> None:
    def register() -> None:
        if stream:
            replay.add_sse("/v1/completions", chunks)
        else:
            replay.add("POST", "/v1/completions", body=chunks[0] if chunks else {})

    property_env(False, register, lambda c: c.completions.create(model="m", prompt="p", stream=stream))


@ASYNC
@PROPERTY
@given(body=response)
def test_response(is_async: bool, property_env: Any, replay: Any, body: dict[str, Any]) -> None:
    property_env(is_async, lambda: replay.add("POST", "/v1/responses", body=body),
                 sdk_call("responses.create", model="m", input="hi"))


@PROPERTY
@given(events=st.lists(response_event, max_size=5))
def test_response_stream(property_env: Any, replay: Any, events: list[Any]) -> None:
    property_env(False, lambda: replay.add_sse("/v1/responses", events, event_names="type"),
                 lambda c: c.responses.create(model="m", input="hi", stream=True))


@PROPERTY
@given(body=embeddings, encoding_format=st.sampled_from([None, "float", "base64"]))
def test_embeddings(property_env: Any, replay: Any, body: dict[str, Any], encoding_format: str | None) -> None:
    extra = {"encoding_format": encoding_format} if encoding_format else {}
    property_env(False, lambda: replay.add("POST", "/v1/embeddings", body=body),
                 lambda c: c.embeddings.create(model="m", input="x", **extra))


# --- a bug inside traceglass ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_internal_bug_is_logged_once_and_the_app_gets_its_result(
        stream: bool, replay: Any, otel: Any, instrument: Any, caplog: Any, openai_client: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The one place a test patches traceglass: an extraction function raises, as a bug would.
    def broken(usage: Any) -> Any:
        raise RuntimeError("simulated traceglass bug")

    monkeypatch.setattr(response_module, "response_usage", broken)
    monkeypatch.setattr("traceglass.semconv._guard._reported", set())  # forget failures of earlier tests
    caplog.set_level(logging.DEBUG, logger="traceglass")
    name = "streaming[content_mode0]" if stream else "basic[content_mode0]"
    replay.load_cassette(f"openai/otel-contrib__test_responses_create_{name}.yaml")
    instrument()
    client = openai_client()

    results = [client.responses.create(model="gpt-4o-mini", input="Say this is a test", stream=stream)
               for _ in range(3)]

    texts = ["".join(e.delta for e in r if e.type == "response.output_text.delta") if stream else r.output_text
             for r in results]
    assert texts == ["This is a test."] * 3
    spans = otel.spans()
    assert len(spans) == 3
    # Telemetry read before the failure is kept; what failed is missing; the span is not an error.
    assert all(s.attributes["gen_ai.response.id"].startswith("resp_") for s in spans)
    assert not any("gen_ai.usage.input_tokens" in s.attributes or "error.type" in s.attributes for s in spans)
    reports = [r for r in caplog.records if r.name == "traceglass"]
    assert [r.levelno for r in reports] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert all(r.exc_info and str(r.exc_info[1]) == "simulated traceglass bug" for r in reports)
    assert "The application is not affected" in reports[0].getMessage()


# --- SDK exceptions reach the caller as the very same object -------------------------------------------


class _Abort(BaseException):
    """Not an Exception: neither the SDK nor traceglass may swallow or replace it."""


class _Transport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Wraps the real HTTP transport. mode "request": raise `openai.APIConnectionError` instead of sending
    (the SDK passes its own errors through as they are); "body": let the request through and raise
    `_Abort` while the response body streams in."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.raised: BaseException | None = None
        self.sync, self.async_ = httpx2.HTTPTransport(), httpx2.AsyncHTTPTransport()

    def _error(self, request: httpx2.Request) -> BaseException:
        self.raised = openai.APIConnectionError(request=request) if self.mode == "request" else _Abort("cut")
        return self.raised

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.mode == "request":
            raise self._error(request)
        real = self.sync.handle_request(request)

        def body() -> Any:
            for piece in real.stream:
                yield piece[:10]  # a few bytes: not even one whole SSE event
                raise self._error(request)

        return httpx2.Response(real.status_code, headers=real.headers, stream=_Body(body(), real.stream))

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if self.mode == "request":
            raise self._error(request)
        real = await self.async_.handle_async_request(request)

        async def body() -> Any:
            async for piece in real.stream:
                yield piece[:10]
                raise self._error(request)

        return httpx2.Response(real.status_code, headers=real.headers, stream=_AsyncBody(body(), real.stream))


class _Body(httpx2.SyncByteStream):
    def __init__(self, pieces: Any, real: Any) -> None:
        self.pieces, self.real = pieces, real

    def __iter__(self) -> Any:
        return self.pieces

    def close(self) -> None:
        self.real.close()


class _AsyncBody(httpx2.AsyncByteStream):
    def __init__(self, pieces: Any, real: Any) -> None:
        self.pieces, self.real = pieces, real

    def __aiter__(self) -> Any:
        return self.pieces

    async def aclose(self) -> None:
        await self.real.aclose()


@ASYNC
@pytest.mark.parametrize("mode", ["request", "body"])
def test_sdk_exception_is_the_same_object(is_async: bool, mode: str, replay: Any, otel: Any, instrument: Any,
                                          openai_client: Any) -> None:
    replay.load_cassette("openai/otel-contrib__test_chat_completion_streaming.yaml")
    instrument()
    transport = _Transport(mode)
    http_client = (httpx2.AsyncClient if is_async else httpx2.Client)(transport=transport)

    async def scenario(client: Any) -> Any:
        stream = await aw(client.chat.completions.create(model="gpt-4", messages=[], stream=True))
        return await drain(stream)

    with pytest.raises(BaseException) as caught:
        run(openai_client, is_async, scenario, http_client=http_client)

    assert caught.value is transport.raised
    span = otel.span()
    assert span.attributes["error.type"] == ("openai.APIConnectionError" if mode == "request"
                                             else f"{__name__}._Abort")
    assert span.status.status_code == StatusCode.ERROR
