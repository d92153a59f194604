"""What the demo's replay server answers: OpenAI- and Anthropic-shaped responses, built per request.

The conversations are written out below; ids, timestamps and request ids are made fresh for each
request, as a provider would, so two runs of the demo never share a response id. Bodies follow the
shapes the providers send (OpenAI chat completion and `chat.completion.chunk` SSE with a usage-only
last chunk; Anthropic `message`), including the fields SDKs and instrumentations read: usage with
cached tokens, finish / stop reasons, system fingerprints, tool calls.
"""

from __future__ import annotations

import dataclasses
import json
import secrets
import string
import time
from collections.abc import Mapping
from typing import Any

__all__ = ["AGENT_SYSTEM", "SCENARIOS", "WEATHER", "Reply", "answer"]

_ALNUM = string.ascii_letters + string.digits


@dataclasses.dataclass(frozen=True)
class Reply:
    """One HTTP response. `events` (SSE) are written one by one, `delay` seconds apart, after
    `first_delay`; otherwise `body` is written whole after `first_delay` (the model's latency)."""

    status: int
    headers: Mapping[str, str]
    body: bytes = b""
    events: tuple[bytes, ...] = ()
    first_delay: float = 0.0
    delay: float = 0.0


# -- the conversations ---------------------------------------------------------------------------

OPENAI_MODEL = "gpt-4o-mini-2024-07-18"
ANTHROPIC_MODEL = "claude-sonnet-4-5-20250929"

AGENT_SYSTEM = (
    "You are a travel assistant for a city-break company. Use the tools for anything that changes "
    "by the hour (weather, opening times); never guess them. Answer in two or three sentences, "
    "mention the numbers you relied on, and suggest one concrete thing to do."
)
WEATHER = {"city": "Lisbon", "temperature_c": 19, "conditions": "sunny", "wind_kmh": 14,
           "rain_probability": 0.05}


@dataclasses.dataclass(frozen=True)
class _Turn:
    """One model answer: text or tool calls, with the usage the provider reports for it."""

    text: str = ""
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()  # (function name, arguments)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0
    latency: float = 0.3


SCENARIOS: dict[str, tuple[_Turn, ...]] = {
    "chat": (_Turn(
        text="For three days in Lisbon in March:\n\n"
             "- A light waterproof jacket: showers come and go.\n"
             "- Layers: mornings are around 10 °C, afternoons reach 18 °C.\n"
             "- Shoes with grip: the hills and the polished calçada stones are slippery when wet.\n"
             "- Sunglasses: the light off the river is bright when the sun is out.",
        prompt_tokens=38, completion_tokens=79, latency=0.35),),
    "stream": (_Turn(
        text="Spans unfold like rain,\nthe database call lingers;\none red bar says why.",
        prompt_tokens=27, completion_tokens=21),),
    # The agent's second request repeats the first one's prefix (system prompt and tool
    # definitions), which the provider serves from its prompt cache.
    "agent": (
        _Turn(tool_calls=(("get_weather", {"city": "Lisbon"}),), prompt_tokens=1158, completion_tokens=17,
              latency=0.25),
        _Turn(text="Yes: it is 19 °C and sunny in Lisbon this afternoon, with a light 14 km/h breeze and a 5% "
                   "chance of rain. Walk the riverside from Cais do Sodré to Belém and stop for a pastel de "
                   "nata on the way; bring a light layer for the wind by the water.",
              prompt_tokens=1216, completion_tokens=64, cached_tokens=1152, latency=0.3),
    ),
    "chain": (_Turn(text="Où se trouve la gare la plus proche, s'il vous plaît ?", prompt_tokens=33,
                    completion_tokens=16, latency=0.2),),
    "anthropic": (_Turn(text="They're going to the museum tomorrow, whether or not it rains.", prompt_tokens=41,
                        completion_tokens=18, cached_tokens=0, latency=0.3),),
}

_RATE_LIMITED = {
    "error": {
        "message": "Rate limit reached for gpt-4o in organization org-demo on tokens per min (TPM): Limit 30000, "
                   "Used 29874, Requested 1254. Please try again in 2.256s. Visit "
                   "https://platform.openai.com/account/rate-limits to learn more.",
        "type": "tokens",
        "param": None,
        "code": "rate_limit_exceeded",
    }
}


# -- answering -----------------------------------------------------------------------------------


def answer(scenario: str, endpoint: str, request: Mapping[str, Any]) -> Reply:
    """The reply to `POST /<scenario>/v1/<endpoint>` with JSON body `request`."""
    if scenario == "error" and endpoint == "chat/completions":
        headers = {**_openai_headers(), "retry-after": "3", "x-ratelimit-limit-tokens": "30000",
                   "x-ratelimit-remaining-tokens": "126", "x-ratelimit-reset-tokens": "2.256s"}
        return Reply(429, headers, _json(_RATE_LIMITED), first_delay=0.05)
    turns = SCENARIOS.get(scenario)
    if turns is None or endpoint not in ("chat/completions", "messages"):
        return _not_found(endpoint)
    # A tool-calling loop sends the model's earlier turns back: the number of assistant turns in
    # the request says which answer is next (stateless, so a retried request gets the same one).
    messages = request.get("messages") or []
    done = sum(1 for message in messages if isinstance(message, dict) and message.get("role") == "assistant")
    turn = turns[min(done, len(turns) - 1)]
    model = str(request.get("model") or "")
    if endpoint == "messages":
        return _anthropic_message(turn, model)
    if request.get("stream"):
        include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
        return _openai_stream(turn, model, include_usage)
    return _openai_completion(turn, model)


def _openai_completion(turn: _Turn, model: str) -> Reply:
    message: dict[str, Any] = {"role": "assistant", "content": turn.text or None, "refusal": None,
                               "annotations": []}
    if turn.tool_calls:
        message["tool_calls"] = [_tool_call(name, arguments) for name, arguments in turn.tool_calls]
    body = {
        "id": _id("chatcmpl-", 29),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": _response_model(model, OPENAI_MODEL),
        "choices": [{"index": 0, "message": message, "logprobs": None,
                     "finish_reason": "tool_calls" if turn.tool_calls else "stop"}],
        "usage": _openai_usage(turn),
        "service_tier": "default",
        "system_fingerprint": "fp_560af6e559",
    }
    return Reply(200, _openai_headers(), _json(body), first_delay=turn.latency)


def _openai_stream(turn: _Turn, model: str, include_usage: bool) -> Reply:
    head = {"id": _id("chatcmpl-", 29), "object": "chat.completion.chunk", "created": int(time.time()),
            "model": _response_model(model, OPENAI_MODEL), "service_tier": "default",
            "system_fingerprint": "fp_560af6e559"}

    def chunk(delta: dict[str, Any], finish_reason: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}
        return _sse({**head, "choices": [choice], **({"usage": None} if include_usage else {})})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    # One chunk per word (and its following space or newline), as the API streams short tokens.
    words: list[str] = []
    for line in turn.text.split("\n"):
        words.extend(word + " " for word in line.split(" "))
        words[-1] = words[-1][:-1] + "\n"
    words[-1] = words[-1][:-1]
    events.extend(chunk({"content": word}) for word in words)
    events.append(chunk({}, "stop"))
    if include_usage:
        events.append(_sse({**head, "choices": [], "usage": _openai_usage(turn)}))
    events.append(b"data: [DONE]\n\n")
    headers = {**_openai_headers(), "content-type": "text/event-stream; charset=utf-8"}
    return Reply(200, headers, events=tuple(events), first_delay=0.18, delay=0.025)


def _anthropic_message(turn: _Turn, model: str) -> Reply:
    content: list[dict[str, Any]] = [{"type": "text", "text": turn.text}] if turn.text else []
    content += [{"type": "tool_use", "id": _id("toolu_01", 22), "name": name, "input": arguments}
                for name, arguments in turn.tool_calls]
    body = {
        "model": _response_model(model, ANTHROPIC_MODEL),
        "id": _id("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "content": content,
        "stop_reason": "tool_use" if turn.tool_calls else "end_turn",
        "stop_sequence": None,
        "usage": {
            # Anthropic's input_tokens exclude the tokens read from or written to the cache.
            "input_tokens": turn.prompt_tokens - turn.cached_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": turn.cached_tokens,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": turn.completion_tokens,
            "service_tier": "standard",
        },
    }
    headers = {"content-type": "application/json", "request-id": _id("req_011C", 20),
               "anthropic-organization-id": "00000000-0000-4000-8000-000000000000"}
    return Reply(200, headers, _json(body), first_delay=turn.latency)


def _not_found(endpoint: str) -> Reply:
    error = {"error": {"message": f"The demo replay has no answer for /v1/{endpoint}.",
                       "type": "invalid_request_error", "param": None, "code": "unknown_url"}}
    return Reply(404, {"content-type": "application/json"}, _json(error))


# -- pieces --------------------------------------------------------------------------------------


def _tool_call(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"id": _id("call_", 24), "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments, separators=(",", ":"))}}


def _openai_usage(turn: _Turn) -> dict[str, Any]:
    return {
        "prompt_tokens": turn.prompt_tokens,
        "completion_tokens": turn.completion_tokens,
        "total_tokens": turn.prompt_tokens + turn.completion_tokens,
        "prompt_tokens_details": {"cached_tokens": turn.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0, "accepted_prediction_tokens": 0,
                                      "rejected_prediction_tokens": 0},
    }


def _openai_headers() -> dict[str, str]:
    return {"content-type": "application/json", "x-request-id": "req_" + secrets.token_hex(16),
            "openai-organization": "org-demo", "openai-processing-ms": "312", "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "10000", "x-ratelimit-remaining-requests": "9999"}


def _response_model(requested: str, snapshot: str) -> str:
    """The dated snapshot a provider answers with for an alias (gpt-4o-mini -> gpt-4o-mini-2024-07-18)."""
    return snapshot if snapshot.startswith(requested) else requested or snapshot


def _id(prefix: str, length: int) -> str:
    return prefix + "".join(secrets.choice(_ALNUM) for _ in range(length))


def _json(document: Any) -> bytes:
    return json.dumps(document, ensure_ascii=False).encode()


def _sse(document: Any) -> bytes:
    return b"data: " + json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode() + b"\n\n"
