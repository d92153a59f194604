"""Helpers shared by the Anthropic instrumentor tests.

Scenarios run against a sync or an async client through the OpenAI tests' ``run`` / ``aw`` (see
tests/instrumentors/openai/_helpers.py), whose content-schema checks (``chat_span``) they reuse.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

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
    assert_no_content,
    aw,
    chat_span,
    check_content,
    content,
    drain,
    next_item,
    one_point,
    opened,
    parts,
    points,
    run,
    span_attributes,
    text_part,
)

__all__ = [
    "ASYNC",
    "DURATION",
    "HELLO",
    "INPUT",
    "MODEL",
    "OUTPUT",
    "SYSTEM",
    "TOKENS",
    "TOOLS",
    "TTFC",
    "WEATHER_TOOL",
    "StartAttributes",
    "assert_no_content",
    "aw",
    "cassette",
    "chat_span",
    "check_content",
    "content",
    "create",
    "drain",
    "instrument_anthropic",
    "message_body",
    "next_item",
    "one_point",
    "opened",
    "parts",
    "points",
    "run",
    "span_attributes",
    "sse_events",
    "text_deltas",
    "text_part",
    "tool_call",
    "user",
]

ASYNC = pytest.mark.parametrize("is_async", IS_ASYNC, ids=IDS)

MODEL = "claude-sonnet-4-20250514"
HELLO = [{"role": "user", "content": "Say hello in one word."}]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Get the current weather in a given location",
    "input_schema": {"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"]},
}


def cassette(name: str) -> str:
    return f"anthropic/{name}.yaml"


def instrument_anthropic(instrument: Callable[..., Any], **kw: Any) -> Any:
    from traceglass.instrumentors.anthropic import AnthropicInstrumentor

    return instrument(AnthropicInstrumentor, **kw)


def create(**kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
    """Scenario: ``client.messages.create(**kwargs)``; a stream is read to the end (its events returned)."""

    async def scenario(client: Any) -> Any:
        result = await aw(client.messages.create(**kwargs))
        return await drain(result) if kwargs.get("stream") else result

    return scenario


def user(text: str) -> dict[str, Any]:
    """An input message as recorded in gen_ai.input.messages."""
    return {"role": "user", "parts": [text_part(text)]}


def tool_call(call_id: str, name: str, arguments: Any) -> dict[str, Any]:
    return {"type": "tool_call", "id": call_id, "name": name, "arguments": arguments}


def message_body(*blocks: dict[str, Any], stop_reason: str | None = "end_turn", **fields: Any) -> dict[str, Any]:
    """A Messages API `Message` JSON, as the API sends it; `fields` override top-level keys."""
    return {
        "id": "msg_01XFDUDYJgAACzvnptvVoYEL", "type": "message", "role": "assistant", "model": MODEL,
        "content": list(blocks) or [{"type": "text", "text": "Hello!"}], "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 12, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                  "output_tokens": 6, "service_tier": "standard"},
        **fields,
    }


def sse_events(*deltas: dict[str, Any], stop_reason: str | None = "end_turn", stop: bool = True,
               start_block: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A realistic raw event stream for one content block: message_start, content_block_start,
    the given deltas, content_block_stop, message_delta (when `stop_reason`), message_stop (when `stop`)."""
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {**message_body(), "content": [], "stop_reason": None,
                                              "usage": {"input_tokens": 12, "output_tokens": 1}}},
        {"type": "content_block_start", "index": 0, "content_block": start_block or {"type": "text", "text": ""}},
        *({"type": "content_block_delta", "index": 0, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": 0},
    ]
    if stop_reason is not None:
        events.append({"type": "message_delta", "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                       "usage": {"output_tokens": 7}})
    if stop:
        events.append({"type": "message_stop"})
    return events


def text_deltas(*texts: str) -> list[dict[str, Any]]:
    return [{"type": "text_delta", "text": t} for t in texts]
