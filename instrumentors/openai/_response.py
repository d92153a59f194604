"""openai SDK results → Invocation fields.

SDK types read: openai.types.chat.ChatCompletion (and ParsedChatCompletion),
openai.types.responses.Response, openai.types.CreateEmbeddingResponse,
openai.types.Completion, openai.types.CompletionUsage (openai 3.x). Any field may be missing
or null on OpenAI-compatible servers; every read tolerates that.
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import (
    FetchInvocation,
    Invocation,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    ServerToolCallPart,
    TextPart,
    ToolCallRequestPart,
    Usage,
)
from traceglass.semconv import names as N

from ._request import parse_arguments, stored_request_content

__all__ = ["apply_chat", "apply_completion", "apply_embeddings", "apply_fetched", "apply_response", "chat_usage",
           "finish_reason"]

# OpenAI's finish reasons → the conventions' FinishReason values.
_FINISH_REASONS = {"tool_calls": "tool_call", "function_call": "tool_call"}


def finish_reason(value: Any) -> str:
    if not isinstance(value, str) or not value:
        return "error"
    return _FINISH_REASONS.get(value, value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def chat_usage(usage: Any) -> Usage | None:
    """CompletionUsage: prompt_tokens already include cached ones, completion_tokens reasoning."""
    if usage is None:
        return None
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    completion_details = getattr(usage, "completion_tokens_details", None)
    return Usage.normalized(
        getattr(usage, "prompt_tokens", None),
        getattr(usage, "completion_tokens", None),
        cache_read=getattr(prompt_details, "cached_tokens", None),
        cache_write=getattr(prompt_details, "cache_write_tokens", None),
        reasoning=getattr(completion_details, "reasoning_tokens", None),
    )


# Each result type is asked only for the fields it has: asking a pydantic model for one it lacks
# costs ~2.5 µs (its __getattr__ raises). A Completion has no service tier, a Response no fingerprint.
def _common(inv: Invocation, result: Any, service_tier: bool, fingerprint: bool) -> None:
    inv.response_id = _str(getattr(result, "id", None))
    inv.response_model = _str(getattr(result, "model", None))
    tier = _str(getattr(result, "service_tier", None)) if service_tier else None
    if tier:
        inv.attributes[N.OPENAI_RESPONSE_SERVICE_TIER] = tier
    system_fingerprint = _str(getattr(result, "system_fingerprint", None)) if fingerprint else None
    if system_fingerprint:
        inv.attributes[N.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = system_fingerprint


def apply_chat(inv: Invocation, result: Any, content: bool) -> None:
    _common(inv, result, service_tier=True, fingerprint=True)
    choices = getattr(result, "choices", None) or ()
    inv.finish_reasons = [finish_reason(getattr(c, "finish_reason", None)) for c in choices]
    inv.usage = chat_usage(getattr(result, "usage", None))
    if content:
        inv.output_messages = [_chat_output(c) for c in choices]


def _chat_output(choice: Any) -> OutputMessage:
    message = getattr(choice, "message", None)
    parts: list[MessagePart] = []
    text = getattr(message, "content", None)
    if isinstance(text, str):
        parts.append(TextPart(text))
    refusal = getattr(message, "refusal", None)
    if isinstance(refusal, str):
        parts.append(TextPart(refusal))
    for call in getattr(message, "tool_calls", None) or ():
        # A field a pydantic model lacks costs ~2.5 µs to ask for: `custom` only when needed.
        function = getattr(call, "function", None)
        if function is not None:
            parts.append(ToolCallRequestPart(getattr(function, "name", None) or "", getattr(call, "id", None),
                                             parse_arguments(getattr(function, "arguments", None))))
        elif (custom := getattr(call, "custom", None)) is not None:
            parts.append(ToolCallRequestPart(getattr(custom, "name", None) or "", getattr(call, "id", None),
                                             getattr(custom, "input", None)))
    function_call = getattr(message, "function_call", None)
    if function_call is not None:
        parts.append(ToolCallRequestPart(getattr(function_call, "name", None) or "", None,
                                         parse_arguments(getattr(function_call, "arguments", None))))
    role = getattr(message, "role", None)
    return OutputMessage(role if isinstance(role, str) else "assistant", parts,
                         finish_reason(getattr(choice, "finish_reason", None)))


def apply_completion(inv: Invocation, result: Any, content: bool) -> None:
    _common(inv, result, service_tier=False, fingerprint=True)
    choices = getattr(result, "choices", None) or ()
    inv.finish_reasons = [finish_reason(getattr(c, "finish_reason", None)) for c in choices]
    inv.usage = chat_usage(getattr(result, "usage", None))
    if content:
        inv.output_messages = [
            OutputMessage("assistant", [TextPart(_str(getattr(c, "text", None)) or "")],
                          finish_reason(getattr(c, "finish_reason", None)))
            for c in choices
        ]


def apply_embeddings(inv: Invocation, result: Any, content: bool) -> None:
    inv.response_model = _str(getattr(result, "model", None))
    usage = getattr(result, "usage", None)
    if usage is not None:
        inv.usage = Usage.normalized(getattr(usage, "prompt_tokens", None))
    data = getattr(result, "data", None)
    if data and inv.embedding_dimension_count is None:
        vector = getattr(data[0], "embedding", None)
        if isinstance(vector, list):
            inv.embedding_dimension_count = len(vector)
        elif isinstance(vector, str):  # base64 of float32 values, when asked for explicitly
            # Unpadded base64: 4 characters per 3 bytes; never negative, whatever the text.
            inv.embedding_dimension_count = len(vector.rstrip("=")) * 3 // 4 // 4


# --- Responses API ---------------------------------------------------------------------------------

_INCOMPLETE_REASONS = {"max_output_tokens": "length", "content_filter": "content_filter"}
_PENDING = frozenset({"queued", "in_progress"})


def response_usage(usage: Any) -> Usage | None:
    if usage is None:
        return None
    return Usage.normalized(
        getattr(usage, "input_tokens", None),
        getattr(usage, "output_tokens", None),
        cache_read=getattr(getattr(usage, "input_tokens_details", None), "cached_tokens", None),
        reasoning=getattr(getattr(usage, "output_tokens_details", None), "reasoning_tokens", None),
    )


def apply_response(inv: Invocation, result: Any, content: bool) -> None:
    """A Response: the result of responses.create/parse, or carried by the final stream event."""
    _common(inv, result, service_tier=True, fingerprint=False)
    inv.usage = response_usage(getattr(result, "usage", None))
    output = getattr(result, "output", None) or ()
    status = getattr(result, "status", None)
    if status in _PENDING:
        # background=True: the call returns as soon as the response is queued. Nothing has finished,
        # and the output comes later, through responses.retrieve().
        return
    if status == "incomplete":
        reason = getattr(getattr(result, "incomplete_details", None), "reason", None)
        finish = _INCOMPLETE_REASONS.get(reason, reason) if isinstance(reason, str) else "length"
    elif status in ("failed", "cancelled"):
        finish = "error"
        code = getattr(getattr(result, "error", None), "code", None)
        inv.error_type = code if isinstance(code, str) and code else status
    elif any(getattr(item, "type", None) == "function_call" for item in output):
        finish = "tool_call"
    else:
        finish = "stop"
    inv.finish_reasons = [finish]
    if content:
        parts: list[MessagePart] = []
        for item in output:
            parts.extend(_response_output_parts(item))
        inv.output_messages = [OutputMessage("assistant", parts, finish)]


def apply_fetched(inv: FetchInvocation, result: Any, content: bool) -> None:
    """A Response read back by responses.retrieve (fetch_response), or carried by the final event of
    its stream.

    The finish reason comes from the status as for a created response (completed: its stop reason;
    incomplete: why it was cut short; failed, cancelled: error; queued, in_progress: none). But a
    failed generation is a successful fetch, so no error type; and no usage: fetching consumes none.
    """
    requested = inv.response_id
    apply_response(inv, result, content)
    inv.usage = None
    inv.error_type = None
    if requested is not None:
        inv.response_id = requested
    status = getattr(result, "status", None)
    inv.response_status = status if isinstance(status, str) and status else None
    if content:
        stored_request_content(inv, result)


def _response_output_parts(item: Any) -> list[MessagePart]:
    kind = getattr(item, "type", None)
    if kind == "message":
        parts: list[MessagePart] = []
        for block in getattr(item, "content", None) or ():
            text = getattr(block, "text", None)
            if text is None:
                text = getattr(block, "refusal", None)
            if isinstance(text, str):
                parts.append(TextPart(text))
        return parts
    if kind == "function_call":
        return [ToolCallRequestPart(_str(getattr(item, "name", None)) or "", _str(getattr(item, "call_id", None)),
                                    parse_arguments(getattr(item, "arguments", None)))]
    if kind == "reasoning":
        texts = [getattr(s, "text", None) for s in getattr(item, "summary", None) or ()]
        texts += [getattr(c, "text", None) for c in getattr(item, "content", None) or ()]
        text = "\n".join(t for t in texts if isinstance(t, str))
        return [ReasoningPart(text)] if text else []
    if isinstance(kind, str) and kind.endswith("_call"):  # web_search_call, file_search_call, ...
        return [ServerToolCallPart(kind[: -len("_call")], {"type": kind}, _str(getattr(item, "id", None)))]
    return []
