"""Never break the application: odd but well-formed Ollama responses through the real client.

Each example is served over real HTTP twice: once with instrumentation suppressed (exactly what the
bare SDK does) and once traced. The application must get the same result or the same exception,
exactly one span must end, and traceglass must not fail inside (nothing logged with a traceback).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.instrumentation.utils import suppress_instrumentation
from traceglass.instrumentors.ollama import OllamaInstrumentor

from tests.instrumentors.ollama._helpers import ASYNC, aw, chat_span, drain, run

PROPERTY = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# --- strategies: JSON an Ollama server (or something claiming to be one) might plausibly send -------

json_scalar = st.none() | st.booleans() | st.integers(-10, 10) | st.text(max_size=6)
json_value = st.recursive(json_scalar, lambda inner: st.lists(inner, max_size=2)
                          | st.dictionaries(st.text(max_size=4), inner, max_size=2), max_leaves=4)
# The SDK's fields are Optional[int]: pydantic also takes digit strings and ints of any size.
count = st.none() | st.integers(-5, 10**13) | st.sampled_from([2**64, "12", 0])
maybe_str = st.none() | st.text(max_size=8)
text = (st.none() | st.text(max_size=12) | st.sampled_from(["", "x" * 20_000, "\u0000\ud7ff\U0001f600"])
        | st.integers(0, 9))  # a number where text belongs: some compatible servers send one
done_reason = st.none() | st.sampled_from(["stop", "length", "load", "unload", "", "tool_calls", "brand_new"])


def obj(required: dict[str, Any] | None = None, **optional: Any) -> st.SearchStrategy[dict[str, Any]]:
    """A JSON object whose optional fields may each be missing; an unknown field may come along."""
    return st.fixed_dictionaries({k: v if isinstance(v, st.SearchStrategy) else st.just(v)
                                  for k, v in (required or {}).items()},
                                 optional={**optional, "x_unknown_field": json_value})


timings = {"done": st.none() | st.booleans(), "done_reason": done_reason, "model": maybe_str,
           "created_at": maybe_str, "prompt_eval_count": count, "eval_count": count, "load_duration": count,
           "prompt_eval_duration": count, "eval_duration": count, "total_duration": count}
tool_call = obj({"function": obj({"name": st.text(max_size=8),
                                  "arguments": st.dictionaries(st.text(max_size=4), json_value, max_size=2)})},
                id=st.text(max_size=6))
message = obj({"role": st.sampled_from(["assistant", "tool", "", "who"])}, content=text, thinking=text,
              images=st.none() | st.just([]), tool_name=maybe_str,
              tool_calls=st.none() | st.lists(tool_call, max_size=2))
chat_response = obj({"message": message}, **timings)
generate_response = obj(response=text, thinking=text, image=st.none() | st.sampled_from(["", "iVBORw0KGgo="]),
                        context=st.none() | st.lists(st.integers(0, 9), max_size=3), **timings)
# A stream may end without its done chunk, or carry an error line (the SDK raises ResponseError).
stream_line = chat_response | st.just({"error": "an error was encountered while running the model"})
embed_response = obj({"embeddings": st.lists(st.lists(st.floats(-1, 1), max_size=4), max_size=2)}, **timings)


# --- running one example ---------------------------------------------------------------------------


def _dump(value: Any) -> Any:
    if isinstance(value, list):
        return [_dump(item) for item in value]
    if hasattr(value, "model_dump"):
        return (type(value).__name__, value.model_dump(warnings=False))
    return value


async def _outcome(call: Callable[[Any], Any], client: Any, stream: bool) -> tuple[Any, ...]:
    """What the application sees: the result (streams read to the end) or the exception raised."""
    items: list[Any] = []
    try:
        result = await aw(call(client))
        if stream:
            items.extend(await drain(result))
            return ("stream", _dump(items))
        return ("result", _dump(result))
    except Exception as exc:
        return ("raised", type(exc), str(exc), _dump(items))


def _check_span(span: Any) -> None:
    for key, value in (span.attributes or {}).items():
        if isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**63, f"{key}={value} does not fit an OTLP int64"
        if key.startswith("gen_ai.usage.") or key == "gen_ai.embeddings.dimension.count":
            assert isinstance(value, int) and value >= 0, f"{key}={value!r}"
        if key.startswith("ollama."):
            assert isinstance(value, float) and value >= 0, f"{key}={value!r}"
        if key == "gen_ai.response.model":
            assert isinstance(value, str) and value, f"{key}={value!r}"
    for key in ("gen_ai.input.messages", "gen_ai.output.messages"):
        for item in json.loads((span.attributes or {}).get(key, "[]")):
            assert isinstance(item["role"], str) and isinstance(item.get("finish_reason", ""), str), item
            for part in item["parts"]:
                assert isinstance(part.get("content", ""), str) and isinstance(part.get("name", ""), str), part


@pytest.fixture
def never_breaks(replay: Any, otel: Any, instrument: Any, caplog: Any, ollama_client: Any) -> Any:
    instrument(OllamaInstrumentor)
    caplog.set_level(logging.DEBUG, logger="traceglass")

    def check(is_async: bool, register: Callable[[], Any], call: Callable[[Any], Any], stream: bool = False) -> None:
        replay.reset()
        otel.clear()
        caplog.clear()
        register()  # the server repeats the last response: both calls get the same one

        async def scenario(client: Any) -> tuple[Any, Any]:
            with suppress_instrumentation():
                bare = await _outcome(call, client, stream)
            assert otel.spans() == [], "suppressed call was traced"
            return bare, await _outcome(call, client, stream)

        bare, traced = run(ollama_client, is_async, scenario)

        assert traced == bare
        span = chat_span(otel)  # exactly one span; its content matches the GenAI JSON schemas
        _check_span(span)
        if bare[0] == "raised":
            assert span.attributes["error.type"].endswith(bare[1].__name__)
        failures = [r for r in caplog.records if r.name == "traceglass" and r.exc_info]
        assert not failures, caplog.text

    return check


HI = [{"role": "user", "content": "hi"}]


@ASYNC
@PROPERTY
@given(body=chat_response)
def test_chat(is_async: bool, never_breaks: Any, replay: Any, body: dict[str, Any]) -> None:
    never_breaks(is_async, lambda: replay.add("POST", "/api/chat", body=body),
                 lambda client: client.chat(model="m", messages=HI))


@ASYNC
@PROPERTY
@given(lines=st.lists(stream_line, max_size=4))
def test_chat_stream(is_async: bool, never_breaks: Any, replay: Any, lines: list[Any]) -> None:
    never_breaks(is_async, lambda: replay.add_ndjson("/api/chat", lines),
                 lambda client: client.chat(model="m", messages=HI, stream=True), stream=True)


@PROPERTY
@given(body=generate_response, stream=st.booleans())
def test_generate(never_breaks: Any, replay: Any, body: dict[str, Any], stream: bool) -> None:
    def register() -> None:
        if stream:
            replay.add_ndjson("/api/generate", [body])
        else:
            replay.add("POST", "/api/generate", body=body)

    never_breaks(False, register, lambda client: client.generate(model="m", prompt="p", stream=stream), stream)


@PROPERTY
@given(body=embed_response)
def test_embed(never_breaks: Any, replay: Any, body: dict[str, Any]) -> None:
    never_breaks(False, lambda: replay.add("POST", "/api/embed", body=body),
                 lambda client: client.embed(model="m", input=["a", "b"]))
