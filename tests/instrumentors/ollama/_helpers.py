"""Helpers shared by the ollama instrumentor tests.

Scenarios run against a sync or an async ollama client through the OpenAI tests' ``run()`` (ollama's
AsyncClient is an async context manager too). The schema and metric checks are the OpenAI tests' own.
Responses the cassettes lack (``/api/embed``, streamed tool calls) are written here, shaped as the
Ollama API documents them.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

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
    check_content,
    content,
    drain,
    next_item,
    one_point,
    parts,
    points,
    run,
    span_attributes,
)

__all__ = [
    "ASYNC", "DETAILS_EVENT", "DURATION", "INPUT", "JOKE", "OUTPUT", "PNG", "SYSTEM", "TOKENS", "TOOLS", "TTFC",
    "WEATHER_TOOL", "StartAttributes", "assert_no_content", "aw", "call", "cassette", "chat_chunk", "chat_span",
    "check_content", "content", "drain", "durations", "embed_body", "next_item", "one_point", "parts", "points",
    "run", "span_attributes", "text", "tool_call_stream",
]

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)

JOKE = [{"role": "user", "content": "Tell me a joke about OpenTelemetry"}]
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_current_weather",
        "description": "Get the current weather in a city.",
        "parameters": {"type": "object", "required": ["city"],
                       "properties": {"city": {"type": "string", "description": "The city name."}}},
    },
}
# A 1x1 transparent PNG.
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")

_DURATION_FIELDS = ("load_duration", "prompt_eval_duration", "eval_duration", "total_duration")


def cassette(name: str) -> str:
    return f"ollama/{name}.yaml"


def call(method: str, *args: Any, **kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
    """Scenario: ``client.<method>(*args, **kwargs)``; a stream is read to the end and its chunks returned."""

    async def scenario(client: Any) -> Any:
        result = await aw(getattr(client, method)(*args, **kwargs))
        return await drain(result) if kwargs.get("stream") else result

    return scenario


def text(value: str) -> dict[str, str]:
    """A text part as recorded in gen_ai.*.messages."""
    return {"type": "text", "content": value}


def durations(body: dict[str, Any]) -> dict[str, float]:
    """The ollama.* span attributes expected for a response body: its nanosecond timings in seconds."""
    return {f"ollama.{field}": body[field] / 1e9 for field in _DURATION_FIELDS if field in body}


# --- responses the cassettes lack ------------------------------------------------------------------

_CREATED = "2026-08-07T06:08:09.335586Z"


def chat_chunk(model: str, content: str = "", done: bool = False, **fields: Any) -> dict[str, Any]:
    """One NDJSON line of a streamed /api/chat answer; ``message`` fields (thinking, tool_calls) go in ``fields``."""
    message = {"role": "assistant", "content": content}
    for key in ("thinking", "tool_calls"):
        if key in fields:
            message[key] = fields.pop(key)
    return {"model": model, "created_at": _CREATED, "message": message, "done": done, **fields}


FINAL_COUNTS = {"done_reason": "stop", "total_duration": 1735248334, "load_duration": 139246000,
                "prompt_eval_count": 292, "prompt_eval_duration": 247164000, "eval_count": 143,
                "eval_duration": 1337032000}


def tool_call_stream(model: str = "qwen3.6:latest") -> list[dict[str, Any]]:
    """A streamed tool call: thinking pieces, the call whole in one chunk, then the final counts."""
    call_ = {"id": "call_gsiiy8py", "function": {"index": 0, "name": "get_current_weather",
                                                "arguments": {"city": "Paris"}}}
    return [
        chat_chunk(model, thinking="The user wants"),
        chat_chunk(model, thinking=" the weather in Paris."),
        chat_chunk(model, tool_calls=[call_]),
        chat_chunk(model, done=True, **FINAL_COUNTS),
    ]


def embed_body(model: str = "all-minilm", count: int = 2, dimensions: int = 384, **fields: Any) -> dict[str, Any]:
    """An /api/embed answer: one vector per input, with the load and total timings and the prompt count."""
    vectors = [[round(((i * 31 + j * 17) % 200 - 100) / 1000, 3) for j in range(dimensions)] for i in range(count)]
    return {"model": model, "embeddings": vectors, "total_duration": 14143917, "load_duration": 1019500,
            "prompt_eval_count": 8 * count, **fields}
