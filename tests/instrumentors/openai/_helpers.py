"""Helpers shared by the OpenAI instrumentor tests.

Scenarios are written once, as ``async def scenario(client)``, and run against a sync or an async
client: ``aw()`` awaits what the async SDK returns and passes sync results through, so the sync
path never awaits anything real. Async clients are created inside the event loop that uses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import inspect
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from tests.otel_capture import OTelCapture

IS_ASYNC = [False, True]
IDS = ["sync", "async"]

INPUT = "gen_ai.input.messages"
OUTPUT = "gen_ai.output.messages"
SYSTEM = "gen_ai.system_instructions"
TOOLS = "gen_ai.tool.definitions"
CONTENT_KEYS = (INPUT, OUTPUT, SYSTEM, TOOLS)
DURATION = "gen_ai.client.operation.duration"
TOKENS = "gen_ai.client.token.usage"
TTFC = "gen_ai.client.operation.time_to_first_chunk"
DETAILS_EVENT = "gen_ai.client.inference.operation.details"

SAY_TEST = [{"role": "user", "content": "Say this is a test"}]

_SCHEMA_DIR = Path(__file__).resolve().parents[2] / "semconv" / "fixtures" / "gen-ai"
_SCHEMA_FILES = {
    INPUT: "gen-ai-input-messages.json",
    OUTPUT: "gen-ai-output-messages.json",
    SYSTEM: "gen-ai-system-instructions.json",
    TOOLS: "gen-ai-tool-definitions.json",
}
# The fields each typed part needs; the schemas alone would accept a broken part as a GenericPart.
_PART_FIELDS = {
    "text": ("content",),
    "tool_call": ("name",),
    "tool_call_response": ("response",),
    "blob": ("modality", "content"),
    "uri": ("modality", "uri"),
    "file": ("modality", "file_id"),
    "reasoning": ("content",),
}


def cassette(name: str) -> str:
    return f"openai/{name}.yaml"


# --- running scenarios ---------------------------------------------------------------------------


def run(make_client: Callable[..., Any], is_async: bool, scenario: Callable[[Any], Awaitable[Any]],
        **client_kw: Any) -> Any:
    """Run ``scenario(client)`` with a fresh sync or async client; returns what it returns."""

    async def main() -> Any:
        if is_async:
            async with make_client(True, **client_kw) as client:
                return await scenario(client)
        return await scenario(make_client(False, **client_kw))

    return asyncio.run(main())


async def aw(value: Any) -> Any:
    """``await`` an async SDK result; a sync one is returned as is."""
    return await value if inspect.isawaitable(value) else value


def _supports(obj: Any, method: str) -> bool:
    # Look through proxies: wrapt.ObjectProxy defines every dunder, sync and async alike.
    return hasattr(type(getattr(obj, "__wrapped__", obj)), method)


async def drain(stream: Any) -> list[Any]:
    if _supports(stream, "__aiter__"):
        return [item async for item in stream]
    return list(stream)


async def next_item(stream: Any) -> Any:
    if _supports(stream, "__anext__"):
        return await stream.__anext__()
    return next(stream)


@contextlib.asynccontextmanager
async def opened(manager: Any) -> AsyncIterator[Any]:
    """``with`` or ``async with``, whichever the object supports."""
    if _supports(manager, "__aenter__"):
        async with manager as value:
            yield value
    else:
        with manager as value:
            yield value


def create(**kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
    """Scenario: ``client.chat.completions.create(**kwargs)``."""

    async def scenario(client: Any) -> Any:
        return await aw(client.chat.completions.create(**kwargs))

    return scenario


# --- reading telemetry ---------------------------------------------------------------------------


def chat_span(otel: OTelCapture) -> ReadableSpan:
    """The one finished span, its content attributes checked against the GenAI JSON schemas."""
    span = otel.span()
    for key in CONTENT_KEYS:
        if key in (span.attributes or {}):
            check_content(key, content(span, key))
    return span


def content(span: ReadableSpan, key: str) -> Any:
    value = (span.attributes or {})[key]
    assert isinstance(value, str), f"{key} should be a JSON string on spans, got {type(value)}"
    return json.loads(value)


def parts(span: ReadableSpan, key: str, index: int = 0) -> list[dict[str, Any]]:
    return content(span, key)[index]["parts"]


def assert_no_content(attributes: Any) -> None:
    present = [key for key in CONTENT_KEYS if key in (attributes or {})]
    assert not present, f"content recorded although capture is off: {present}"


@functools.cache
def _validator(key: str) -> Draft202012Validator:
    schema = json.loads((_SCHEMA_DIR / _SCHEMA_FILES[key]).read_text(encoding="utf-8"))
    return Draft202012Validator(schema)


def check_content(key: str, value: Any) -> None:
    """Validate one content value (a JSON-loaded list) against its schema and the part rules."""
    errors = sorted(_validator(key).iter_errors(value), key=str)
    assert not errors, f"{key} does not match its schema: {errors[0].message}"
    if key in (INPUT, OUTPUT):
        for message in value:
            for part in message["parts"]:
                missing = [f for f in _PART_FIELDS.get(part["type"], ()) if f not in part]
                assert not missing, f"{part['type']} part lacks {missing}: {part}"
            if key == OUTPUT:
                assert message.get("finish_reason"), message


def points(otel: OTelCapture, name: str) -> list[Any]:
    return otel.metrics().get(name, [])


def one_point(otel: OTelCapture, name: str, match: dict[str, Any] | None = None) -> Any:
    """The single data point of metric ``name`` whose attributes include ``match``."""
    wanted = match or {}
    found = [p for p in points(otel, name) if all(p.attributes.get(k) == v for k, v in wanted.items())]
    assert len(found) == 1, f"expected one {name} point with {wanted}, got {[dict(p.attributes) for p in found]}"
    return found[0]


class StartAttributes(SpanProcessor):
    """Remembers each span's attributes as they were at start: what a sampler gets to see."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self.seen.append(dict(span.attributes or {}))


# --- Responses API, embeddings, legacy completions -------------------------------------------------


def sdk_call(method: str, **kwargs: Any) -> Callable[[Any], Awaitable[Any]]:
    """Scenario: ``client.<method>(**kwargs)``, ``method`` dotted ("responses.create", "embeddings.create").

    A returned openai stream is read to the end inside the scenario and its items are returned.
    """

    async def scenario(client: Any) -> Any:
        import openai

        target = client
        for name in method.split("."):
            target = getattr(target, name)
        result = await aw(target(**kwargs))
        if isinstance(result, (openai.Stream, openai.AsyncStream)):
            return await drain(result)
        return result

    return scenario


def span_attributes(span: ReadableSpan) -> dict[str, Any]:
    """The span's attributes as a plain dict, sequences as lists."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in (span.attributes or {}).items()}


RESPONSES_CASSETTE = "openai/otel-contrib__test_responses_{}[content_mode0].yaml"


def text_part(text: str) -> dict[str, Any]:
    """A text part as recorded in gen_ai.*.messages."""
    return {"type": "text", "content": text}


def response_body(**fields: Any) -> dict[str, Any]:
    """A minimal Responses API `Response` JSON answering "ok"; `fields` override or add top-level keys."""
    return {"id": "resp_1", "object": "response", "created_at": 1, "status": "completed", "model": "gpt-4o-2024",
            "output": [{"id": "msg_1", "type": "message", "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": "ok", "annotations": []}]}],
            "parallel_tool_calls": True, "tool_choice": "auto", "tools": [],
            "usage": {"input_tokens": 3, "output_tokens": 1, "total_tokens": 4}, **fields}
