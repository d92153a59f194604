"""ollama SDK results → Invocation fields.

SDK types read (ollama 0.6, ollama._types): ChatResponse, GenerateResponse and EmbedResponse (all
BaseGenerateResponse: model, done, done_reason, prompt_eval_count, eval_count and the load /
prompt_eval / eval / total durations in nanoseconds), EmbeddingsResponse (embedding only). Every
field may be missing or null; every read tolerates that.
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import BlobPart, Invocation, OutputMessage, Usage
from traceglass.semconv import names as N

from ._parts import message_parts

__all__ = ["apply_chat", "apply_embed", "apply_embeddings", "apply_generate", "common", "finish_reason",
           "generate_parts"]

_DURATIONS = (
    (N.OLLAMA_LOAD_DURATION, "load_duration"),
    (N.OLLAMA_PROMPT_EVAL_DURATION, "prompt_eval_duration"),
    (N.OLLAMA_EVAL_DURATION, "eval_duration"),
    (N.OLLAMA_TOTAL_DURATION, "total_duration"),
)
_NS_PER_SECOND = 1e9


def finish_reason(done_reason: Any, done: Any, tool_called: bool) -> str:
    """Ollama says "stop" after a tool call too; the conventions want `tool_call` then."""
    if tool_called and done_reason in (None, "", "stop"):
        return "tool_call"
    if isinstance(done_reason, str) and done_reason:
        return done_reason  # "stop" and "length" are the conventions' values already
    # Servers before done_reason existed still sent done=true; no done at all means no real end.
    return "stop" if done is True else "error"


def common(inv: Invocation, result: Any) -> None:
    """Model, usage and server timings: what every final Ollama response (or last chunk) carries."""
    model = getattr(result, "model", None)
    if isinstance(model, str) and model:
        inv.response_model = model
    prompt, generated = getattr(result, "prompt_eval_count", None), getattr(result, "eval_count", None)
    if prompt is not None or generated is not None:
        inv.usage = Usage.normalized(prompt, generated)
    for name, field in _DURATIONS:
        nanoseconds = getattr(result, field, None)
        if isinstance(nanoseconds, (int, float)) and not isinstance(nanoseconds, bool) and 0 <= nanoseconds < 2**63:
            inv.attributes[name] = nanoseconds / _NS_PER_SECOND


def apply_chat(inv: Invocation, result: Any, content: bool) -> None:
    common(inv, result)
    message = getattr(result, "message", None)
    calls = getattr(message, "tool_calls", None)
    finish = finish_reason(getattr(result, "done_reason", None), getattr(result, "done", None), bool(calls))
    inv.finish_reasons = [finish]
    if content:
        role = getattr(message, "role", None)
        parts = message_parts(getattr(message, "thinking", None), getattr(message, "content", None),
                              getattr(message, "images", None), calls)
        inv.output_messages = [OutputMessage(role if isinstance(role, str) and role else "assistant", parts, finish)]


def generate_parts(thinking: Any, text: Any, image: Any) -> list[Any]:
    parts = message_parts(thinking, text, None, None)
    if isinstance(image, str) and image:  # image generation models answer with base64 data
        parts.append(BlobPart("image", image))
    return parts


def apply_generate(inv: Invocation, result: Any, content: bool) -> None:
    common(inv, result)
    finish = finish_reason(getattr(result, "done_reason", None), getattr(result, "done", None), False)
    inv.finish_reasons = [finish]
    if content:
        parts = generate_parts(getattr(result, "thinking", None), getattr(result, "response", None),
                               getattr(result, "image", None))
        inv.output_messages = [OutputMessage("assistant", parts, finish)]


def _dimensions(vector: Any) -> int | None:
    return len(vector) if isinstance(vector, (list, tuple)) and vector else None


def apply_embed(inv: Invocation, result: Any, content: bool) -> None:
    common(inv, result)
    vectors = getattr(result, "embeddings", None)
    if isinstance(vectors, (list, tuple)) and vectors:
        inv.embedding_dimension_count = _dimensions(vectors[0]) or inv.embedding_dimension_count


def apply_embeddings(inv: Invocation, result: Any, content: bool) -> None:
    # The legacy endpoint returns one vector and nothing else: no model, no counts.
    inv.embedding_dimension_count = _dimensions(getattr(result, "embedding", None))
