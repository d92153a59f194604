"""Request kwargs of the anthropic SDK → Invocation fields.

SDK types read (anthropic 2.x): anthropic.types.message_create_params.MessageCreateParams (and
the beta BetaMessageCreateParams: same fields plus `betas` and the deprecated `output_format`),
MessageParam content blocks (TextBlockParam, ImageBlockParam, DocumentBlockParam with their
Base64/URL/File/PlainText/Content sources, ToolUseBlockParam, ToolResultBlockParam,
ThinkingBlockParam, ServerToolUseBlockParam, *ToolResultBlockParam), ToolUnionParam,
ThinkingConfigParam, OutputConfigParam. Response content blocks have the same shape, so
`block_part` reads both.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from traceglass.semconv import (
    BlobPart,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    Invocation,
    MessagePart,
    ReasoningPart,
    ServerToolCallPart,
    ServerToolCallResponsePart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    ToolDefinition,
    UriPart,
)
from traceglass.semconv import names as N

from .._stainless import field, given, reusable

__all__ = ["block_part", "blocks_parts", "endpoint_of", "messages_invocation"]

_DEFAULT_PORTS = {"https": 443, "http": 80}

# Client classes (and their bases, so subclasses match too) that reach Claude through a cloud
# platform; every other client, AnthropicAWS and AnthropicGoogleCloud included (served by
# Anthropic itself), is "anthropic". The same choice as the SDK's own spans.
_PLATFORM_PROVIDERS = {
    "BaseBedrockClient": "aws.bedrock",
    "BaseMantleClient": "aws.bedrock",
    "AnthropicBedrock": "aws.bedrock",
    "AsyncAnthropicBedrock": "aws.bedrock",
    "AnthropicBedrockMantle": "aws.bedrock",
    "AsyncAnthropicBedrockMantle": "aws.bedrock",
    "BaseVertexClient": "gcp.vertex_ai",
    "AnthropicVertex": "gcp.vertex_ai",
    "AsyncAnthropicVertex": "gcp.vertex_ai",
}
_providers: dict[type, str] = {}


def _provider(client: Any) -> str:
    cls = type(client)
    name = _providers.get(cls)
    if name is None:
        name = next((_PLATFORM_PROVIDERS[c.__name__] for c in cls.__mro__ if c.__name__ in _PLATFORM_PROVIDERS),
                    "anthropic")
        _providers[cls] = name
    return name


def endpoint_of(resource: Any) -> tuple[str, str | None, int | None]:
    """(gen_ai.provider.name, server.address, server.port) of a Messages resource.

    `resource._client` is the client; its `base_url` is an httpx2.URL whose `port` is None when
    it is the scheme's default.
    """
    client = getattr(resource, "_client", None)
    url = getattr(client, "base_url", None)
    host = getattr(url, "host", None) or None
    port = getattr(url, "port", None) or _DEFAULT_PORTS.get(getattr(url, "scheme", ""))
    return _provider(client), host, port


def _conversation_id(resource: Any) -> str | None:
    """The conversation the client's `open_telemetry` option names, as the SDK's own span records it.

    The SDK documents `client.with_options(open_telemetry={..., "conversation_id": ...})` for this;
    `_open_telemetry` is that option, resolved when the client (or the copy) was made.
    """
    options = getattr(getattr(resource, "_client", None), "_open_telemetry", None)
    conversation = options.get("conversation_id") if isinstance(options, dict) else None
    return conversation if isinstance(conversation, str) and conversation else None


def _number(value: Any) -> Any:
    value = given(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    value = given(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _str(value: Any) -> str | None:
    value = given(value)
    return value if isinstance(value, str) else None


def messages_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> Invocation:
    """messages.create / parse / stream (and beta): the request as the API receives it."""
    provider, host, port = endpoint_of(instance)
    extra = given(kwargs.get("extra_body"))
    extra = extra if isinstance(extra, dict) else {}

    def param(name: str) -> Any:
        # anthropic 1.0 dropped temperature/top_p/top_k from the signature: they now come through
        # extra_body, which the SDK merges over the body, so it wins here too.
        return given(extra[name]) if name in extra else given(kwargs.get(name))

    inv = Invocation(
        operation=N.CHAT, provider=provider, request_model=_str(param("model")), server_address=host,
        server_port=port, stream=bool(given(kwargs.get("stream"))),
        temperature=_number(param("temperature")), top_p=_number(param("top_p")), top_k=_int(param("top_k")),
        max_tokens=_int(param("max_tokens")),
        conversation_id=_conversation_id(instance),
    )
    tier = _str(param("service_tier"))
    if tier is not None:
        inv.start_attributes[N.ANTHROPIC_REQUEST_SERVICE_TIER] = tier
    stop = param("stop_sequences")
    if isinstance(stop, (list, tuple)) and all(isinstance(s, str) for s in stop):
        inv.stop_sequences = list(stop)
    output_config = param("output_config")
    # The effort is the provider's own level string: the conventions map it to reasoning.level.
    inv.reasoning_level = _str(field(output_config, "effort")) if isinstance(output_config, dict) else None
    inv.output_type = _output_type(output_config, param("output_format"))
    thinking = param("thinking")
    if isinstance(thinking, dict):
        kind, budget = _str(thinking.get("type")), _int(thinking.get("budget_tokens"))
        if kind is not None:
            inv.start_attributes[N.ANTHROPIC_THINKING_TYPE] = kind
        if budget is not None:
            inv.start_attributes[N.ANTHROPIC_THINKING_BUDGET_TOKENS] = budget
    if content:
        inv.system_instructions = _system(reusable(kwargs, "system"))
        inv.input_messages = [_message(m) for m in reusable(kwargs, "messages") or () if m is not None]
        inv.tool_definitions = _tool_definitions(reusable(kwargs, "tools"))
    return inv


def _output_type(output_config: Any, output_format: Any) -> str | None:
    # output_config.format (and the deprecated output_format) is {"type": "json_schema", ...};
    # parse()/stream() take a type instead and send its JSON schema.
    if isinstance(output_format, type):
        return "json"
    for fmt in (field(output_config, "format") if isinstance(output_config, dict) else None, output_format):
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            return "json"
    return None


# --- content -------------------------------------------------------------------------------------


def _system(system: Any) -> list[MessagePart]:
    if isinstance(system, str):
        return [TextPart(system)]
    if isinstance(system, (list, tuple)):
        return [TextPart(text) for block in system if isinstance(text := field(block, "text"), str)]
    return []


def _message(message: Any) -> InputMessage:
    role = field(message, "role")
    body = field(message, "content")
    if isinstance(body, str):
        parts: list[MessagePart] = [TextPart(body)]
    else:
        parts = blocks_parts(body)
    return InputMessage(role if isinstance(role, str) else "user", parts)


def blocks_parts(blocks: Any) -> list[MessagePart]:
    # Only lists: a nested one-shot iterator would be consumed before the SDK reads it.
    if not isinstance(blocks, (list, tuple)):
        return []
    return [part for block in blocks if (part := block_part(block)) is not None]


def block_part(block: Any) -> MessagePart | None:
    """One content block (a request dict or a response model) as a message part, or None for
    blocks the conventions have no part for (redacted thinking, search results, ...)."""
    kind = field(block, "type")
    if kind == "text":
        text = field(block, "text")
        return TextPart(text) if isinstance(text, str) else None
    if kind == "tool_use":
        return ToolCallRequestPart(_str(field(block, "name")) or "", _str(field(block, "id")), field(block, "input"))
    if kind == "tool_result":
        return ToolCallResponsePart(_tool_result(field(block, "content")), _str(field(block, "tool_use_id")))
    if kind == "thinking":
        text = field(block, "thinking")
        return ReasoningPart(text) if isinstance(text, str) else None
    if kind in ("image", "document"):
        return _source_part(field(block, "source"), kind)
    if kind == "server_tool_use":
        name = _str(field(block, "name")) or ""
        return ServerToolCallPart(name, {"type": name, "input": field(block, "input")}, _str(field(block, "id")))
    if isinstance(kind, str) and kind.endswith("_tool_result"):  # web_search_tool_result, ...
        return ServerToolCallResponsePart({"type": kind, "content": field(block, "content")},
                                          _str(field(block, "tool_use_id")))
    return None


def _tool_result(body: Any) -> Any:
    # A string, or a list of blocks: text blocks become their text, others stay as sent.
    if isinstance(body, (list, tuple)):
        items = [field(b, "text") if field(b, "type") == "text" else b for b in body]
        return items[0] if len(items) == 1 and isinstance(items[0], str) else items
    return body


def _source_part(source: Any, modality: str) -> MessagePart | None:
    kind = field(source, "type")
    if kind == "base64":
        data = field(source, "data")
        if isinstance(data, os.PathLike):
            # The SDK reads and encodes the file itself: record where it is rather than read it again.
            uri = _file_uri(data)
            return UriPart(modality, uri, _str(field(source, "media_type"))) if uri else None
        # A binary file object is the SDK's to read: reading it here would leave it empty.
        return BlobPart(modality, data, _str(field(source, "media_type"))) if isinstance(data, str) else None
    if kind == "url":
        url = field(source, "url")
        return UriPart(modality, url) if isinstance(url, str) else None
    if kind == "file":
        file_id = field(source, "file_id")
        return FilePart(modality, file_id) if isinstance(file_id, str) else None
    if kind in ("text", "content"):  # a plain-text document, inline
        data = field(source, "data" if kind == "text" else "content")
        if isinstance(data, str):
            return BlobPart(modality, data.encode("utf-8"), _str(field(source, "media_type")) or "text/plain")
    return None


def _file_uri(path: os.PathLike[Any]) -> str | None:
    try:
        return Path(path).absolute().as_uri()
    except (TypeError, ValueError):  # a bytes path
        return None


def _tool_definitions(tools: Any) -> list[ToolDefinition]:
    out: list[ToolDefinition] = []
    for tool in tools if isinstance(tools, (list, tuple)) else ():
        kind, name = field(tool, "type"), _str(field(tool, "name"))
        if kind in (None, "custom"):  # a client tool: the app runs it
            out.append(FunctionToolDefinition(name or "", _str(field(tool, "description")),
                                              field(tool, "input_schema")))
        elif isinstance(kind, str):  # a server tool (web_search_20250305, bash_20250124, ...)
            out.append(GenericToolDefinition(kind, name or kind))
    return out
