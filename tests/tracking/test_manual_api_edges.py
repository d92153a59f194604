"""The manual tracing API with what real code hands it: callables that are not plain functions
(functools.partial, objects with __call__, properties) and span names that are not strings."""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest

import traceglass
from tests.otel_capture import OTelCapture
from tests.tracking._helpers import read_store


@pytest.fixture
def tracing(otel: OTelCapture) -> Iterator[OTelCapture]:
    traceglass.configure(tracer_provider=otel.tracer_provider, capture_content="SPAN_ONLY")
    yield otel
    traceglass.configure()


def _io(span: Any) -> tuple[Any, Any]:
    attributes = span.attributes
    return (json.loads(attributes["traceglass.span.inputs"]),
            json.loads(attributes["traceglass.span.outputs"]) if "traceglass.span.outputs" in attributes else None)


def test_a_partial_is_traced_under_the_wrapped_function_s_name(tracing: OTelCapture) -> None:
    def add(a: int, b: int) -> int:
        return a + b

    add_one = traceglass.trace(functools.partial(add, 1))

    assert add_one(2) == 3
    (span,) = tracing.spans()
    assert span.name == add.__qualname__
    assert _io(span) == ({"b": 2}, 3)


def test_a_callable_object_is_traced_sync_and_async(tracing: OTelCapture) -> None:
    class Scorer:
        def __call__(self, text: str) -> int:
            return len(text)

    class AsyncScorer:
        async def __call__(self, text: str) -> int:
            await asyncio.sleep(0)
            return len(text) * 2

    score = traceglass.trace(Scorer())
    ascore = traceglass.trace(name="ascore")(AsyncScorer())

    assert score("abc") == 3
    assert asyncio.run(ascore("abc")) == 6
    sync_span, async_span = tracing.spans()
    assert sync_span.name.endswith(".Scorer") and _io(sync_span) == ({"text": "abc"}, 3)
    # An async __call__ is awaited inside its span: the output is the result, not a coroutine.
    assert async_span.name == "ascore" and _io(async_span) == ({"text": "abc"}, 6)


def test_trace_above_property_traces_the_getter(tracing: OTelCapture) -> None:
    class Box:
        @traceglass.trace
        @property
        def size(self) -> int:
            return 7

    assert Box().size == 7
    (span,) = tracing.spans()
    assert span.name.endswith("Box.size") and _io(span) == ({}, 7)


@pytest.mark.parametrize("name", [None, 42])
def test_a_span_name_that_is_not_a_string_is_made_one(tracing: OTelCapture, name: Any) -> None:
    with traceglass.start_span(name):
        pass
    traceglass.start_span_no_context(name).end()

    names = [span.name for span in tracing.spans()]
    assert names == ["span", "span"] if name is None else ["42", "42"]
    assert all(isinstance(n, str) for n in names)


def test_a_span_named_none_does_not_lose_the_batch_it_is_written_with(default_store_url: str) -> None:
    traceglass.set_experiment("names")
    with traceglass.start_span("before"):
        pass
    with traceglass.start_span(None):  # type: ignore[arg-type]
        pass
    with traceglass.start_span("after"):
        pass
    traceglass._pipeline.flush()

    assert sorted(t.info.name for t in read_store(default_store_url)) == ["after", "before", "span"]
