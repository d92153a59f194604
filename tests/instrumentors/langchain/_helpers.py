"""Helpers of the LangChain instrumentor tests: a real ChatOpenAI aimed at the replay server, and
readers of the span tree."""

from __future__ import annotations

from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from tests.otel_capture import OTelCapture

CHAT_CALL = "langchain/otel-contrib__test_chat_openai_gpt_3_5_turbo_model_llm_call.yaml"
CHAT_ID = "chatcmpl-DB5VKnX0DBvthDkYqZDgfZVAqhZUk"
TOOL_CALLS = "langchain/openllmetry__test_tool_calls.yaml"
STREAM = "langchain/openllmetry__test_stream.yaml"
STREAM_ID = "chatcmpl-9jn1ZwX0gO8q1lUspfmVKVK2KNduV"
SPAN_TYPE = "traceglass.span.type"
DURATION = "gen_ai.client.operation.duration"


def chat_model(replay: Any, **kw: Any) -> Any:
    from langchain_openai import ChatOpenAI

    options = {"model": "gpt-3.5-turbo", "base_url": replay.url("/v1"), "api_key": "test-key", "max_retries": 0}
    return ChatOpenAI(**{**options, **kw})


def children(otel: OTelCapture, parent: ReadableSpan) -> list[ReadableSpan]:
    """The spans whose parent is `parent`, in start order."""
    span_id = parent.context.span_id
    found = [s for s in otel.spans() if s.parent is not None and s.parent.span_id == span_id]
    return sorted(found, key=lambda s: s.start_time or 0)


def roots(otel: OTelCapture) -> list[ReadableSpan]:
    return sorted((s for s in otel.spans() if s.parent is None), key=lambda s: s.start_time or 0)


def tree(otel: OTelCapture, span: ReadableSpan | None = None) -> Any:
    """(name, [subtrees]) of `span`, or the list of root trees: whole-tree assertions in one line."""
    if span is None:
        return [tree(otel, root) for root in roots(otel)]
    return (span.name, [tree(otel, child) for child in children(otel, span)])


def inference_spans(otel: OTelCapture) -> list[ReadableSpan]:
    return [s for s in otel.spans() if (s.attributes or {}).get("gen_ai.operation.name") in ("chat", "text_completion")]


def attrs(span: ReadableSpan) -> dict[str, Any]:
    return dict(span.attributes or {})
