"""`with traceglass.start_span(...)` / `async with`, the LiveSpan wrapper, and failure isolation."""

from __future__ import annotations

import asyncio
import json

import pytest
from opentelemetry.trace import StatusCode

import traceglass
from tests.tracing.conftest import by_name, inputs, outputs, parent_id


def test_with_block_is_current_and_records(tracing):
    @traceglass.trace
    def inner():
        return 1

    with traceglass.start_span("step", span_type="RETRIEVER", attributes={"k": 1}) as span:
        span.set_inputs({"query": "q"})
        inner()
        span.set_attribute("a", "b")
        span.set_attributes({"c": 2})
        span.set_outputs(["doc"])
        assert len(span.trace_id) == 32 and len(span.span_id) == 16
    spans = by_name(tracing)
    step = spans["step"]
    assert parent_id(spans[inner.__qualname__]) == step.context.span_id
    assert inputs(step) == {"query": "q"} and outputs(step) == ["doc"]
    assert step.attributes["k"] == 1 and step.attributes["a"] == "b" and step.attributes["c"] == 2
    assert step.attributes["traceglass.span.type"] == "RETRIEVER"
    assert step.attributes["gen_ai.operation.name"] == "retrieval"
    assert span.span is not None and not span.span.is_recording()  # ended


def test_exception_in_block_recorded_and_reraised(tracing):
    error = TimeoutError("slow")
    with pytest.raises(TimeoutError) as caught, traceglass.start_span("step"):
        raise error
    assert caught.value is error
    span = tracing.span()
    assert span.status.status_code is StatusCode.ERROR
    assert span.attributes["error.type"] == "TimeoutError"
    assert span.events[0].name == "exception"


def test_async_with(tracing):
    async def main():
        async with traceglass.start_span("outer") as outer:
            outer.set_outputs("done")
            async with traceglass.start_span("inner"):
                await asyncio.sleep(0)

    asyncio.run(main())
    spans = by_name(tracing)
    assert parent_id(spans["inner"]) == spans["outer"].context.span_id
    assert outputs(spans["outer"]) == "done"


def test_inputs_not_recorded_without_capture(configure):
    otel = configure()
    with traceglass.start_span("step") as span:
        span.set_inputs({"secret": "s"})
        assert not span.captures_content
    assert "traceglass.span.inputs" not in otel.span().attributes


def test_no_content_by_default(configure):
    otel = configure()

    @traceglass.trace
    def secret(password):
        return password

    secret("hunter2")
    assert not any("hunter2" in str(v) for v in otel.span().attributes.values())
    assert "traceglass.span.inputs" not in otel.span().attributes


def test_env_var_turns_capture_on(configure, monkeypatch):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    otel = configure()
    traceglass.trace(lambda x: x)(5)
    assert outputs(otel.span()) == 5


def test_not_recording_builds_no_json(monkeypatch):
    # No SDK provider: the global provider is a no-op; inputs must not even be serialized.
    traceglass.configure()

    def boom(*args, **kwargs):
        raise AssertionError("serialized while not recording")

    monkeypatch.setattr(traceglass.semconv, "value_to_json", boom)

    @traceglass.trace
    def f(x):
        return x

    assert f(3) == 3
    with traceglass.start_span("s") as span:
        span.set_outputs(1)


class _BrokenTracer:
    def start_span(self, *args, **kwargs):
        raise RuntimeError("broken tracer")


def test_broken_tracer_never_reaches_the_user(tracing, monkeypatch, caplog):
    from traceglass import _config

    monkeypatch.setattr(_config.current(), "tracer", _BrokenTracer())

    @traceglass.trace
    def f(x):
        return x * 2

    @traceglass.trace
    def g():
        yield 1

    assert f(2) == 4
    assert list(g()) == [1]
    with traceglass.start_span("s") as span:
        span.set_outputs(1)
    live = traceglass.start_span_no_context("x")
    live.end(outputs=1)
    assert tracing.spans() == []
    assert "broken tracer" in caplog.text


def test_unserializable_output_uses_str(tracing):
    class Weird:
        def __str__(self):
            return "weird"

    cyclic: list = []
    cyclic.append(cyclic)
    with traceglass.start_span("s") as span:
        span.set_outputs({"w": Weird(), "cyclic": cyclic, b"k": b"\x00"})
    assert outputs(tracing.span()) == {"w": "weird", "cyclic": ["<cycle>"], "b'k'": "AA=="}


def test_value_to_json_cap_keeps_valid_json():
    to_json = traceglass.semconv.value_to_json
    assert to_json({"a": "x" * 100}, 60).startswith('{"a":"xxx')
    for value in ({f"k{i}": i for i in range(100)}, "y" * 1000, list(range(500))):
        text = to_json(value, 50)
        assert len(text) <= 50
        json.loads(text)
