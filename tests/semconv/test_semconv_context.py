"""The context of an invocation's SDK call: `current_invocation()` and the stand-in span an SDK's own
tracing gets instead of starting a second span for the same operation."""

from __future__ import annotations

from opentelemetry import context, trace
from semconv_kit import Pipelines
from traceglass.semconv import Invocation, current_invocation


def test_current_invocation_is_set_only_inside_the_call(kit: Pipelines) -> None:
    handle = kit.telemetry().start(Invocation(operation="chat", provider="anthropic", request_model="m"))
    assert current_invocation() is None

    token = context.attach(handle.context())
    try:
        assert current_invocation() is handle
        assert trace.get_current_span().get_span_context() == handle.stand_in_span().get_span_context()
        handle.finish()
        assert current_invocation() is None  # an ended invocation no longer claims the context
    finally:
        context.detach(token)

    assert current_invocation() is None
    assert current_invocation(handle.context()) is None


def test_stand_in_span_records_nothing_and_carries_the_invocation_span_context(kit: Pipelines) -> None:
    handle = kit.telemetry().start(Invocation(operation="chat", provider="anthropic", request_model="m"))

    stand_in = handle.stand_in_span()
    stand_in.set_attribute("gen_ai.operation.name", "other")
    stand_in.end()
    handle.finish()

    assert not stand_in.is_recording() and stand_in.get_span_context().is_valid
    (span,) = kit.spans()
    assert span.get_span_context() == stand_in.get_span_context()
    assert span.attributes["gen_ai.operation.name"] == "chat"


def test_nested_inference_adds_the_request_attributes_the_framework_did_not_know(kit: Pipelines) -> None:
    telemetry = kit.telemetry()
    outer = telemetry.start(Invocation(operation="chat", provider="_OTHER", temperature=0.2), enrichable=True)
    inner = telemetry.start(Invocation(operation="chat", provider="openai", request_model="gpt-4o", temperature=0.7,
                                       seed=7, output_type="json", reasoning_level="low"),
                            context=outer.context())
    inner.finish()
    outer.finish()

    (span,) = kit.spans()
    attributes = dict(span.attributes or {})
    assert {key: attributes.get(key) for key in ("gen_ai.request.model", "gen_ai.request.seed", "gen_ai.output.type",
                                                 "gen_ai.request.reasoning.level")} == {
        "gen_ai.request.model": "gpt-4o", "gen_ai.request.seed": 7, "gen_ai.output.type": "json",
        "gen_ai.request.reasoning.level": "low"}
    # What the outer span started with stays: it is what a sampler saw.
    assert attributes["gen_ai.request.temperature"] == 0.2
    (point,) = kit.points("gen_ai.client.operation.duration")
    assert point.attributes["gen_ai.request.model"] == "gpt-4o"
