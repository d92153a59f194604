"""The provider-neutral record of one GenAI operation.

Adapters fill an Invocation from SDK objects; only semconv turns it into telemetry.
Spec: GenAI semconv, model/gen-ai/spans.yaml (inference, embeddings and fetch_response spans).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ._messages import InputMessage, MessagePart, OutputMessage, ToolDefinition

__all__ = ["FetchInvocation", "Invocation", "Usage"]


@dataclasses.dataclass(slots=True)
class Usage:
    """Token counts as the conventions define them.

    `input_tokens` includes cached tokens (read and written); `output_tokens` includes reasoning
    tokens. Build it with `Usage.normalized` so each adapter states what its provider reports
    instead of doing the arithmetic itself.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cache_read_input_tokens: int | None = None
    cache_write_input_tokens: int | None = None
    reasoning_output_tokens: int | None = None

    @classmethod
    def normalized(
        cls,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        *,
        cache_read: int | None = None,
        cache_write: int | None = None,
        reasoning: int | None = None,
        input_excludes_cache: bool = False,
        output_excludes_reasoning: bool = False,
    ) -> Usage:
        # Sanitize first: a bad part (non-numeric str, negative, bool) must not raise or skew the sum.
        input_tokens, output_tokens = _count(input_tokens), _count(output_tokens)
        cache_read, cache_write, reasoning = _count(cache_read), _count(cache_write), _count(reasoning)
        if input_excludes_cache and input_tokens is not None:
            input_tokens += (cache_read or 0) + (cache_write or 0)
        if output_excludes_reasoning and output_tokens is not None:
            output_tokens += reasoning or 0
        return cls(input_tokens, output_tokens, cache_read, cache_write, reasoning)


def _count(value: Any) -> int | None:
    # Providers send null, floats or strings on odd days; a count is a non-negative int or absent.
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: float("inf")
        return None
    # Beyond int64 no exporter can encode it (OTLP drops the attribute with an error log).
    return number if 0 <= number < 2**63 else None


@dataclasses.dataclass(slots=True)
class Invocation:
    """What one model call asked for and got back."""

    operation: str
    provider: str
    request_model: str | None = None
    server_address: str | None = None
    server_port: int | None = None

    # request
    stream: bool = False
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    max_tokens: int | None = None
    stop_sequences: list[str] | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    seed: int | None = None
    choice_count: int | None = None
    output_type: str | None = None
    reasoning_level: str | None = None
    previous_response_id: str | None = None
    conversation_id: str | None = None
    encoding_formats: list[str] | None = None
    # a stored, named prompt template the request uses (OpenAI's `prompt={"id", "version"}`)
    prompt_name: str | None = None
    prompt_version: str | None = None

    # content (recorded only when capture is on)
    system_instructions: list[MessagePart] = dataclasses.field(default_factory=list)
    input_messages: list[InputMessage] = dataclasses.field(default_factory=list)
    tool_definitions: list[ToolDefinition] = dataclasses.field(default_factory=list)
    output_messages: list[OutputMessage] = dataclasses.field(default_factory=list)

    # response
    response_id: str | None = None
    response_model: str | None = None
    finish_reasons: list[str] | None = None
    usage: Usage | None = None
    embedding_dimension_count: int | None = None
    # set when the provider reports a failure in a response rather than raising (a Responses API
    # status "failed"); a low-cardinality code such as "server_error"
    error_type: str | None = None

    # provider-specific attributes ("openai.response.service_tier", "ollama.eval_duration", ...);
    # start_attributes are known before the call, attributes after it.
    start_attributes: dict[str, Any] = dataclasses.field(default_factory=dict)
    attributes: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class FetchInvocation(Invocation):
    """A fetch_response: a stored response read back by its id; no inference is performed.

    `response_id` is the id requested. Request parameters, input messages and usage do not apply
    (usage is never reported for this operation, even if set). A subclass so that these fields
    cost the other operations nothing.
    """

    # where a streamed fetch resumes (OpenAI's `starting_after`), as given
    stream_cursor: str | None = None
    # the fetched response's lifecycle status: queued, in_progress, completed, incomplete, failed,
    # cancelled (the conventions' values), or the provider's own value
    response_status: str | None = None
