"""anthropic SDK results → Invocation fields.

SDK types read (anthropic 2.x): anthropic.types.Message (and ParsedMessage, BetaMessage,
ParsedBetaMessage): id, model, role, content[], stop_reason, usage; anthropic.types.Usage and
MessageDeltaUsage: input_tokens (without cached tokens), output_tokens (with thinking tokens),
cache_read_input_tokens, cache_creation_input_tokens, output_tokens_details.thinking_tokens, and
(Usage only) service_tier.
A with_raw_response body is read as the same JSON, as a dict. Any field may be missing, null or
of another type (the SDK does not validate responses); every read tolerates that.
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import Invocation, OutputMessage, Usage
from traceglass.semconv import names as N

from .._stainless import field
from ._request import blocks_parts

__all__ = ["apply_message", "apply_service_tier", "finish_reason", "message_usage"]

# stop_reason → the conventions' FinishReason; others (pause_turn, new ones) pass through.
_FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "model_context_window_exceeded": "length",
    "tool_use": "tool_call",
    "refusal": "content_filter",
}


def finish_reason(value: Any) -> str:
    """The conventions' finish reason for a stop_reason; "error" where none came."""
    if not isinstance(value, str) or not value:
        return "error"
    return _FINISH_REASONS.get(value, value)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def message_usage(usage: Any) -> Usage | None:
    """Usage / MessageDeltaUsage (or their JSON): input_tokens excludes the cache, so the
    conventions' input count adds cache reads and writes back in."""
    if usage is None:
        return None
    return Usage.normalized(
        field(usage, "input_tokens"),
        field(usage, "output_tokens"),
        cache_read=field(usage, "cache_read_input_tokens"),
        cache_write=field(usage, "cache_creation_input_tokens"),
        reasoning=field(field(usage, "output_tokens_details"), "thinking_tokens"),
        input_excludes_cache=True,
    )


def apply_service_tier(inv: Invocation, usage: Any) -> None:
    """The tier that served the request (usage.service_tier: "standard", "priority", "batch")."""
    tier = _str(field(usage, "service_tier"))
    if tier:
        inv.attributes[N.ANTHROPIC_RESPONSE_SERVICE_TIER] = tier


def apply_message(inv: Invocation, message: Any, content: bool) -> None:
    """A whole Message: the result of create/parse, or a raw response's JSON body."""
    inv.response_id = _str(field(message, "id"))
    inv.response_model = _str(field(message, "model"))
    finish = finish_reason(field(message, "stop_reason"))
    inv.finish_reasons = [finish]
    usage = field(message, "usage")
    inv.usage = message_usage(usage)
    apply_service_tier(inv, usage)
    if content:
        role = field(message, "role")
        inv.output_messages = [OutputMessage(role if isinstance(role, str) else "assistant",
                                             blocks_parts(field(message, "content")), finish)]
