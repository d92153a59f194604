"""responses.retrieve(response_id): the fetch_response operation (streamed: test_responses_retrieve_streams.py).

No cassette holds a retrieve call; the bodies below are written as the Responses API answers
GET /v1/responses/{id} for a stored response in each state.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from tests.instrumentors.openai._helpers import (
    DETAILS_EVENT,
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
    assert_no_content,
    aw,
    chat_span,
    content,
    one_point,
    points,
    run,
    span_attributes,
    text_part,
)
from tests.replay import ReplayServer

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)

RESPONSE_ID = "resp_68c2a61f3e7c81a2b5d04f9e61c7a3b80d7f2e6a9c1b4d58"
PATH = f"/v1/responses/{RESPONSE_ID}"
MODEL = "gpt-4.1-mini-2025-04-14"
INSTRUCTIONS = "You are a concise weather assistant. Answer in one sentence."
ANSWER = "It is 12°C and cloudy in Seattle right now."
WEATHER_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "get_current_weather",
    "description": "Get the current weather in a given location",
    "parameters": {
        "type": "object",
        "properties": {"location": {"type": "string", "description": "The city and state, e.g. Boston, MA"}},
        "required": ["location"],
        "additionalProperties": False,
    },
    "strict": True,
}


def message(text: str, status: str = "completed") -> dict[str, Any]:
    return {"id": "msg_68c2a6227f4c81a2a1e3b7c95d0f6e2a0d7f2e6a9c1b4d58", "type": "message", "status": status,
            "role": "assistant",
            "content": [{"type": "output_text", "annotations": [], "logprobs": [], "text": text}]}


def stored_response(**fields: Any) -> dict[str, Any]:
    """A stored Response as GET /v1/responses/{id} returns it: completed, with an answer and a tool
    offered; `fields` override top-level keys."""
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": 1757587999,
        "status": "completed",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": INSTRUCTIONS,
        "max_output_tokens": None,
        "max_tool_calls": None,
        "model": MODEL,
        "output": [message(ANSWER)],
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "prompt_cache_key": None,
        "reasoning": {"effort": None, "summary": None},
        "safety_identifier": None,
        "service_tier": "default",
        "store": True,
        "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": "auto",
        "tools": [WEATHER_TOOL],
        "top_logprobs": 0,
        "top_p": 1.0,
        "truncation": "disabled",
        "usage": {"input_tokens": 88, "input_tokens_details": {"cached_tokens": 0}, "output_tokens": 14,
                  "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 102},
        "user": None,
        "metadata": {},
        **fields,
    }


def background_response(status: str) -> dict[str, Any]:
    """A background response still queued or being generated: no output, no usage yet."""
    return stored_response(status=status, background=True, output=[], usage=None, service_tier="auto",
                           tools=[], instructions=None)


NOT_FOUND = {"error": {"message": "Response with id 'resp_missing' not found.", "type": "invalid_request_error",
                       "param": None, "code": None}}


def retrieve(*args: Any, **kwargs: Any) -> Any:
    """Scenario: ``client.responses.retrieve(*args, **kwargs)``."""

    async def scenario(client: Any) -> Any:
        return await aw(client.responses.retrieve(*args, **kwargs))

    return scenario


def assert_no_usage(otel: Any, attrs: dict[str, Any]) -> None:
    """Fetching consumes no tokens: none reported, as attributes or as the token usage metric."""
    assert not [key for key in attrs if key.startswith("gen_ai.usage.")]
    assert points(otel, TOKENS) == []


@ASYNC
def test_retrieve_completed(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    at_start = StartAttributes()
    otel.tracer_provider.add_span_processor(at_start)
    instrument(full_tool_definitions=True)

    response = run(openai_client, is_async, retrieve(RESPONSE_ID))

    assert response.output_text == ANSWER
    assert (replay.last_request.method, replay.last_request.path, replay.last_request.query) == ("GET", PATH, "")
    span = chat_span(otel)
    assert (span.name, span.kind, span.status.status_code) == ("fetch_response", SpanKind.CLIENT, StatusCode.UNSET)
    assert span.parent is None and not span.events
    attrs = span_attributes(span)
    assert attrs == {
        "gen_ai.operation.name": "fetch_response",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "responses",
        "gen_ai.response.id": RESPONSE_ID,
        "gen_ai.response.model": MODEL,
        "gen_ai.response.status": "completed",
        "gen_ai.response.finish_reasons": ["stop"],
        "openai.response.service_tier": "default",
        SYSTEM: attrs[SYSTEM],
        OUTPUT: attrs[OUTPUT],
        TOOLS: attrs[TOOLS],
    }
    # What the request itself names is there from the start, where a sampler sees it.
    (started,) = at_start.seen
    assert started == {"gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
                       "server.address": "127.0.0.1", "server.port": replay.port,
                       "gen_ai.response.id": RESPONSE_ID, "openai.api.type": "responses"}
    assert content(span, SYSTEM) == [text_part(INSTRUCTIONS)]
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": [text_part(ANSWER)], "finish_reason": "stop"}]
    assert content(span, TOOLS) == [{"type": "function", "name": "get_current_weather",
                                     "description": WEATHER_TOOL["description"],
                                     "parameters": WEATHER_TOOL["parameters"]}]
    assert INPUT not in attrs  # a stored response does not carry its input
    assert_no_usage(otel, attrs)
    duration = one_point(otel, DURATION)
    assert dict(duration.attributes) == {
        "gen_ai.operation.name": "fetch_response", "gen_ai.provider.name": "openai",
        "gen_ai.response.model": MODEL, "server.address": "127.0.0.1", "server.port": replay.port}
    assert duration.count == 1 and 0 < duration.sum <= (span.end_time - span.start_time) / 1e9 + 0.005
    assert points(otel, TTFC) == []


def test_response_id_by_keyword_and_default_tool_definitions(replay: Any, otel: Any, instrument: Any,
                                                             openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument()

    openai_client().responses.retrieve(response_id=RESPONSE_ID, include=["message.output_text.logprobs"])

    span = chat_span(otel)
    assert span.attributes["gen_ai.response.id"] == RESPONSE_ID
    # The optional properties of a definition are left out unless asked for, as on other spans.
    assert content(span, TOOLS) == [{"type": "function", "name": "get_current_weather"}]
    assert replay.last_request.params == {"include[]": "message.output_text.logprobs"}


def _function_call() -> dict[str, Any]:
    return {"id": "fc_68c2a6227f4c81a2", "type": "function_call", "status": "completed",
            "arguments": '{"location":"Seattle, WA"}', "call_id": "call_Qw3Xk9PzR2vLm8Ty",
            "name": "get_current_weather"}


@pytest.mark.parametrize(("fields", "status", "finish", "parts"), [
    ({"output": [_function_call()]}, "completed", "tool_call",
     [{"type": "tool_call", "name": "get_current_weather", "id": "call_Qw3Xk9PzR2vLm8Ty",
       "arguments": {"location": "Seattle, WA"}}]),
    ({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}, "max_output_tokens": 16,
      "output": [message("It is 12°C and", status="incomplete")]}, "incomplete", "length",
     [text_part("It is 12°C and")]),
    ({"status": "incomplete", "incomplete_details": {"reason": "content_filter"}, "output": []},
     "incomplete", "content_filter", []),
    ({"status": "failed", "output": [], "usage": None,
      "error": {"code": "server_error",
                "message": "The server had an error while processing your request. Sorry about that!"}},
     "failed", "error", []),
    ({"status": "cancelled", "background": True, "output": [], "usage": None}, "cancelled", "error", []),
], ids=["tool_call", "max_output_tokens", "content_filter", "failed", "cancelled"])
def test_finish_reason_from_the_status(fields: dict[str, Any], status: str, finish: str, parts: list[Any],
                                       replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response(**fields))
    instrument()

    response = openai_client().responses.retrieve(RESPONSE_ID)

    assert response.status == status
    span = chat_span(otel)
    attrs = span_attributes(span)
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == (status, [finish])
    assert content(span, OUTPUT) == [{"role": "assistant", "parts": parts, "finish_reason": finish}]
    # A failed or cancelled generation was fetched successfully: the fetch is not an error.
    assert span.status.status_code == StatusCode.UNSET and "error.type" not in attrs
    assert "error.type" not in one_point(otel, DURATION).attributes
    assert_no_usage(otel, attrs)


@ASYNC
@pytest.mark.parametrize("status", ["queued", "in_progress"])
def test_background_response_still_running(status: str, is_async: bool, replay: Any, otel: Any, instrument: Any,
                                           openai_client: Any) -> None:
    replay.add("GET", PATH, body=background_response(status))
    instrument()

    response = run(openai_client, is_async, retrieve(RESPONSE_ID))

    assert response.status == status and response.output == []
    attrs = span_attributes(chat_span(otel))
    assert attrs["gen_ai.response.status"] == status
    assert attrs["openai.response.service_tier"] == "auto"
    # Nothing has finished yet: no finish reason, no output; and nothing failed.
    assert "gen_ai.response.finish_reasons" not in attrs and "error.type" not in attrs
    assert_no_content(attrs)
    assert_no_usage(otel, attrs)


@ASYNC
def test_unknown_response_id(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", "/v1/responses/resp_missing", status=404, body=NOT_FOUND)
    instrument()
    made: list[BaseException] = []

    async def scenario(client: Any) -> Any:
        build = client._make_status_error

        def recording(*args: Any, **kwargs: Any) -> Any:  # the exception the SDK itself makes
            made.append(build(*args, **kwargs))
            return made[-1]

        client._make_status_error = recording
        return await aw(client.responses.retrieve("resp_missing"))

    with pytest.raises(openai.NotFoundError) as caught:
        run(openai_client, is_async, scenario)

    assert made == [caught.value] and caught.value is made[0]
    span = chat_span(otel)
    assert (span.name, span.status.status_code) == ("fetch_response", StatusCode.ERROR)
    attrs = span_attributes(span)
    assert attrs == {
        "gen_ai.operation.name": "fetch_response",
        "gen_ai.provider.name": "openai",
        "server.address": "127.0.0.1",
        "server.port": replay.port,
        "openai.api.type": "responses",
        "gen_ai.response.id": "resp_missing",
        "error.type": "openai.NotFoundError",
    }
    (event,) = span.events
    assert (event.name, event.attributes["exception.message"]) == ("exception", str(caught.value))
    duration = one_point(otel, DURATION)
    assert duration.attributes["error.type"] == "openai.NotFoundError"
    assert duration.attributes["gen_ai.operation.name"] == "fetch_response"
    assert points(otel, TOKENS) == []


def test_empty_response_id_is_refused_by_the_sdk(replay: Any, otel: Any, instrument: Any,
                                                 openai_client: Any) -> None:
    instrument()

    with pytest.raises(ValueError, match="response_id"):
        openai_client().responses.retrieve("")

    span = otel.span()
    assert span.attributes["error.type"] == "ValueError"
    assert "gen_ai.response.id" not in span.attributes
    assert replay.requests == []


def test_no_content_capture(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument(capture_content="NO_CONTENT")

    openai_client().responses.retrieve(RESPONSE_ID)

    attrs = span_attributes(chat_span(otel))
    assert_no_content(attrs)
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == ("completed", ["stop"])


def test_no_inference_details_event(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument(capture_content="SPAN_AND_EVENT")

    openai_client().responses.retrieve(RESPONSE_ID)

    # The details event describes an inference; fetching a stored response is none.
    assert [r.log_record.event_name for r in otel.logs()] == []
    assert content(chat_span(otel), OUTPUT)[0]["parts"] == [text_part(ANSWER)]
    assert DETAILS_EVENT not in {e.name for e in otel.span().events}


@ASYNC
def test_parent_span(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=background_response("in_progress"))
    replay.add("GET", PATH, body=stored_response())
    instrument()
    tracer = otel.tracer_provider.get_tracer("app")

    async def scenario(client: Any) -> Any:
        with tracer.start_as_current_span("poll background response") as parent:
            first = await aw(client.responses.retrieve(RESPONSE_ID))
            second = await aw(client.responses.retrieve(RESPONSE_ID))
            assert trace.get_current_span() is parent
        return parent, [first.status, second.status]

    parent, statuses = run(openai_client, is_async, scenario)

    assert statuses == ["in_progress", "completed"]
    first, second, app = otel.spans()
    assert app.name == "poll background response"
    for span in (first, second):
        assert span.name == "fetch_response"
        assert span.parent is not None and span.parent.span_id == parent.get_span_context().span_id
        assert span.context.trace_id == app.context.trace_id
    assert [s.attributes["gen_ai.response.status"] for s in (first, second)] == ["in_progress", "completed"]
    assert one_point(otel, DURATION).count == 2


@ASYNC
def test_with_raw_response(is_async: bool, replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument()

    async def scenario(client: Any) -> Any:
        raw = await aw(client.responses.with_raw_response.retrieve(RESPONSE_ID))
        return raw.headers.get("content-type"), await aw(raw.parse())

    content_type, response = run(openai_client, is_async, scenario)

    assert content_type == "application/json" and response.output_text == ANSWER
    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == ("completed", ["stop"])
    assert attrs["gen_ai.response.model"] == MODEL


@ASYNC
def test_with_streaming_response(is_async: bool, replay: Any, otel: Any, instrument: Any,
                                 openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response(status="incomplete",
                                                 incomplete_details={"reason": "max_output_tokens"}))
    instrument()

    async def scenario(client: Any) -> Any:
        manager = client.responses.with_streaming_response.retrieve(RESPONSE_ID)
        if is_async:
            async with manager as response:
                return await response.parse()
        with manager as response:
            return response.parse()

    response = run(openai_client, is_async, scenario)

    assert response.status == "incomplete"
    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.response.status"], attrs["gen_ai.response.finish_reasons"]) == ("incomplete", ["length"])


def test_beta_responses_retrieve(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument()

    openai_client().beta.responses.retrieve(RESPONSE_ID)

    attrs = span_attributes(chat_span(otel))
    assert (attrs["gen_ai.operation.name"], attrs["gen_ai.response.status"]) == ("fetch_response", "completed")


class _ToReplay(httpx2.HTTPTransport):
    """Sends every request to the replay server under /v1, whatever host and prefix the client uses."""

    def __init__(self, replay: ReplayServer) -> None:
        super().__init__()
        self._port = replay.port

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        endpoint = request.url.path.rsplit("/responses/", 1)[-1]
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port,
                                            path=f"/v1/responses/{endpoint}")
        return super().handle_request(request)


@pytest.mark.parametrize(("base_url", "provider", "address", "port"), [
    ("https://api.openai.com/v1", "openai", "api.openai.com", 443),
    ("https://my-res.openai.azure.com/openai/v1", "azure.ai.openai", "my-res.openai.azure.com", 443),
    ("https://api.x.ai/v1", "x_ai", "api.x.ai", 443),
    ("http://gpu-box:8000/v1", "vllm", "gpu-box", 8000),
])
def test_provider_and_server_from_base_url(base_url: str, provider: str, address: str, port: int, replay: Any,
                                           otel: Any, instrument: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    at_start = StartAttributes()
    otel.tracer_provider.add_span_processor(at_start)
    instrument()
    client = openai.OpenAI(base_url=base_url, api_key="test-key", max_retries=0,
                           http_client=httpx2.Client(transport=_ToReplay(replay)))

    with client:
        client.responses.retrieve(RESPONSE_ID)

    (started,) = at_start.seen
    expected = {"gen_ai.provider.name": provider, "server.address": address, "server.port": port}
    assert {key: started.get(key) for key in expected} == expected
    assert {key: chat_span(otel).attributes[key] for key in expected} == expected


def test_provider_name_override(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrument(provider_name="acme")

    openai_client().responses.retrieve(RESPONSE_ID)

    assert chat_span(otel).attributes["gen_ai.provider.name"] == "acme"
    assert one_point(otel, DURATION).attributes["gen_ai.provider.name"] == "acme"


def test_uninstrument_stops_tracing_retrieve(replay: Any, otel: Any, instrument: Any, openai_client: Any) -> None:
    replay.add("GET", PATH, body=stored_response())
    instrumentor = instrument()
    client = openai_client()
    raw_retrieve = client.responses.with_raw_response.retrieve  # bound while instrumented

    instrumentor.uninstrument()
    client.responses.retrieve(RESPONSE_ID)
    raw_retrieve(RESPONSE_ID).parse()

    assert otel.spans() == []
