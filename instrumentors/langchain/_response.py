"""LangChain model-run end → Invocation fields.

Reads (langchain-core 1.x): `LLMResult.generations: list[list[Generation | ChatGeneration]]`,
`ChatGeneration.message` (AIMessage: content, tool_calls, usage_metadata {input_tokens,
output_tokens, input_token_details{cache_read, cache_creation}, output_token_details{reasoning}},
response_metadata {id, model_name, finish_reason | stop_reason | done_reason}),
`Generation.generation_info` {finish_reason}, and `LLMResult.llm_output` {token_usage, model_name}.
Values the provider instrumentor already merged in (see semconv nesting) are kept: they come from
the provider's own response.
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import Invocation, OutputMessage, TextPart, Usage

from ._request import content_parts, tool_call_parts

__all__ = ["apply_result"]

# Provider finish reasons (OpenAI's, Anthropic's stop_reason) → the conventions' FinishReason, as
# the provider instrumentors map them.
_FINISH = {"tool_calls": "tool_call", "function_call": "tool_call", "tool_use": "tool_call",
           "end_turn": "stop", "stop_sequence": "stop", "max_tokens": "length",
           "model_context_window_exceeded": "length", "refusal": "content_filter"}


def _finish_reason(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "error"
    return _FINISH.get(value, value)


def apply_result(inv: Invocation, response: Any, content: bool) -> None:
    generations = [g for batch in (getattr(response, "generations", None) or []) for g in batch]
    reasons: list[str] = []
    outputs: list[OutputMessage] = []
    usage: Usage | None = None
    for generation in generations:
        message = getattr(generation, "message", None)
        meta = getattr(message, "response_metadata", None) or {}
        info = getattr(generation, "generation_info", None) or {}
        reason = _finish_reason(meta.get("finish_reason") or meta.get("stop_reason") or meta.get("done_reason")
                                or info.get("finish_reason"))
        reasons.append(reason)
        if inv.response_id is None and isinstance(meta.get("id"), str):
            inv.response_id = meta["id"]
        if inv.response_model is None and isinstance(meta.get("model_name") or meta.get("model"), str):
            inv.response_model = meta.get("model_name") or meta.get("model")
        if usage is None:
            usage = _usage(getattr(message, "usage_metadata", None))
        if content:
            if message is not None:
                parts = content_parts(getattr(message, "content", None)) + tool_call_parts(message)
            else:
                parts = [TextPart(str(getattr(generation, "text", "")))]
            outputs.append(OutputMessage("assistant", parts, reason))
    llm_output = getattr(response, "llm_output", None) or {}
    if usage is None:
        usage = _usage_dict(llm_output.get("token_usage") or llm_output.get("usage"))
    if inv.response_model is None and isinstance(llm_output.get("model_name"), str):
        inv.response_model = llm_output["model_name"]
    if inv.finish_reasons is None and reasons:
        inv.finish_reasons = reasons
    if inv.usage is None:
        inv.usage = usage
    if content and outputs:
        inv.output_messages = outputs  # LangChain's merged message: complete for streams too


def _usage(meta: Any) -> Usage | None:
    if not isinstance(meta, dict):
        return None
    inputs = meta.get("input_token_details") or {}
    outputs = meta.get("output_token_details") or {}
    # LangChain's input_tokens already include cached tokens, output_tokens include reasoning.
    return Usage.normalized(meta.get("input_tokens"), meta.get("output_tokens"), cache_read=inputs.get("cache_read"),
                            cache_write=inputs.get("cache_creation"), reasoning=outputs.get("reasoning"))


def _usage_dict(usage: Any) -> Usage | None:
    if not isinstance(usage, dict):
        return None
    return Usage.normalized(_first(usage.get("prompt_tokens"), usage.get("input_tokens")),
                            _first(usage.get("completion_tokens"), usage.get("output_tokens")))


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)
