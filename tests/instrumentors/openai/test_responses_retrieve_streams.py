"""responses.retrieve(response_id, stream=True[, starting_after=N]): a streamed fetch_response.

The span ends once, as a responses.create stream's does: when the stream is exhausted, closed, left
in a `with` block, fails, or is garbage-collected. Status and finish reason come from the final event.
"""

from __future__ import annotations

import gc
from typing import Any

import openai
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import (
    DURATION,
    IDS,
    INPUT,
    IS_ASYNC,
    OUTPUT,
    SYSTEM,
    TOKENS,
    TOOLS,
    TTFC,
    StartAttributes,
    aw,
    chat_span,
    content,
    drain,
    next_item,
    one_point,
    opened,
    points,
    run,
    span_attributes,
    text_part,
)
from tests.instrumentors.openai.test_responses_retrieve import (
    ANSWER,
    INSTRUCTIONS,
    MODEL,
    NOT_FOUND,
    PATH,
    RESPONSE_ID,
    message,
    stored_response,
)

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)
MESSAGE_ID = message(ANSWER)["id"]
DELTAS = ["It is 12°C", " and cloudy", " in Seattle right now."]


def _text_event(kind: str, sequence: int, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "sequence_number": sequence, "item_id": MESSAGE_ID, "output_index": 0,
            "content_index": 0, **fields}


def events(final: dict[str, Any] | None = None, final_type: str = "response.completed") -> list[dict[str, Any]]:
    """The whole event stream of the stored response, sequence numbers 0 to 10."""
    running = stored_response(status="in_progress", output=[], usage=None)
    final = stored_response() if final is None else final
    return [
        {"type": "response.created", "sequence_number": 0, "response": running},
        {"type": "response.in_progress", "sequence_number": 1, "response": running},
        {"type": "response.output_item.added", "sequence_number": 2, "output_index": 0,
         "item": {**message(""), "status": "in_progress", "content": []}},
        _text_event("response.content_part.added", 3,
                    part={"type": "output_text", "annotations": [], "logprobs": [], "text": ""}),
        *(_text_event("response.output_text.delta", 4 + i, delta=delta, logprobs=[], obfuscation="x")
          for i, delta in enumerate(DELTAS)),
        _text_event("response.output_text.done", 7, text=ANSWER, logprobs=[]),
        _text_event("response.content_part.done", 8,
                    part={"type": "output_text", "annotations": [], "logprobs": [], "text": ANSWER}),
        {"type": "response.output_item.done", "sequence_number": 9, "output_index": 0, "item": message(ANSWER)},
        {"type": final_type, "sequence_number": 10, "response": final},
    ]


def add_stream(replay: Any, after: int | None = None, **options: Any) -> None:
    """Serve the stream as GET /v1/responses/{id}?stream=true answers it: the events after `after`."""
    served = events()[(after + 1 if after is not None else 0):]
    replay.add_sse(PATH, served, event_names="type", method="GET", **options)


def retrieve_stream(**kwargs: Any) -> Any:
    """Scenario: ``client.responses.retrieve(RESPONSE_ID, stream=True, **kwargs)``, read to the end."""

    async def scenario(client: Any) -> list[Any]:
        return await drain(await aw(client.responses.retrieve(RESPONSE_ID, stream=True, **kwargs)))

    return scenario


def assert_not_finished(span: Any, status: str | None = "in_progress") -> dict[str, Any]:
    """A stream that stopped before its final event: the generation's outcome is unknown (it may go on
    on the server), so no finish reason and no output; the last status seen."""
    attrs = span_attributes(span)
    assert "gen_ai.response.finish_reasons" not in attrs and OUTPUT not in attrs
    assert attrs.get("gen_ai.response.status") == status
    return attrs


@ASYNC
@pytest.mark.parametrize("after", [3, None], ids=["starting_after", "from_start"])
def test_streamed_fetch(after: int | None, is_async: bool, replay: Any, otel: Any, instrument: Any,
                        openai_client: Any) -> None:
    add_stream(replay, after)
    at_start = StartAttributes()
    otel.tracer_provider.add_span_processor(at_start)
    instrument()

    got = run(openai_client, is_async, retrieve_stream(**({} if after is None else {"starting_after": after})))

    assert got[0].sequence_number == (0 if after is None else after + 1)
    assert got[-1].type == "response.completed" and len(got) == (11 if after is None else 10 - after)
    request = replay.last_request
    assert request.params == {"stream": "true", **({} if after is None else {"starting_after": str(after)})}
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == ("fetch_response", SpanKind.CLIENT, StatusCode.UNSET)
    attrs = span_attributes(span)
    cursor = {} if after is None else {"gen_ai.request.stream_cursor": str(after)}
    assert attrs == {
        "gen_ai.operation.name": "fetch_response",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "responses",
        "gen_ai.response.id": RESPONSE_ID,
        **cursor,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.status": "completed",
        "gen_ai.response.finish_reasons": ["stop"],
        "openai.response.service_tier": "default",
        SYSTEM: attrs[SYSTEM],
        OUTPUT: attrs[OUTPUT],
        TOOLS: attrs[TOOLS],
    }
    (started,) = at_start.seen
    assert started == {"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
                       "server.address": "127.0.0.1", "server.port": replay.port,
                       "gen_ai.response.id": RESPONSE_ID, "openai.api.type": "responses", **cursor}
    # The final event carries the whole stored response, whatever part of the stream was resumed.
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part(ANSWER)], "finish_reason": "stop"}]
    assert content(span, SYSTEM) == [text_part(INSTRUCTIONS)]
    assert content(span, TOOLS) == [{"type": "function", "name": "get_current_weather"}]
    assert INPUT not in attrs
    # No tokens are consumed, nothing is generated: neither usage nor time to first chunk.
    assert points(otel, TOKENS) == [] and points(otel, TTFC) == []
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_closed_early(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    add_stream(replay)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(client.responses.retrieve(RESPONSE_ID, stream=True))
        first, second = await next_item(stream), await next_item(stream)
        assert otel.spans() == []  # still streaming
        await aw(stream.close())
        return stream, [first.type, second.type], otel.spans()

    _stream, seen, spans_after_close = run(openai_client, is_async, scenario)

    assert seen == ["response.created", "response.in_progress"]
    assert len(spans_after_close) == 1  # ended by close(), while the stream object is still alive
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in span.attributes
    attrs = assert_not_finished(span)
    assert attrs["gen_ai.response.model"] == MODEL
    assert content(span, SYSTEM) == [text_part(INSTRUCTIONS)]  # carried by the response snapshot
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_left_with_block_early(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    add_stream(replay, after=3)
    instrument()

    async def scenario(client: Any) -> Any:
        async with opened(await aw(client.responses.retrieve(RESPONSE_ID, stream=True, starting_after=3))) as stream:
            await next_item(stream)
        return otel.spans()

    spans_after_with = run(openai_client, is_async, scenario)

    assert len(spans_after_with) == 1
    # Only text deltas came: no response snapshot, so no status either.
    attrs = assert_not_finished(chat_span(otel), status=None)
    assert attrs["gen_ai.request.stream_cursor"] == "3"


@ASYNC
def test_abandoned_stream_ends_at_garbage_collection(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                                     openai_client: Any) -> None:
    add_stream(replay)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(client.responses.retrieve(RESPONSE_ID, stream=True))
        await next_item(stream)
        spans_while_referenced = otel.spans()
        del stream
        gc.collect()
        return spans_while_referenced, otel.spans()

    spans_while_referenced, spans_after_gc = run(openai_client, is_async, scenario)

    assert spans_while_referenced == [] and len(spans_after_gc) == 1
    assert_not_finished(chat_span(otel))


@ASYNC
def test_read_twice_is_one_span(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    add_stream(replay, after=3)
    instrument()

    async def scenario(client: Any) -> Any:
        stream = await aw(client.responses.retrieve(RESPONSE_ID, stream=True, starting_after=3))
        got, again = await drain(stream), await drain(stream)
        await aw(stream.close())
        return got, again

    got, again = run(openai_client, is_async, scenario)

    assert (len(got), again) == (7, [])
    assert chat_span(otel).attributes["gen_ai.response.status"] == "completed"
    assert one_point(otel, DURATION).count == 1


@pytest.mark.parametrize(("final_type", "fields", "status", "finish"), [
    ("response.failed", {"status": "failed", "output": [], "usage": None,
                         "error": {"code": "server_error", "message": "The server had an error."}}, "failed", "error"),
    ("response.incomplete", {"status": "incomplete", "incomplete_details": {"reason": "content_filter"}},
     "incomplete", "content_filter"),
], ids=["failed", "content_filter"])
def test_final_event_status(final_type: str, fields: dict[str, Any], status: str, finish: str, replay: Any,
                            otel: Any, instrument: Any, openai_client: Any) -> None:
    served = events(stored_response(**fields), final_type)[4:]
    replay.add_sse(PATH, served, event_names="type", method="GET")
    instrument()

    got = openai_client().responses.retrieve(RESPONSE_ID, stream=True, starting_after=3)

    assert [e.type for e in got][-1] == final_type
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == (status, [finish])
    # The generation failed or was cut; the fetch did not.
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in attrs
    assert points(otel, TOKENS) == []


@ASYNC
def test_error_event(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    served = [*events()[:2], {"type": "error", "sequence_number": 2, "code": "server_error",
                              "message": "The server had an error while processing your request.", "param": None}]
    replay.add_sse(PATH, served, event_names="type", method="GET")
    instrument()

    got = run(openai_client, is_async, retrieve_stream())

    assert [e.type for e in got] == ["response.created", "response.in_progress", "error"]
    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "server_error"
    assert_not_finished(span)
    assert one_point(otel, DURATION).attributes["error.type"] == "server_error"


@ASYNC
def test_connection_dropped(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    add_stream(replay, drop_after=5)  # created, in_progress, item added, part added, one delta
    instrument()

    with pytest.raises(openai.APIConnectionError):
        run(openai_client, is_async, retrieve_stream())

    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span.attributes["error.type"] == "openai.APIConnectionError"
    assert_not_finished(span)
    assert one_point(otel, DURATION).count == 1


@ASYNC
def test_unknown_response_id(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", "/v1/responses/resp_missing", status=404, body=NOT_FOUND)
    instrument()

    async def scenario(client: Any) -> Any:
        return await aw(client.responses.retrieve("resp_missing", stream=True, starting_after=7))

    with pytest.raises(openai.NotFoundError):
        run(openai_client, is_async, scenario)

    span = chat_span(otel)
    assert span.status.status_code == StatusCode.ERROR
    assert span_attributes(span) == {
        "gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1", "server.port": replay.port, "openai.api.type": "responses",
        "gen_ai.response.id": "resp_missing", "gen_ai.request.stream_cursor": "7",
        "error.type": "openai.NotFoundError",
    }


@ASYNC
def test_with_raw_response(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    add_stream(replay, after=3)
    instrument()

    async def scenario(client: Any) -> Any:
        raw = await aw(client.responses.with_raw_response.retrieve(RESPONSE_ID, stream=True, starting_after=3))
        assert otel.spans() == []  # the caller has not read the stream yet
        return await drain(await aw(raw.parse()))

    got = run(openai_client, is_async, scenario)

    assert got[-1].type == "response.completed"
    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.request.stream_cursor"]) == ("completed", "3")
    assert attrs["gen_ai.response.finish_reasons"] == ["stop"]


@ASYNC
def test_with_streaming_response(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                 openai_client: Any) -> None:
    add_stream(replay, after=3)
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.responses.with_streaming_response.retrieve(RESPONSE_ID, stream=True, starting_after=3)
        async with opened(manager) as response:
            return await drain(await aw(response.parse()))

    got = run(openai_client, is_async, scenario)

    assert got[-1].type == "response.completed"
    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == ("completed", ["stop"])


@ASYNC
def test_stream_helper_by_response_id(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                      openai_client: Any) -> None:
    add_stream(replay)
    instrument()

    async def scenario(client: Any) -> Any:
        # The helper fetches the whole stream and skips the events up to `starting_after` itself.
        async with opened(client.responses.stream(response_id=RESPONSE_ID, starting_after=3)) as stream:
            got = await drain(stream)
            return got, await aw(stream.get_final_response())

    got, final = run(openai_client, is_async, scenario)

    assert final.output_text == ANSWER and got[0].sequence_number == 4
    assert "starting_after" not in replay.last_request.params
    span = chat_span(otel)  # one span: the helper is traced through retrieve
    assert span.name == "fetch_response"
    attrs = span_attributes(span)
    assert "gen_ai.request.stream_cursor" not in attrs  # the request resumed nothing
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == ("completed", ["stop"])
