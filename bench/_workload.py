"""OpenAI workload for bench/overhead.py: an in-process fake OpenAI server and the four calls.

The fake answers through ``httpx2.MockTransport`` (openai 3.x's own HTTP library), so no
socket is opened. Every response body is encoded once up front: the fake then costs the
same with and without instrumentation and cancels out of the difference.

The shapes match the peer overhead harness (see README.md) so figures can be compared:

* chat        3-message prompt, ~200-token answer
* stream      100 SSE content chunks + 1 usage chunk (stream_options.include_usage), consumed
* tools       2 tools offered, 2 tool calls returned
* embeddings  16 inputs, text-embedding-3-small, 1536 dims, base64 wire format (SDK default)

Marker strings sit in the prompts and answers so a check can prove that content capture put
them on the span. ANSWER, the markers and ``split_answer`` are shared with the Anthropic and
Ollama workloads (_workload_anthropic.py, _workload_ollama.py).
"""

from __future__ import annotations

import array
import base64
import json
import random
from collections.abc import Callable
from typing import Any

SCENARIOS = ("chat", "stream", "tools", "embeddings")

PROMPT_MARKER = "TG-BENCH-PROMPT-8812"
ANSWER_MARKER = "TG-BENCH-ANSWER-3307"

MODEL = "gpt-4o-mini"
RESPONSE_MODEL = "gpt-4o-mini-2024-07-18"
EMBED_MODEL = "text-embedding-3-small"
EMBED_DIMS = 1536
N_INPUTS = 16
N_CHUNKS = 100

# ~200 tokens of answer text
ANSWER = (
    "A trace is the path of one request through a system, recorded as a tree of spans. Every "
    "span names one operation, carries its start and end timestamps, a status and a bag of "
    "attributes, and points at its parent through the span context that is propagated with the "
    "request. For an application built on a language model the spans that matter most are the "
    "model calls: they say which provider and model served the request, how many input and "
    "output tokens it used, why generation stopped and, when an operator enables content "
    f"capture, what was sent and what came back ({ANSWER_MARKER}). Prompts can be long and may "
    "hold personal data, which is why capture is opt-in. What users pay for tracing is the work "
    "done on the calling thread: reading the request, building attributes, wrapping the "
    "response stream and handing the finished span to a batch processor that exports it later "
    "from a background thread, away from the request path."
)

MESSAGES = [
    {"role": "system", "content": "You explain observability to backend engineers in one short paragraph."},
    {"role": "assistant", "content": "Hello! What would you like to know about tracing?"},
    {"role": "user", "content": f"What is a trace, and what does a model-call span hold? ({PROMPT_MARKER})"},
]

TOOL_MESSAGES = [
    {"role": "system", "content": "You are a travel assistant. Call tools when they help."},
    {"role": "user", "content": f"Weather in Lisbon and local time in Osaka, please. ({PROMPT_MARKER})"},
]
TOOLS = [
    {"type": "function", "function": {
        "name": "get_weather", "description": "Current weather for a city.",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "City and country code, e.g. Lisbon, PT"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}}}},
    {"type": "function", "function": {
        "name": "get_local_time", "description": "Current local time for a city.",
        "parameters": {"type": "object", "required": ["city"], "properties": {
            "city": {"type": "string", "description": "City and country code"}}}}},
]
TOOL_CALLS = [("get_weather", {"city": "Lisbon, PT", "unit": "celsius", "ref": ANSWER_MARKER}),
              ("get_local_time", {"city": "Osaka, JP"})]

EMBED_INPUTS = [f"Passage {i}: spans, events and links recorded for order {1000 + i} in the billing "
                f"service ({PROMPT_MARKER})" for i in range(N_INPUTS)]

USAGE = {"prompt_tokens": 58, "completion_tokens": 201, "total_tokens": 259,
         "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
         "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                       "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}

# Headers a real api.openai.com response carries (the client parses some of them).
_HEADERS = {
    "openai-organization": "org-bench", "openai-project": "proj_bench", "openai-version": "2020-10-01",
    "openai-processing-ms": "640", "x-request-id": "req_bench00000000000000000000000001",
    "x-ratelimit-limit-requests": "10000", "x-ratelimit-remaining-requests": "9999",
    "x-ratelimit-limit-tokens": "10000000", "x-ratelimit-remaining-tokens": "9999700",
    "x-ratelimit-reset-requests": "6ms", "x-ratelimit-reset-tokens": "1ms",
    "server": "cloudflare", "cf-cache-status": "DYNAMIC",
}


def _enc(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _completion(cid: str, message: dict, finish: str, usage: dict) -> bytes:
    return _enc({"id": cid, "object": "chat.completion", "created": 1764100000, "model": RESPONSE_MODEL,
                 "system_fingerprint": "fp_bench01", "service_tier": "default",
                 "choices": [{"index": 0, "message": {"refusal": None, "annotations": [], **message},
                              "logprobs": None, "finish_reason": finish}],
                 "usage": usage})


def split_answer(n: int) -> list[str]:
    """ANSWER cut at word boundaries into ``n`` pieces that join back to it (the streamed deltas)."""
    words = ANSWER.split(" ")
    bounds = [round(i * len(words) / n) for i in range(n + 1)]
    pieces = [(" " if i else "") + " ".join(words[bounds[i]:bounds[i + 1]]) for i in range(n)]
    assert "".join(pieces) == ANSWER
    return pieces


def _stream_events() -> list[bytes]:
    pieces = split_answer(N_CHUNKS)
    base = {"id": "chatcmpl-bench-stream", "object": "chat.completion.chunk", "created": 1764100000,
            "model": RESPONSE_MODEL, "system_fingerprint": "fp_bench01", "service_tier": "default"}
    events = []
    for i, piece in enumerate(pieces):
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        events.append({**base, "usage": None, "choices": [
            {"index": 0, "delta": delta, "logprobs": None,
             "finish_reason": "stop" if i == N_CHUNKS - 1 else None}]})
    events.append({**base, "choices": [], "usage": USAGE})
    return [b"data: " + _enc(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def _embeddings() -> bytes:
    data = []
    for i in range(N_INPUTS):
        rnd = random.Random(i)
        vec = array.array("f", [rnd.uniform(-0.1, 0.1) for _ in range(EMBED_DIMS)])
        b64 = base64.b64encode(vec.tobytes()).decode()
        data.append({"object": "embedding", "index": i, "embedding": b64})
    return _enc({"object": "list", "model": EMBED_MODEL, "data": data,
                 "usage": {"prompt_tokens": 370, "total_tokens": 370}})


def _responders() -> dict[str, Callable[[Any], Any]]:
    import httpx2

    chat = _completion("chatcmpl-bench-chat", {"role": "assistant", "content": ANSWER}, "stop", USAGE)
    tool_calls = [{"id": f"call_bench{i}", "type": "function",
                   "function": {"name": name, "arguments": json.dumps(args)}}
                  for i, (name, args) in enumerate(TOOL_CALLS)]
    tools = _completion("chatcmpl-bench-tools",
                        {"role": "assistant", "content": None, "tool_calls": tool_calls}, "tool_calls",
                        {**USAGE, "prompt_tokens": 131, "completion_tokens": 48, "total_tokens": 179})
    embeddings = _embeddings()
    events = _stream_events()
    sse_headers = {**_HEADERS, "content-type": "text/event-stream; charset=utf-8"}

    def json_responder(path: str, body: bytes):
        headers = {**_HEADERS, "content-type": "application/json", "content-length": str(len(body))}

        def respond(request):
            if not request.url.path.endswith(path):
                return httpx2.Response(404, json={"error": {"message": f"no route {request.url.path}"}})
            return httpx2.Response(200, headers=headers, content=body)
        return respond

    def stream_responder(request):
        # an iterator body: the client reads one SSE event per network read, as from a real server
        return httpx2.Response(200, headers=sse_headers, content=iter(events))

    return {"chat": json_responder("/chat/completions", chat), "stream": stream_responder,
            "tools": json_responder("/chat/completions", tools),
            "embeddings": json_responder("/embeddings", embeddings)}


_RESPONDERS: dict[str, Callable[[Any], Any]] | None = None


def make_calls() -> dict[str, Callable[[], Any]]:
    """Fresh OpenAI clients (one per scenario, each on its own fake) and one callable per scenario."""
    global _RESPONDERS
    import httpx2
    import openai

    if _RESPONDERS is None:
        _RESPONDERS = _responders()
    clients = {s: openai.OpenAI(api_key="sk-bench", base_url="http://fake-openai.invalid/v1", max_retries=0,
                                http_client=httpx2.Client(transport=httpx2.MockTransport(r)))
               for s, r in _RESPONDERS.items()}

    def chat():
        r = clients["chat"].chat.completions.create(model=MODEL, messages=MESSAGES, temperature=0.3,
                                                    max_completion_tokens=300)
        return r.choices[0].message.content

    def stream():
        text, usage, n = [], None, 0
        for chunk in clients["stream"].chat.completions.create(
                model=MODEL, messages=MESSAGES, temperature=0.3, max_completion_tokens=300,
                stream=True, stream_options={"include_usage": True}):
            n += 1
            if chunk.choices and chunk.choices[0].delta.content:
                text.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                usage = chunk.usage
        return n, "".join(text), usage

    def tools():
        r = clients["tools"].chat.completions.create(model=MODEL, messages=TOOL_MESSAGES, tools=TOOLS,
                                                     tool_choice="auto", temperature=0)
        calls = r.choices[0].message.tool_calls
        return [(tc.function.name, json.loads(tc.function.arguments)) for tc in calls]

    def embeddings():
        r = clients["embeddings"].embeddings.create(model=EMBED_MODEL, input=EMBED_INPUTS)
        return [len(d.embedding) for d in r.data]

    return {"chat": chat, "stream": stream, "tools": tools, "embeddings": embeddings}


def response_problem(scenario: str, result: Any) -> str | None:
    """None when the caller got exactly what the fake sent (instrumentation must not alter it)."""
    if scenario == "chat":
        return None if result == ANSWER else "chat answer differs"
    if scenario == "stream":
        n, text, usage = result
        if n != N_CHUNKS + 1:
            return f"stream: {n} chunks instead of {N_CHUNKS + 1}"
        if text != ANSWER:
            return "stream: text differs"
        return None if usage is not None and usage.completion_tokens == USAGE["completion_tokens"] \
            else "stream: usage chunk lost"
    if scenario == "tools":
        return None if result == [(n, a) for n, a in TOOL_CALLS] else f"tool calls differ: {result!r:.80}"
    if scenario == "embeddings":
        return None if result == [EMBED_DIMS] * N_INPUTS else "embeddings shape differs"
    return f"unknown scenario {scenario}"
