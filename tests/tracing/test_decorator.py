"""@traceglass.trace on functions, coroutines, generators, async generators and methods."""

from __future__ import annotations

import asyncio
import inspect
import json

import pytest
from opentelemetry.trace import SpanKind, StatusCode

import traceglass
from tests.tracing.conftest import by_name, inputs, outputs, parent_id


def test_bare_decorator_records_inputs_and_output(tracing):
    @traceglass.trace
    def add(a, b=2, *rest, **options):
        return {"sum": a + b}

    assert add(1, 3, 4, flag=True) == {"sum": 4}
    span = tracing.span()
    assert span.name.endswith("add") and span.name == add.__qualname__
    assert span.kind is SpanKind.INTERNAL
    assert span.instrumentation_scope.name == "traceglass"
    assert span.instrumentation_scope.schema_url == traceglass.semconv.names.SCHEMA_URL
    assert inputs(span) == {"a": 1, "b": 3, "rest": [4], "options": {"flag": True}}
    assert outputs(span) == {"sum": 4}
    assert span.status.status_code is StatusCode.UNSET


def test_defaults_are_recorded(tracing):
    @traceglass.trace
    def greet(name, greeting="hi"):
        return f"{greeting} {name}"

    greet("bob")
    assert inputs(tracing.span()) == {"name": "bob", "greeting": "hi"}
    assert outputs(tracing.span()) == "hi bob"


def test_name_type_and_attributes(tracing):
    @traceglass.trace(name="answer", span_type=traceglass.SpanType.CHAIN, attributes={"team": "a"})
    def f():
        return None

    f()
    span = tracing.span()
    assert span.name == "answer"
    assert span.attributes["traceglass.span.type"] == "CHAIN"
    assert span.attributes["team"] == "a"
    assert "traceglass.span.outputs" not in span.attributes  # None output: nothing to record


def test_wraps_keeps_name_doc_and_signature():
    def original(x: int, y: str = "a") -> str:
        """Doc."""
        return y * x

    traced = traceglass.trace(original)
    assert traced.__name__ == "original" and traced.__doc__ == "Doc."
    assert inspect.signature(traced) == inspect.signature(original)
    assert traced.__wrapped__ is original


def test_nested_calls_nest(tracing):
    @traceglass.trace
    def inner(x):
        return x * 2

    @traceglass.trace
    def outer(x):
        return inner(x) + 1

    assert outer(2) == 5
    spans = by_name(tracing)
    outer_span = spans[outer.__qualname__]
    inner_span = spans[inner.__qualname__]
    assert parent_id(inner_span) == outer_span.context.span_id
    assert inner_span.context.trace_id == outer_span.context.trace_id
    assert outer_span.parent is None


def test_exception_is_recorded_and_reraised_unchanged(tracing):
    error = ValueError("bad input")

    @traceglass.trace
    def fail():
        raise error

    with pytest.raises(ValueError) as caught:
        fail()
    assert caught.value is error
    span = tracing.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.status.description == "bad input"
    assert span.attributes["error.type"] == "ValueError"
    assert [event.name for event in span.events] == ["exception"]
    assert span.events[0].attributes["exception.message"] == "bad input"


def test_async_function(tracing):
    @traceglass.trace
    async def inner(x):
        await asyncio.sleep(0)
        return x + 1

    @traceglass.trace
    async def outer(x):
        return await inner(x)

    assert asyncio.run(outer(1)) == 2
    spans = by_name(tracing)
    assert parent_id(spans[inner.__qualname__]) == spans[outer.__qualname__].context.span_id
    assert outputs(spans[outer.__qualname__]) == 2


def test_async_exception(tracing):
    @traceglass.trace
    async def fail():
        raise KeyError("k")

    with pytest.raises(KeyError):
        asyncio.run(fail())
    assert tracing.span().attributes["error.type"] == "KeyError"


def test_generator_span_covers_iteration(tracing):
    @traceglass.trace
    def child():
        return "c"

    @traceglass.trace
    def numbers(n):
        for i in range(n):
            child()
            yield i

    gen = numbers(3)
    assert tracing.spans() == []  # not started before the first next()
    assert next(gen) == 0
    assert [s.name for s in tracing.spans()] == [child.__qualname__]  # generator span still open
    assert list(gen) == [1, 2]
    spans = by_name(tracing)
    gen_span = spans[numbers.__qualname__]
    assert outputs(gen_span) == [0, 1, 2]
    assert inputs(gen_span) == {"n": 3}
    assert all(parent_id(s) == gen_span.context.span_id for s in tracing.spans() if s is not gen_span)
    assert gen_span.end_time >= max(s.end_time for s in tracing.spans() if s is not gen_span)


def test_generator_is_not_current_between_yields(tracing):
    @traceglass.trace
    def numbers():
        yield 1
        yield 2

    @traceglass.trace
    def consumer():
        return 0

    gen = numbers()
    next(gen)
    consumer()  # runs between yields: not a child of the generator's span
    gen.close()
    assert by_name(tracing)[consumer.__qualname__].parent is None


def test_generator_close_and_gc_end_the_span(tracing):
    @traceglass.trace
    def numbers():
        yield from range(10)

    gen = numbers()
    next(gen)
    next(gen)
    gen.close()
    span = tracing.span()
    assert outputs(span) == [0, 1]
    assert span.status.status_code is StatusCode.UNSET

    tracing.clear()
    gen = numbers()
    next(gen)
    del gen  # garbage collected (refcount): closed, span ended
    assert outputs(tracing.span()) == [0]


def test_generator_exception_send_and_return(tracing):
    @traceglass.trace
    def echo():
        received = yield "ready"
        yield f"got {received}"
        raise RuntimeError("done badly")

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("x") == "got x"
    with pytest.raises(RuntimeError, match="done badly"):
        next(gen)
    span = tracing.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "RuntimeError"

    @traceglass.trace
    def returns():
        yield 1
        return "value"

    def delegate():
        result = yield from returns()
        assert result == "value"

    assert list(delegate()) == [1]


def test_async_generator(tracing):
    @traceglass.trace
    async def child():
        return 1

    @traceglass.trace
    async def stream(n):
        for i in range(n):
            await child()
            yield i

    async def main():
        items = [item async for item in stream(2)]
        agen = stream(5)
        await agen.__anext__()
        await agen.aclose()
        return items

    assert asyncio.run(main()) == [0, 1]
    streams = [s for s in tracing.spans() if s.name == stream.__qualname__]
    assert [outputs(s) for s in streams] == [[0, 1], [0]]
    children = [s for s in tracing.spans() if s.name == child.__qualname__]
    assert [parent_id(c) for c in children] == [streams[0].context.span_id] * 2 + [streams[1].context.span_id]


def test_methods_exclude_self_and_cls(tracing):
    class Agent:
        @traceglass.trace
        def run(self, question):
            return question.upper()

        @traceglass.trace
        @classmethod
        def build(cls, name):
            return name

        @classmethod
        @traceglass.trace
        def make(cls, name):
            return name

        @traceglass.trace
        @staticmethod
        def helper(value):
            return value

    assert Agent().run("q") == "Q"
    assert Agent.build("b") == "b" and Agent.make("m") == "m" and Agent.helper(1) == 1
    spans = by_name(tracing)
    assert inputs(spans[Agent.run.__qualname__]) == {"question": "q"}
    assert inputs(spans[Agent.build.__qualname__]) == {"name": "b"}
    assert inputs(spans[Agent.make.__qualname__]) == {"name": "m"}
    assert inputs(spans[Agent.helper.__qualname__]) == {"value": 1}
    assert Agent.run.__qualname__.endswith("Agent.run")


def test_size_cap_and_unserializable_inputs(configure):
    otel = configure(capture_content=True, max_content_length=200)

    class Opaque:
        def __str__(self):
            return "<opaque>"

    @traceglass.trace
    def f(obj, text, items):
        return ["y" * 500] * 50

    f(Opaque(), "x" * 1000, {(1, 2): {1, 2}})
    attrs = otel.span().attributes
    assert len(attrs["traceglass.span.inputs"]) <= 200 and len(attrs["traceglass.span.outputs"]) <= 200
    recorded = json.loads(attrs["traceglass.span.inputs"])
    assert recorded["obj"] == "<opaque>"
    assert recorded["text"].endswith(traceglass.semconv.names.TRUNCATION_MARKER)
    assert json.loads(attrs["traceglass.span.outputs"])  # valid JSON, trailing items dropped


def test_inputs_and_outputs_pass_through_the_redactor(tracing):
    @traceglass.trace
    def notify(to, city, attempts=3):
        return {"sent_to": to, "body": f"Rain in {city}"}

    traceglass.set_redactor(lambda text: text.replace("bo@example.org", "[EMAIL]").replace("Oslo", "[CITY]"))
    try:
        assert notify(["bo@example.org"], "Oslo") == {"sent_to": ["bo@example.org"], "body": "Rain in Oslo"}
    finally:
        traceglass.set_redactor(None)
    [span] = tracing.spans()
    assert inputs(span) == {"to": ["[EMAIL]"], "city": "[CITY]", "attempts": 3}
    assert outputs(span) == {"sent_to": ["[EMAIL]"], "body": "Rain in [CITY]"}
