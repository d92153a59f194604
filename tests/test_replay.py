"""The replay server, driven by the real SDK clients (no traceglass involved)."""

from __future__ import annotations

import asyncio
import http.client
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx2
import openai
import pytest

from tests.replay import CASSETTES_DIR, ReplayServer, cassette_path

OPENAI = "openai/otel-contrib__test_chat_completion_"
MESSAGES: list[Any] = [{"role": "user", "content": "Say this is a test"}]
Factory = Callable[..., Any]


def _chunk(content: str | None = None, finish: str | None = None, **extra: Any) -> dict[str, Any]:
    delta = {} if content is None else {"content": content}
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o-mini",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
        **extra,
    }


def test_chat_completion_from_cassette(replay: ReplayServer, openai_client: Factory) -> None:
    replay.load_cassette(OPENAI + "with_content.yaml")

    response = openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert response.choices[0].message.content == "This is a test."
    assert response.usage is not None and response.usage.total_tokens == 17


def test_recorded_headers_are_sent_with_recomputed_length(
    replay: ReplayServer, openai_client: Factory
) -> None:
    replay.load_cassette(OPENAI + "with_content.yaml")

    raw = openai_client().chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)

    # The cassette body is pretty-printed, so the recorded content-length would be wrong.
    assert int(raw.headers["content-length"]) == len(raw.http_response.content)
    assert raw.headers["x-request-id"] == "req_58cff97afd0e7c0bba910ccf0b044a6f"
    assert "transfer-encoding" not in raw.headers
    assert raw.parse().choices[0].message.content == "This is a test."


def test_streaming_cassette_yields_chunks_and_usage(replay: ReplayServer, openai_client: Factory) -> None:
    replay.load_cassette(OPENAI + "streaming.yaml")

    stream = openai_client().chat.completions.create(
        model="gpt-4", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == '"This is a test."'
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 5
    assert "text/event-stream" in stream.response.headers["content-type"]


def test_async_streaming_cassette(replay: ReplayServer, async_openai_client: Factory) -> None:
    replay.load_cassette("openai/otel-contrib__test_async_chat_completion_streaming.yaml")

    async def run() -> list[Any]:
        # The client is created and closed inside the loop: its connections belong to that loop.
        async with async_openai_client() as client:
            stream = await client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
            return [chunk async for chunk in stream]

    chunks = asyncio.run(run())

    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "This is a test."
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 17
    assert replay.last_request.headers["x-stainless-async"].startswith("async")


def test_404_cassette_raises_not_found(replay: ReplayServer, openai_client: Factory) -> None:
    replay.load_cassette(OPENAI + "404.yaml")

    with pytest.raises(openai.NotFoundError) as caught:
        openai_client().chat.completions.create(model="this-model-does-not-exist", messages=MESSAGES)

    assert caught.value.status_code == 404
    assert caught.value.code == "model_not_found"


def test_interactions_are_served_in_order_then_last_repeats(
    replay: ReplayServer, openai_client: Factory
) -> None:
    replay.load_cassette(OPENAI + "tool_calls_with_content.yaml")
    client = openai_client()

    finishes = [client.chat.completions.create(model="m", messages=MESSAGES) for _ in range(3)]

    assert [r.choices[0].finish_reason for r in finishes] == ["tool_calls", "stop", "stop"]


def test_cassette_without_headers_defaults_to_json(replay: ReplayServer, openai_client: Factory) -> None:
    cassette = replay.load_cassette("openai/openinference__test_cached_tokens.yaml")
    assert all(r.content_type == "application/json" for r in cassette.responses)
    client = openai_client()

    usages = [client.chat.completions.create(model="m", messages=MESSAGES).usage for _ in range(2)]

    assert [u.prompt_tokens_details.cached_tokens for u in usages if u and u.prompt_tokens_details] == [
        0,
        1280,
    ]


def test_hand_written_sse_stream_with_delays(replay: ReplayServer, openai_client: Factory) -> None:
    usage = {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}
    events = [_chunk("Hel"), _chunk("lo"), _chunk(finish="stop"), {**_chunk(), "choices": [], "usage": usage}]
    replay.add_sse("/v1/chat/completions", events, first_chunk_delay=0.15, chunk_delay=0.02)

    started = time.perf_counter()
    stream = openai_client().chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)
    arrivals = [(time.perf_counter() - started, chunk) for chunk in stream]

    assert "".join(c.choices[0].delta.content or "" for _, c in arrivals if c.choices) == "Hello"
    assert arrivals[-1][1].usage.total_tokens == 5
    # The body is really streamed: the first chunk waits for first_chunk_delay, later ones trickle in.
    assert arrivals[0][0] >= 0.15
    assert arrivals[-1][0] - arrivals[0][0] >= 0.05


def test_mid_stream_drop_raises_connection_error(replay: ReplayServer, openai_client: Factory) -> None:
    replay.load_cassette(OPENAI + "streaming.yaml", drop_after=3)
    stream = openai_client().chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    received = []

    # Headers (200) arrive before the drop, so create() succeeds and iteration fails.
    with pytest.raises(openai.APIConnectionError) as caught:
        for chunk in stream:
            received.append(chunk)

    assert len(received) == 3
    assert isinstance(caught.value.__cause__, httpx2.RemoteProtocolError)


def test_client_closing_a_stream_early_is_clean(
    replay: ReplayServer, openai_client: Factory, capsys: pytest.CaptureFixture[str]
) -> None:
    replay.load_cassette(OPENAI + "streaming.yaml", chunk_delay=0.02)
    client = openai_client()

    first = client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True)
    next(iter(first))
    first.close()  # the server is still writing this stream
    again = list(client.chat.completions.create(model="gpt-4", messages=MESSAGES, stream=True))

    assert len(again) == 8
    assert capsys.readouterr().err == ""  # no BrokenPipe traceback from the server thread


def test_drop_before_body_fails_the_call(replay: ReplayServer, openai_client: Factory) -> None:
    replay.add("POST", "/v1/chat/completions", body={"unused": True}, drop_after=0)

    with pytest.raises(openai.APIConnectionError):
        openai_client().chat.completions.create(model="m", messages=MESSAGES)


def test_requests_are_recorded(replay: ReplayServer, openai_client: Factory) -> None:
    replay.add("POST", "/v1/chat/completions", body={"error": {"message": "boom"}}, status=400)
    replay.load_cassette(OPENAI + "with_content.yaml")
    client = openai_client()

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(model="a", messages=MESSAGES, extra_query={"x": "1"})
    client.chat.completions.create(model="b", messages=MESSAGES, temperature=0.5)

    first, second = replay.requests
    # The query string is recorded but not used for matching.
    assert (first.method, first.path, first.params) == ("POST", "/v1/chat/completions", {"x": "1"})
    assert first.headers["authorization"] == "Bearer test-key"
    assert first.json == {"model": "a", "messages": MESSAGES}
    assert second.json["temperature"] == 0.5
    assert "stream_options" not in second.json


def test_unmatched_request_gets_501(replay: ReplayServer, openai_client: Factory) -> None:
    with pytest.raises(openai.InternalServerError, match="no response registered for POST /v1/embeddings"):
        openai_client().embeddings.create(model="m", input="x")

    assert [r.path for r in replay.unmatched] == ["/v1/embeddings"]
    replay.unmatched.clear()  # intended here; the fixture would otherwise fail the test


def test_named_event_sse(replay: ReplayServer, openai_client: Factory) -> None:
    # Responses API streams use Anthropic-style "event: <type>" lines and no [DONE] terminator.
    response = {"id": "resp_1", "object": "response", "created_at": 1, "model": "gpt-4o-mini", "output": []}
    events = [
        {"type": "response.created", "sequence_number": 0, "response": {**response, "status": "in_progress"}},
        {"type": "response.output_text.delta", "sequence_number": 1, "item_id": "m", "output_index": 0,
         "content_index": 0, "delta": "Hi", "logprobs": []},
        {"type": "response.completed", "sequence_number": 2, "response": {**response, "status": "completed"}},
    ]  # fmt: skip
    canned = replay.add_sse("/v1/responses", events, event_names="type")
    assert canned.body.startswith(b"event: response.created\ndata: {") and b"[DONE]" not in canned.body

    stream = openai_client().responses.create(model="gpt-4o-mini", input="hi", stream=True)

    assert [event.type for event in stream] == [e["type"] for e in events]


def test_ollama_ndjson(replay: ReplayServer, ollama_client: Factory) -> None:
    base = {"model": "m", "created_at": "2025-01-01T00:00:00Z"}
    replay.add_ndjson(
        "/api/chat",
        [
            {**base, "message": {"role": "assistant", "content": "Hi"}, "done": False},
            {**base, "message": {"role": "assistant", "content": ""}, "done": True, "eval_count": 1},
        ],
    )

    parts = list(ollama_client().chat(model="m", messages=MESSAGES, stream=True))

    assert [(p.message.content, p.done) for p in parts] == [("Hi", False), ("", True)]


def test_cassette_path_resolves_and_reports_missing() -> None:
    assert cassette_path(OPENAI + "404.yaml").is_file()
    with pytest.raises(FileNotFoundError, match="README"):
        cassette_path("openai/nope.yaml")


@pytest.mark.parametrize(
    "path", sorted(CASSETTES_DIR.glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.stem}"
)
def test_every_copied_cassette_replays_exactly(replay: ReplayServer, path: Path) -> None:
    cassette = replay.load_cassette(path)
    # Plain http.client: creating an httpx client per file would cost ~40 ms (TLS context) each.
    connection = http.client.HTTPConnection("127.0.0.1", replay.port, timeout=5)
    try:
        for request, expected in zip(cassette.requests, cassette.responses, strict=True):
            connection.request(request["method"], urlsplit(request["uri"]).path, body=b"{}")
            got = connection.getresponse()
            assert (got.status, got.read()) == (expected.status, expected.body)
            assert int(got.headers["content-length"]) == len(expected.body)
    finally:
        connection.close()
