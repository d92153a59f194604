"""OpenAIInstrumentor around chat.completions: capture modes, metrics, context, (un)instrumenting."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import openai
import pytest
from opentelemetry import trace
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk._logs import ReadableLogRecord
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from tests.instrumentors.openai._helpers import (
    DETAILS_EVENT,
    DURATION,
    IDS,
    INPUT,
    IS_ASYNC,
    OUTPUT,
    SAY_TEST,
    TOKENS,
    assert_no_content,
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
WITH_CONTENT = cassette("otel-contrib__test_chat_completion_with_content")
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
CHAT_METHODS = [(cls, name) for cls in (openai.resources.chat.completions.Completions,
                                        openai.resources.chat.completions.AsyncCompletions)
                for name in ("create", "parse")]


def _say_test(client: Any) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=SAY_TEST)


def test_no_content_by_default(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument(capture_content=None)  # neither argument nor environment variable

    _say_test(openai_client())

    attrs = chat_span(otel).attributes
    assert_no_content(attrs)
    assert (attrs["gen_ai.usage.input_tokens"], attrs["gen_ai.response.finish_reasons"]) == (12, ("stop",))
    assert otel.logs() == []


@pytest.mark.parametrize("mode", ["NO_CONTENT", "SPAN_ONLY", "EVENT_ONLY", "SPAN_AND_EVENT"])
@pytest.mark.parametrize("source", ["argument", "env"])
def test_capture_modes(mode: str, source: str, replay: Any, otel: Any, instrument: Any, openai_client: Any,
                       monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(WITH_CONTENT)
    if source == "env":
        monkeypatch.setenv(CAPTURE_ENV, mode.lower())  # the value is case-insensitive
        instrument(capture_content=None)
    else:
        instrument(capture_content=mode)

    _say_test(openai_client())

    span = chat_span(otel)
    user = [{"role": "user", "parts": [{"type": "text", "content": "Say this is a test"}]}]
    if "SPAN" in mode:
        assert content(span, INPUT) == user
        assert content(span, OUTPUT)[0]["parts"] == [{"type": "text", "content": "This is a test."}]
    else:
        assert_no_content(span.attributes)
    if "EVENT" not in mode:
        assert otel.logs() == []
        return
    (log,) = otel.logs()
    _check_details_event(log, span)
    # On the event the content is structured, not a JSON string.
    assert log.log_record.attributes[INPUT] == ({"role": "user", "parts": ({"type": "text",
                                                                            "content": "Say this is a test"},)},)
    (output,) = log.log_record.attributes[OUTPUT]
    assert output["finish_reason"] == "stop" and output["parts"][0]["content"] == "This is a test."


def _check_details_event(log: ReadableLogRecord, span: Any) -> None:
    record = log.log_record
    assert record.event_name == DETAILS_EVENT
    assert record.severity_number is not None and record.severity_number.value == 5  # DEBUG
    assert (record.trace_id, record.span_id) == (span.context.trace_id, span.context.span_id)
    for key in ("gen_ai.operation.name", "gen_ai.provider.name", "gen_ai.request.model", "gen_ai.response.id",
                "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens", "gen_ai.response.finish_reasons"):
        assert record.attributes[key] == span.attributes[key], key


def test_argument_beats_environment(replay: Any, otel: Any, instrument: Any, openai_client: Any,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(WITH_CONTENT)
    monkeypatch.setenv(CAPTURE_ENV, "SPAN_AND_EVENT")
    instrument(capture_content="NO_CONTENT")

    _say_test(openai_client())

    assert_no_content(chat_span(otel).attributes)
    assert otel.logs() == []


def test_event_without_content(replay: Any, otel: Any, instrument: Any, openai_client: Any,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    replay.load_cassette(WITH_CONTENT)
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT", "true")
    instrument(capture_content="NO_CONTENT")

    _say_test(openai_client())

    span = chat_span(otel)
    (log,) = otel.logs()
    _check_details_event(log, span)
    assert_no_content(log.log_record.attributes)
    assert_no_content(span.attributes)


def test_bad_capture_value_captures_nothing(replay: Any, otel: Any, instrument: Any, openai_client: Any,
                                            monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    replay.load_cassette(WITH_CONTENT)
    monkeypatch.setenv(CAPTURE_ENV, "everything please")

    with caplog.at_level(logging.WARNING, logger="traceglass"):
        instrument(capture_content=None)
    _say_test(openai_client())

    assert CAPTURE_ENV in caplog.text
    assert_no_content(chat_span(otel).attributes)


@ASYNC
def test_metrics(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()

    run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST))

    span = chat_span(otel)
    common = {"gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
              "gen_ai.response.model": "gpt-4o-mini-2024-07-18", "server.address": "127.0.0.1",
              "server.port": replay.port}
    duration = one_point(otel, DURATION)
    assert dict(duration.attributes) == common
    assert duration.count == 1
    span_seconds = (span.end_time - span.start_time) / 1e9
    assert 0 < duration.sum <= span_seconds + 0.005  # the same operation, measured from inside the span
    assert duration.explicit_bounds[:3] == (0.01, 0.02, 0.04) and otel.metric(DURATION).unit == "s"
    tokens = {p.attributes["gen_ai.token.type"]: p for p in points(otel, TOKENS)}
    assert {kind: (p.count, p.sum) for kind, p in tokens.items()} == {"input": (1, 12), "output": (1, 5)}
    assert dict(tokens["input"].attributes) == {**common, "gen_ai.token.type": "input"}
    assert otel.metric(TOKENS).unit == "{token}" and tokens["input"].explicit_bounds[:3] == (1, 4, 16)
    assert points(otel, "gen_ai.client.operation.time_to_first_chunk") == []  # not streamed

    run(openai_client, is_async, create(model="gpt-4o-mini", messages=SAY_TEST))

    assert one_point(otel, DURATION).count == 2  # one measurement per call
    assert one_point(otel, TOKENS, {"gen_ai.token.type": "output"}).sum == 10


@ASYNC
def test_parent_span_and_http_context(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                      openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()
    tracer = otel.tracer_provider.get_tracer("app")
    seen_by_http: list[trace.SpanContext] = []

    def on_request(request: Any) -> None:
        seen_by_http.append(trace.get_current_span().get_span_context())

    async def on_request_async(request: Any) -> None:
        on_request(request)

    http_client = (openai.DefaultAsyncHttpxClient if is_async else openai.DefaultHttpxClient)(
        event_hooks={"request": [on_request_async if is_async else on_request]})

    async def scenario(client: Any) -> Any:
        with tracer.start_as_current_span("handle request") as parent:
            await aw(_say_test(client))
            # The application's span is current again once the call returned.
            assert trace.get_current_span() is parent
        return parent

    parent = run(openai_client, is_async, scenario, http_client=http_client)

    chat, app = otel.spans()
    assert (chat.name, app.name) == ("chat gpt-4o-mini", "handle request")
    assert chat.parent is not None and chat.parent.span_id == parent.get_span_context().span_id
    assert chat.context.trace_id == app.context.trace_id
    # While the SDK sends the request, the chat span is current: HTTP client spans would nest under it.
    assert [ctx.span_id for ctx in seen_by_http] == [chat.context.span_id]


def test_uninstrument_restores_the_sdk(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    originals = {(cls, name): cls.__dict__[name] for cls, name in CHAT_METHODS}
    instrumentor = instrument()
    client = openai_client()
    assert all(cls.__dict__[name] is not originals[cls, name] for cls, name in CHAT_METHODS)
    _say_test(client)
    assert len(otel.spans()) == 1

    instrumentor.uninstrument()

    assert all(cls.__dict__[name] is originals[cls, name] for cls, name in CHAT_METHODS)
    assert openai.resources.chat.completions.Completions.create is originals[
        openai.resources.chat.completions.Completions, "create"]
    result = _say_test(client)
    assert result.choices[0].message.content == "This is a test."
    assert len(otel.spans()) == 1 and len(replay.requests) == 2  # the call went through, untraced


@ASYNC
def test_uninstrument_also_stops_methods_bound_while_instrumented(is_async: bool, replay: Any, otel: Any,
                                                                  instrument: Any, openai_client: Any) -> None:
    # with_raw_response binds the resource's methods at first access, wrappers included; langchain-openai
    # calls chat models through it, on a client it keeps.
    replay.load_cassette(WITH_CONTENT)
    instrumentor = instrument()

    async def scenario(client: Any) -> Any:
        raw = client.chat.completions.with_raw_response
        await aw(raw.create(model="gpt-4o-mini", messages=SAY_TEST))
        assert len(otel.spans()) == 1
        instrumentor.uninstrument()
        return await aw(raw.create(model="gpt-4o-mini", messages=SAY_TEST))

    response = run(openai_client, is_async, scenario)

    assert response.parse().choices[0].message.content == "This is a test."
    assert len(replay.requests) == 2 and len(otel.spans()) == 1  # the second call went through, untraced
    assert one_point(otel, DURATION).count == 1


def test_client_created_before_instrument(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    client = openai_client()
    assert client.chat.completions is not None  # resources created, too

    instrument()
    _say_test(client)

    assert chat_span(otel).attributes["gen_ai.response.id"] == "chatcmpl-ASYMQRl3A3DXL9FWCK9tnGRcKIO7q"


def test_instrument_twice_does_not_double_spans(replay: Any, otel: Any, instrument: Any,
                                                openai_client: Any) -> None:
    from traceglass.instrumentors.openai import OpenAIInstrumentor

    replay.load_cassette(WITH_CONTENT)
    originals = {(cls, name): cls.__dict__[name] for cls, name in CHAT_METHODS}
    first = instrument()
    again = {"tracer_provider": otel.tracer_provider, "meter_provider": otel.meter_provider,
             "logger_provider": otel.logger_provider}
    first.instrument(**again)
    OpenAIInstrumentor().instrument(**again)

    _say_test(openai_client())

    chat_span(otel)  # exactly one span
    assert one_point(otel, DURATION).count == 1
    first.uninstrument()
    assert all(cls.__dict__[name] is originals[cls, name] for cls, name in CHAT_METHODS)


def test_suppressed_instrumentation(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    instrument()

    with suppress_instrumentation():
        result = _say_test(openai_client())

    assert result.choices[0].message.content == "This is a test."
    assert otel.spans() == [] and points(otel, DURATION) == []


def test_unsampled_call_still_measured(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    unsampled = TracerProvider(sampler=ALWAYS_OFF, shutdown_on_exit=False)
    instrument(tracer_provider=unsampled)

    result = _say_test(openai_client())

    assert result.choices[0].message.content == "This is a test."
    assert otel.spans() == []
    assert one_point(otel, DURATION).attributes["gen_ai.response.model"] == "gpt-4o-mini-2024-07-18"
    assert one_point(otel, TOKENS, {"gen_ai.token.type": "input"}).sum == 12


def test_concurrent_async_calls_keep_their_parents(replay: Any, otel: Any, instrument: Any,
                                                   openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT, first_chunk_delay=0.05)
    instrument()
    tracer = otel.tracer_provider.get_tracer("app")

    async def one_task(client: Any, name: str) -> Any:
        with tracer.start_as_current_span(name) as parent:
            await _say_test(client)
            return parent.get_span_context().span_id

    async def scenario(client: Any) -> Any:
        return await asyncio.gather(one_task(client, "task a"), one_task(client, "task b"))

    parents = run(openai_client, True, scenario)

    chats = [s for s in otel.spans() if s.name.startswith("chat ")]
    assert len(chats) == 2 and len(replay.requests) == 2
    assert sorted(s.parent.span_id for s in chats) == sorted(parents)


def test_instrument_again_after_uninstrument(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.load_cassette(WITH_CONTENT)
    client = openai_client()
    instrument().uninstrument()
    _say_test(client)
    assert otel.spans() == []

    instrument()
    _say_test(client)

    assert chat_span(otel).name == "chat gpt-4o-mini"
