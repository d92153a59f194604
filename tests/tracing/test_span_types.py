"""Span types: traceglass.span.type and the GenAI operation each maps to (one semconv table)."""

from __future__ import annotations

import pytest

import traceglass
from traceglass import SpanType

_EXPECTED = {
    "CHAT_MODEL": "chat",
    "LLM": "text_completion",
    "AGENT": "invoke_agent",
    "TOOL": "execute_tool",
    "RETRIEVER": "retrieval",
    "EMBEDDING": "embeddings",
    "WORKFLOW": "invoke_workflow",
}


def test_members():
    assert [t.value for t in SpanType] == [
        "LLM", "CHAT_MODEL", "CHAIN", "AGENT", "TOOL", "RETRIEVER", "EMBEDDING", "RERANKER", "PARSER",
        "MEMORY", "WORKFLOW", "TASK", "GUARDRAIL", "EVALUATOR", "UNKNOWN",
    ]
    assert SpanType.TOOL == "TOOL" and str(SpanType.TOOL) == "TOOL"


def test_table():
    assert traceglass.semconv.SPAN_TYPE_OPERATIONS == _EXPECTED


@pytest.mark.parametrize("span_type", list(SpanType))
def test_each_type_on_a_span(tracing, span_type):
    with traceglass.start_span("search_web", span_type=span_type):
        pass
    attrs = tracing.span().attributes
    assert attrs["traceglass.span.type"] == span_type.value
    assert attrs.get("gen_ai.operation.name") == _EXPECTED.get(span_type.value)
    if span_type is SpanType.TOOL:
        assert attrs["gen_ai.tool.name"] == "search_web"
    else:
        assert "gen_ai.tool.name" not in attrs
    # Inference spans require a provider: the conventions' "_OTHER" when the code does not say.
    inference = span_type in (SpanType.CHAT_MODEL, SpanType.LLM, SpanType.EMBEDDING)
    assert attrs.get("gen_ai.provider.name") == ("_OTHER" if inference else None)


def test_the_provider_given_wins_over_other(tracing):
    with traceglass.start_span("my-model", span_type="CHAT_MODEL", attributes={"gen_ai.provider.name": "openai"}):
        pass
    assert tracing.span().attributes["gen_ai.provider.name"] == "openai"


def test_custom_string_and_none(tracing):
    @traceglass.trace(span_type="MY_STEP")
    def f():
        return 1

    f()
    with traceglass.start_span("plain"):
        pass
    custom, plain = tracing.spans()
    assert custom.attributes["traceglass.span.type"] == "MY_STEP"
    assert "gen_ai.operation.name" not in custom.attributes
    assert "traceglass.span.type" not in plain.attributes


def test_operation_is_a_start_attribute(configure):
    """Sampling-relevant: the sampler sees gen_ai.operation.name at span start."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.sampling import Decision, Sampler, SamplingResult

    seen = []

    class Recording(Sampler):
        def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None, links=None):
            seen.append(dict(attributes or {}))
            return SamplingResult(Decision.RECORD_AND_SAMPLE)

        def get_description(self):
            return "recording"

    provider = TracerProvider(sampler=Recording(), shutdown_on_exit=False)
    traceglass.configure(tracer_provider=provider)
    with traceglass.start_span("get_weather", span_type=SpanType.TOOL):
        pass
    assert seen[0]["gen_ai.operation.name"] == "execute_tool" and seen[0]["gen_ai.tool.name"] == "get_weather"
