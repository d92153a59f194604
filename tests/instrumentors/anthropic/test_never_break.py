"""Never break the application: odd but well-formed Messages API responses, and a bug inside traceglass.

Each property feeds one generated Message (or raw event stream) through the real client twice over
real HTTP: once with instrumentation suppressed (what the bare SDK does) and once traced. The app
must get the same result or the same exception, exactly one span must end, and traceglass must not
fail inside. Strategies and span checks are shared with the OpenAI properties.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
import traceglass.instrumentors.anthropic._response as response_module
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation

from tests.instrumentors.anthropic._helpers import (
    ASYNC,
    HELLO,
    MODEL,
    aw,
    cassette,
    chat_span,
    instrument_anthropic,
    opened,
    run,
)
from tests.instrumentors.openai.test_never_break import (
    PROPERTY,
    _check_content_types,
    _check_span_attributes,
    arguments,
    count,
    json_value,
    maybe_str,
    obj,
    text,
)

# --- strategies: what the API (or a proxy in front of it) might plausibly send ----------------------

usage = st.none() | obj(input_tokens=count, output_tokens=count, cache_read_input_tokens=count,
                        cache_creation_input_tokens=count, output_tokens_details=st.none() | obj(thinking_tokens=count))
source = st.none() | obj(type=st.sampled_from(["base64", "url", "file", "text", "content", "odd"]) | maybe_str,
                         data=text, media_type=maybe_str, url=text, file_id=maybe_str)
block = obj(
    type=st.sampled_from(["text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "image",
                          "web_search_tool_result", "tool_search_tool_result", "container_upload", "brand_new"])
    | maybe_str,
    text=text, thinking=text, signature=maybe_str, id=maybe_str, name=maybe_str, input=json_value,
    tool_use_id=maybe_str, content=json_value, source=source, citations=st.none() | st.lists(json_value, max_size=1))
stop_reason = st.none() | st.sampled_from(["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn",
                                           "refusal", "model_context_window_exceeded", "", "brand_new"]) | count
message = obj({"type": "message"}, id=maybe_str, model=maybe_str, usage=usage, stop_reason=stop_reason,
              role=st.none() | st.sampled_from(["assistant", "user", "who"]),
              content=st.none() | st.lists(st.none() | block, max_size=3) | text)

index = st.none() | st.integers(-1, 3) | st.sampled_from(["0", 1.5, True])
delta = obj(type=st.sampled_from(["text_delta", "input_json_delta", "thinking_delta", "signature_delta",
                                  "citations_delta", "brand_new"]) | maybe_str,
            text=text, partial_json=arguments | text, thinking=text, signature=maybe_str)
event = st.one_of(
    obj({"type": "message_start"}, message=st.none() | message),
    obj({"type": "content_block_start"}, index=index, content_block=st.none() | block),
    obj({"type": "content_block_delta"}, index=index, delta=st.none() | delta),
    obj({"type": "content_block_stop"}, index=index),
    obj({"type": "message_delta"}, usage=usage,
        delta=st.none() | obj(stop_reason=stop_reason, stop_sequence=maybe_str)),
    obj({"type": st.sampled_from(["message_stop", "ping", "brand_new_event"])}),
    obj({"type": "error"}, error=st.none() | obj(type=maybe_str, message=maybe_str)),  # the SDK raises
    obj(type=maybe_str),
)


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
        if isinstance(result, (anthropic.Stream, anthropic.AsyncStream)):
            if isinstance(result, anthropic.AsyncStream):
                items.extend([item async for item in result])
            else:
                items.extend(result)
            return ("stream", _dump(items))
        return ("result", _dump(result))
    except Exception as exc:
        return ("raised", type(exc), str(exc), _dump(items))


def _check(replay: Any, otel: Any, caplog: Any, make_client: Any, is_async: bool, register: Callable[[], Any],
           call: Callable[[Any], Any]) -> None:
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
    failures = [r for r in caplog.records if r.name == "traceglass" and r.exc_info]
    assert not failures, caplog.text


@pytest.fixture
def property_env(replay: Any, otel: Any, instrument: Any, caplog: Any, anthropic_client: Any) -> Any:
    instrument_anthropic(instrument)
    caplog.set_level(logging.DEBUG, logger="traceglass")

    def check(is_async: bool, register: Callable[[], Any], call: Callable[[Any], Any]) -> None:
        _check(replay, otel, caplog, anthropic_client, is_async, register, call)

    return check


REQUEST = {"model": MODEL, "max_tokens": 64, "messages": HELLO}


# --- properties ------------------------------------------------------------------------------------


@ASYNC
@PROPERTY
@given(body=message)
def test_message(is_async: bool, property_env: Any, replay: Any, body: dict[str, Any]) -> None:
    property_env(is_async, lambda: replay.add("POST", "/v1/messages", body=body),
                 lambda c: c.messages.create(**REQUEST))


@ASYNC
@PROPERTY
@given(events=st.lists(event, max_size=6))
def test_event_stream(is_async: bool, property_env: Any, replay: Any, events: list[Any]) -> None:
    property_env(is_async, lambda: replay.add_sse("/v1/messages", events, event_names="type"),
                 lambda c: c.messages.create(stream=True, **REQUEST))


@PROPERTY
@given(events=st.lists(event, max_size=6))
def test_stream_helper(property_env: Any, replay: Any, events: list[Any]) -> None:
    async def final_message(client: Any) -> Any:
        async with opened(client.messages.stream(**REQUEST)) as stream:
            return [stream.get_final_message()]

    property_env(False, lambda: replay.add_sse("/v1/messages", events, event_names="type"), final_message)


# --- a bug inside traceglass ------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["create", "stream"])
def test_internal_bug_is_logged_once_and_the_app_gets_its_result(
        stream: bool, replay: Any, otel: Any, instrument: Any, caplog: Any, anthropic_client: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # The one place a test patches traceglass: an extraction function raises, as a bug would.
    def broken(usage: Any) -> Any:
        raise RuntimeError("simulated traceglass bug")

    monkeypatch.setattr(response_module, "message_usage", broken)
    monkeypatch.setattr("traceglass.instrumentors.anthropic._streams.message_usage", broken)
    monkeypatch.setattr("traceglass.semconv._guard._reported", set())  # forget failures of earlier tests
    caplog.set_level(logging.DEBUG, logger="traceglass")
    name = "otel-contrib__test_sync_messages_create_streaming" if stream else \
        "otel-contrib__test_sync_messages_create_basic"
    replay.load_cassette(cassette(name))
    instrument_anthropic(instrument)
    client = anthropic_client()

    results = [client.messages.create(stream=stream, **REQUEST) for _ in range(3)]

    texts = ["".join(e.delta.text for e in r if e.type == "content_block_delta") if stream else r.content[0].text
             for r in results]
    assert texts == (["Hello."] if stream else ["Hello!"]) * 3
    spans = otel.spans()
    assert len(spans) == 3
    # The span ends, not as an error; what failed is missing.
    assert not any("gen_ai.usage.input_tokens" in s.attributes or "error.type" in s.attributes for s in spans)
    reports = [r for r in caplog.records if r.name == "traceglass"]
    assert [r.levelno for r in reports] == [logging.WARNING, logging.DEBUG, logging.DEBUG]
    assert all(r.exc_info and str(r.exc_info[1]) == "simulated traceglass bug" for r in reports)
