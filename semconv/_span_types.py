"""Span types of the manual tracing API, and the one table mapping them to GenAI operations.

Spec: GenAI semconv gen-ai-dev 1.42.0-dev, spans (§2 of the digest): well-known
`gen_ai.operation.name` values. A span type with no matching operation (CHAIN, PARSER, ...) gets
only `traceglass.span.type`; custom strings are allowed and are recorded as given.
"""

from __future__ import annotations

import enum
from typing import Any

from . import _names as N

__all__ = ["OTHER_PROVIDER", "SPAN_TYPE_OPERATIONS", "SpanType", "span_type_attributes"]


class SpanType(str, enum.Enum):
    """What a manually traced span does, as MLflow Tracing names it. Any other string is allowed."""

    LLM = "LLM"
    CHAT_MODEL = "CHAT_MODEL"
    CHAIN = "CHAIN"
    AGENT = "AGENT"
    TOOL = "TOOL"
    RETRIEVER = "RETRIEVER"
    EMBEDDING = "EMBEDDING"
    RERANKER = "RERANKER"
    PARSER = "PARSER"
    MEMORY = "MEMORY"
    WORKFLOW = "WORKFLOW"
    TASK = "TASK"
    GUARDRAIL = "GUARDRAIL"
    EVALUATOR = "EVALUATOR"
    UNKNOWN = "UNKNOWN"

    def __str__(self) -> str:
        return self.value


SPAN_TYPE_OPERATIONS: dict[str, str] = {
    SpanType.CHAT_MODEL.value: N.CHAT,
    SpanType.LLM.value: N.TEXT_COMPLETION,
    SpanType.AGENT.value: N.INVOKE_AGENT,
    SpanType.TOOL.value: N.EXECUTE_TOOL,
    SpanType.RETRIEVER.value: N.RETRIEVAL,
    SpanType.EMBEDDING.value: N.EMBEDDINGS,
    SpanType.WORKFLOW.value: N.INVOKE_WORKFLOW,
}
"""span type -> gen_ai.operation.name, where the conventions have one."""


def span_type_attributes(span_type: str | None, span_name: str) -> dict[str, Any]:
    """Start attributes (sampling-relevant, so set at start) for a span of `span_type`."""
    if span_type is None:
        return {}
    value = span_type.value if isinstance(span_type, SpanType) else str(span_type)
    attrs: dict[str, Any] = {N.SPAN_TYPE: value}
    operation = SPAN_TYPE_OPERATIONS.get(value)
    if operation is not None:
        attrs[N.OPERATION_NAME] = operation
        if operation == N.EXECUTE_TOOL:
            attrs[N.TOOL_NAME] = span_name  # Required on execute_tool spans
        elif operation in _INFERENCE:
            # Required on inference spans; "_OTHER" is the conventions' value for a provider the
            # instrumentation does not know. Attributes the caller passes (or sets later) win.
            attrs[N.PROVIDER_NAME] = OTHER_PROVIDER
    return attrs


OTHER_PROVIDER = "_OTHER"
_INFERENCE = frozenset({N.CHAT, N.TEXT_COMPLETION, N.EMBEDDINGS})
