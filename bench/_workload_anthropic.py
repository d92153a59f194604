"""Anthropic workload for bench/overhead.py: an in-process fake Messages API and two calls.

The real ``anthropic`` client answers through ``httpx2.MockTransport``; the bodies are encoded
once up front (see _workload.py for why), with the same ~200-token answer and markers:

* anthropic_chat    ``messages.create``: system prompt + 3 messages, ~200-token text answer,
                    usage with the cache fields, the headers api.anthropic.com sends
* anthropic_stream  ``messages.create(stream=True)``: message_start, content_block_start, ping,
                    100 content_block_delta (text_delta), content_block_stop, message_delta
                    (stop_reason + usage), message_stop; one SSE event per network read, consumed

The SDK's own OpenTelemetry tracing: anthropic 2.x records a span per call by itself whenever a
global tracer provider is set, which bench/overhead.py does. By default the clients are built
with ``open_telemetry=False`` in both modes, so the baseline is an untraced client, as for
OpenAI and Ollama; ``make_calls(sdk_tracing=True)`` keeps the SDK default instead (see README.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from _workload import ANSWER, N_CHUNKS, PROMPT_MARKER, split_answer

SCENARIOS = ("anthropic_chat", "anthropic_stream")

MODEL = "claude-sonnet-4-5"
RESPONSE_MODEL = "claude-sonnet-4-5-20250929"
MAX_TOKENS = 1024
SYSTEM = "You explain observability to backend engineers in one short paragraph."
MESSAGES = [
    {"role": "user", "content": "I have a question about distributed tracing."},
    {"role": "assistant", "content": "Hello! What would you like to know about tracing?"},
    {"role": "user", "content": f"What is a trace, and what does a model-call span hold? ({PROMPT_MARKER})"},
]

USAGE = {"input_tokens": 61, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
         "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
         "output_tokens": 201, "service_tier": "standard"}

# Headers a real api.anthropic.com response carries.
_HEADERS = {
    "date": "Wed, 26 Nov 2025 10:00:00 GMT", "server": "cloudflare", "cf-ray": "9a4c0e1f2b3d4e5f-FRA",
    "cf-cache-status": "DYNAMIC", "x-robots-tag": "none", "request-id": "req_011CBenchBenchBenchBench01",
    "anthropic-organization-id": "00000000-0000-4000-8000-00000000be0c", "via": "1.1 google",
    "strict-transport-security": "max-age=31536000; includeSubDomains; preload",
    "x-envoy-upstream-service-time": "3120",
    **{f"anthropic-ratelimit-{kind}-{field}": value for kind, limit in (
        ("requests", "4000"), ("tokens", "2400000"), ("input-tokens", "2000000"), ("output-tokens", "400000"))
       for field, value in (("limit", limit), ("remaining", str(int(limit) - 1)),
                            ("reset", "2025-11-26T10:00:01Z"))},
}


def _enc(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _message(content: list, stop_reason: str | None, usage: dict) -> dict:
    return {"model": RESPONSE_MODEL, "id": "msg_01BenchBenchBenchBench0001", "type": "message",
            "role": "assistant", "content": content, "stop_reason": stop_reason, "stop_sequence": None,
            "usage": usage}


def _sse(event: dict) -> bytes:
    return b"event: " + event["type"].encode() + b"\ndata: " + _enc(event) + b"\n\n"


def _stream_events() -> list[bytes]:
    start_usage = {**USAGE, "output_tokens": 1}
    events = [{"type": "message_start", "message": _message([], None, start_usage)},
              {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
              {"type": "ping"}]
    events += [{"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": piece}}
               for piece in split_answer(N_CHUNKS)]
    final_usage = {k: USAGE[k] for k in ("input_tokens", "cache_creation_input_tokens",
                                         "cache_read_input_tokens", "output_tokens")}
    events += [{"type": "content_block_stop", "index": 0},
               {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": final_usage},
               {"type": "message_stop"}]
    return [_sse(e) for e in events]


# events the caller iterates over: the SDK drops the ping
STREAM_EVENTS = N_CHUNKS + 5


def _responders() -> dict[str, Callable[[Any], Any]]:
    import httpx2

    body = _enc(_message([{"type": "text", "text": ANSWER}], "end_turn", USAGE))
    json_headers = {**_HEADERS, "content-type": "application/json", "content-length": str(len(body))}
    events = _stream_events()
    sse_headers = {**_HEADERS, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}

    def route(request) -> Any:
        if request.url.path != "/v1/messages":
            return httpx2.Response(404, json={"type": "error", "error": {"type": "not_found_error",
                                                                         "message": request.url.path}})
        return None

    def chat(request):
        return route(request) or httpx2.Response(200, headers=json_headers, content=body)

    def stream(request):
        # an iterator body: the client reads one SSE event per network read, as from a real server
        return route(request) or httpx2.Response(200, headers=sse_headers, content=iter(events))

    return {"anthropic_chat": chat, "anthropic_stream": stream}


_RESPONDERS: dict[str, Callable[[Any], Any]] | None = None


def make_calls(sdk_tracing: bool = False) -> dict[str, Callable[[], Any]]:
    """Fresh Anthropic clients (one per scenario, each on its own fake) and one callable per scenario.

    ``sdk_tracing=False`` builds them with ``open_telemetry=False`` (the SDK records no span of
    its own); True leaves the option unset, the SDK default (its span whenever a global tracer
    provider is set)."""
    global _RESPONDERS
    import anthropic
    import httpx2

    if _RESPONDERS is None:
        _RESPONDERS = _responders()
    otel = {} if sdk_tracing else {"open_telemetry": False}
    clients = {s: anthropic.Anthropic(api_key="sk-ant-bench", base_url="http://fake-anthropic.invalid",
                                      max_retries=0, **otel,
                                      http_client=httpx2.Client(transport=httpx2.MockTransport(r)))
               for s, r in _RESPONDERS.items()}

    def chat():
        r = clients["anthropic_chat"].messages.create(model=MODEL, max_tokens=MAX_TOKENS, system=SYSTEM,
                                                      messages=MESSAGES)
        return r.content[0].text, r.stop_reason, r.usage.output_tokens

    def stream():
        text, stop, usage, n = [], None, None, 0
        for event in clients["anthropic_stream"].messages.create(model=MODEL, max_tokens=MAX_TOKENS,
                                                                 system=SYSTEM, messages=MESSAGES, stream=True):
            n += 1
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                text.append(event.delta.text)
            elif event.type == "message_delta":
                stop, usage = event.delta.stop_reason, event.usage
        return n, "".join(text), stop, usage

    return {"anthropic_chat": chat, "anthropic_stream": stream}


def response_problem(scenario: str, result: Any) -> str | None:
    """None when the caller got exactly what the fake sent (instrumentation must not alter it)."""
    if scenario == "anthropic_chat":
        return None if result == (ANSWER, "end_turn", USAGE["output_tokens"]) else "anthropic answer differs"
    if scenario == "anthropic_stream":
        n, text, stop, usage = result
        if n != STREAM_EVENTS:
            return f"anthropic stream: {n} events instead of {STREAM_EVENTS}"
        if text != ANSWER:
            return "anthropic stream: text differs"
        return None if stop == "end_turn" and usage is not None and usage.output_tokens == USAGE["output_tokens"] \
            else "anthropic stream: message_delta lost"
    return f"unknown scenario {scenario}"
