"""Ollama workload for bench/overhead.py: an in-process fake Ollama server and two calls.

``ollama.Client`` passes its extra keyword arguments to ``httpx.Client``, so it gets an
``httpx.MockTransport`` (plain httpx: the ollama SDK does not use httpx2). Bodies are encoded
once up front (see _workload.py), with the same ~200-token answer and markers:

* ollama_chat    ``chat``: 3 messages, the full /api/chat JSON (durations, eval counts)
* ollama_stream  ``chat(stream=True)``: 100 NDJSON content lines + the final ``done`` line with
                 the durations and counts, one line per network read, fully consumed
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from _workload import ANSWER, MESSAGES, N_CHUNKS, split_answer

SCENARIOS = ("ollama_chat", "ollama_stream")

MODEL = "llama3.2"
HOST = "http://127.0.0.1:11434"
# what a local Ollama reports for a ~200-token answer of llama3.2 3B (nanoseconds)
STATS = {"done_reason": "stop", "total_duration": 4_817_303_917, "load_duration": 21_462_708,
         "prompt_eval_count": 58, "prompt_eval_duration": 96_114_000, "eval_count": 201,
         "eval_duration": 4_688_420_000}
_HEADERS = {"date": "Wed, 26 Nov 2025 10:00:00 GMT"}


def _enc(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _stream_lines() -> list[bytes]:
    lines = [{"model": MODEL, "created_at": f"2025-11-26T10:00:00.{100000 + 46 * i:06d}Z",
              "message": {"role": "assistant", "content": piece}, "done": False}
             for i, piece in enumerate(split_answer(N_CHUNKS))]
    lines.append({"model": MODEL, "created_at": "2025-11-26T10:00:04.917303Z",
                  "message": {"role": "assistant", "content": ""}, "done": True, **STATS})
    return [_enc(line) + b"\n" for line in lines]


def _responders() -> dict[str, Callable[[Any], Any]]:
    import httpx

    body = _enc({"model": MODEL, "created_at": "2025-11-26T10:00:04.917303Z",
                 "message": {"role": "assistant", "content": ANSWER}, "done": True, **STATS})
    json_headers = {**_HEADERS, "content-type": "application/json; charset=utf-8", "content-length": str(len(body))}
    lines = _stream_lines()
    ndjson_headers = {**_HEADERS, "content-type": "application/x-ndjson", "transfer-encoding": "chunked"}

    def route(request) -> Any:
        if request.url.path != "/api/chat":
            return httpx.Response(404, headers={"content-type": "text/plain"}, content=b"404 page not found")
        return None

    def chat(request):
        return route(request) or httpx.Response(200, headers=json_headers, content=body)

    def stream(request):
        # an iterator body: the client reads one NDJSON line per network read, as from a real server
        return route(request) or httpx.Response(200, headers=ndjson_headers, content=iter(lines))

    return {"ollama_chat": chat, "ollama_stream": stream}


_RESPONDERS: dict[str, Callable[[Any], Any]] | None = None


def make_calls() -> dict[str, Callable[[], Any]]:
    """Fresh Ollama clients (one per scenario, each on its own fake) and one callable per scenario."""
    global _RESPONDERS
    import httpx
    import ollama

    if _RESPONDERS is None:
        _RESPONDERS = _responders()
    clients = {s: ollama.Client(host=HOST, transport=httpx.MockTransport(r)) for s, r in _RESPONDERS.items()}

    def chat():
        r = clients["ollama_chat"].chat(model=MODEL, messages=MESSAGES)
        return r.message.content, r.done_reason, r.eval_count

    def stream():
        text, last, n = [], None, 0
        for part in clients["ollama_stream"].chat(model=MODEL, messages=MESSAGES, stream=True):
            n += 1
            text.append(part.message.content or "")
            last = part
        return n, "".join(text), last

    return {"ollama_chat": chat, "ollama_stream": stream}


def response_problem(scenario: str, result: Any) -> str | None:
    """None when the caller got exactly what the fake sent (instrumentation must not alter it)."""
    if scenario == "ollama_chat":
        return None if result == (ANSWER, "stop", STATS["eval_count"]) else "ollama answer differs"
    if scenario == "ollama_stream":
        n, text, last = result
        if n != N_CHUNKS + 1:
            return f"ollama stream: {n} lines instead of {N_CHUNKS + 1}"
        if text != ANSWER:
            return "ollama stream: text differs"
        return None if last is not None and last.done and last.eval_count == STATS["eval_count"] \
            else "ollama stream: final done line lost"
    return f"unknown scenario {scenario}"
