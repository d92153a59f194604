"""Spans from OpenInference instrumentations (Arize Phoenix's), read in the GenAI conventions' terms.

An OpenInference span says what it is in `openinference.span.kind` and names its model, provider
and token counts in attributes of its own (`llm.model_name`, `llm.provider`,
`llm.token_count.prompt`...). The store keeps those attributes as they came; for the columns it
derives (span type, token counts, cost) it reads them as the GenAI attributes they stand for.
Their `input.value` and `output.value` are content like the conventions' messages (see _rows).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from traceglass.semconv import names as N

__all__ = ["INPUT_VALUE", "KIND", "MODEL_NAME", "OUTPUT_VALUE", "as_genai", "tags_and_metadata"]

KIND = "openinference.span.kind"
INPUT_VALUE = "input.value"
OUTPUT_VALUE = "output.value"
MODEL_NAME = "llm.model_name"

# llm.provider (else llm.system) -> gen_ai.provider.name
_PROVIDERS = {
    "openai": "openai",
    "anthropic": "anthropic",
    "azure": "azure.ai.openai",
    "aws": "aws.bedrock",
    "google": "gcp.gen_ai",
    "vertexai": "gcp.vertex_ai",
    "mistralai": "mistral_ai",
    "xai": "x_ai",
    "deepseek": "deepseek",
    "cohere": "cohere",
}
_COUNTS = (
    (N.USAGE_INPUT_TOKENS, "llm.token_count.prompt"),
    (N.USAGE_OUTPUT_TOKENS, "llm.token_count.completion"),
    (N.USAGE_CACHE_READ_INPUT_TOKENS, "llm.token_count.prompt_details.cache_read"),
    (N.USAGE_CACHE_WRITE_INPUT_TOKENS, "llm.token_count.prompt_details.cache_write"),
)


def as_genai(attributes: Mapping[str, Any], kind: Any) -> dict[str, Any]:
    """The GenAI attributes an OpenInference span of `kind` stands for, with its own attributes."""
    view = dict(attributes)
    if isinstance(kind, str) and kind and kind.upper() != "UNKNOWN":
        view.setdefault(N.SPAN_TYPE, kind.upper())
    provider = attributes.get("llm.provider") or attributes.get("llm.system")
    if isinstance(provider, str):
        view.setdefault(N.PROVIDER_NAME, _PROVIDERS.get(provider.lower(), provider.lower()))
    model = attributes.get(MODEL_NAME)
    if isinstance(model, str) and model:
        view.setdefault(N.RESPONSE_MODEL, model)
    for genai, openinference in _COUNTS:
        value = attributes.get(openinference)
        if value is not None:
            view.setdefault(genai, value)
    return view


def tags_and_metadata(attributes: Mapping[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The trace tags (`tag.tags`, a list of strings) and metadata (`metadata`, a JSON object) an
    OpenInference span carries; what is not of that form is left out."""
    tags = attributes.get("tag.tags")
    tags = [str(tag) for tag in tags] if isinstance(tags, (list, tuple)) else []
    metadata = attributes.get("metadata")
    if isinstance(metadata, str):
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = None
    return tags, metadata if isinstance(metadata, dict) else {}
