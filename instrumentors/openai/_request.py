"""Request kwargs of the openai SDK → Invocation fields.

SDK types read: openai.types.chat.completion_create_params (CompletionCreateParams),
openai.types.responses.response_create_params, openai.types.responses.response_retrieve_params,
openai.types.embedding_create_params, openai.types.completion_create_params (openai 3.x).
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import (
    BlobPart,
    FetchInvocation,
    FilePart,
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    Invocation,
    MessagePart,
    ReasoningPart,
    TextPart,
    ToolCallRequestPart,
    ToolCallResponsePart,
    ToolDefinition,
    UriPart,
)
from traceglass.semconv import names as N

from .._stainless import field as _get
from .._stainless import given, parse_arguments
from .._stainless import reusable as _reusable
from ._provider import endpoint_of

__all__ = ["chat_invocation", "completion_invocation", "embeddings_invocation", "fetch_invocation",
           "parse_arguments", "responses_invocation", "stored_request_content"]


def _base(operation: str, instance: Any, kwargs: dict[str, Any]) -> Invocation:
    provider, host, port = endpoint_of(instance)
    model = given(kwargs.get("model"))
    return Invocation(
        operation=operation, provider=provider, request_model=model if isinstance(model, str) else None,
        server_address=host, server_port=port, stream=bool(given(kwargs.get("stream"))),
    )


def _number(value: Any) -> Any:
    value = given(value)
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _stop(value: Any) -> list[str] | None:
    value = given(value)
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _output_type(response_format: Any) -> str | None:
    response_format = given(response_format)
    if response_format is None:
        return None
    if isinstance(response_format, dict):
        kind = response_format.get("type")
        return {"text": "text", "json_object": "json", "json_schema": "json"}.get(kind, kind)
    return "json"  # a pydantic class or TypedDict given to parse()/stream()


def _service_tier(inv: Invocation, kwargs: dict[str, Any]) -> None:
    tier = given(kwargs.get("service_tier"))
    if isinstance(tier, str) and tier != "auto":
        inv.start_attributes[N.OPENAI_REQUEST_SERVICE_TIER] = tier


def chat_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> Invocation:
    inv = _base("chat", instance, kwargs)
    inv.temperature = _number(kwargs.get("temperature"))
    inv.top_p = _number(kwargs.get("top_p"))
    inv.max_tokens = _number(given(kwargs.get("max_completion_tokens")) or kwargs.get("max_tokens"))
    inv.stop_sequences = _stop(kwargs.get("stop"))
    inv.frequency_penalty = _number(kwargs.get("frequency_penalty"))
    inv.presence_penalty = _number(kwargs.get("presence_penalty"))
    inv.seed = _number(kwargs.get("seed"))
    inv.choice_count = _number(kwargs.get("n"))
    modalities = given(kwargs.get("modalities"))
    # Audio output (gpt-4o-audio): the requested modality is speech, whatever the text format.
    speech = isinstance(modalities, (list, tuple)) and "audio" in modalities
    inv.output_type = "speech" if speech else _output_type(kwargs.get("response_format"))
    effort = given(kwargs.get("reasoning_effort"))
    inv.reasoning_level = effort if isinstance(effort, str) else None
    inv.start_attributes[N.OPENAI_API_TYPE] = "chat_completions"
    _service_tier(inv, kwargs)
    if content:
        inv.input_messages = [_chat_message(m) for m in _reusable(kwargs, "messages") or ()]
        inv.tool_definitions = _tool_definitions(_reusable(kwargs, "tools"), _reusable(kwargs, "functions"))
    return inv


def responses_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> Invocation:
    inv = _base("chat", instance, kwargs)
    inv.temperature = _number(kwargs.get("temperature"))
    inv.top_p = _number(kwargs.get("top_p"))
    inv.max_tokens = _number(kwargs.get("max_output_tokens"))
    previous = given(kwargs.get("previous_response_id"))
    inv.previous_response_id = previous if isinstance(previous, str) else None
    conversation = given(kwargs.get("conversation"))
    if isinstance(conversation, dict):
        conversation = conversation.get("id")
    inv.conversation_id = conversation if isinstance(conversation, str) else None
    reasoning = given(kwargs.get("reasoning"))
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        inv.reasoning_level = reasoning["effort"]
    text = given(kwargs.get("text"))
    if isinstance(text, dict):
        inv.output_type = _output_type(text.get("format"))
    if given(kwargs.get("text_format")) is not None:
        inv.output_type = "json"
    prompt = given(kwargs.get("prompt"))
    prompt_id, version = _get(prompt, "id"), _get(prompt, "version")
    if isinstance(prompt_id, str):  # a stored prompt template, referenced by id
        inv.prompt_name = prompt_id
        inv.prompt_version = version if isinstance(version, str) else None
    inv.start_attributes[N.OPENAI_API_TYPE] = "responses"
    _service_tier(inv, kwargs)
    if content:
        instructions = given(kwargs.get("instructions"))
        if isinstance(instructions, str):
            inv.system_instructions = [TextPart(instructions)]
        items = given(kwargs.get("input"))
        if isinstance(items, str):
            inv.input_messages = [InputMessage("user", [TextPart(items)])]
        elif isinstance(items, (list, tuple)):
            inv.input_messages = [m for m in map(_response_input_item, items) if m is not None]
        inv.tool_definitions = _tool_definitions(given(kwargs.get("tools")), None)
    return inv


def fetch_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> FetchInvocation:
    """responses.retrieve(response_id, starting_after=, stream=): the fetch_response operation.

    The request names a stored response, not a model: the invocation has no request model (the span
    is named by the operation alone). The response id is the one requested.
    """
    provider, host, port = endpoint_of(instance)
    inv = FetchInvocation(operation=N.FETCH_RESPONSE, provider=provider, server_address=host, server_port=port,
                          stream=bool(given(kwargs.get("stream"))))
    response_id = given(kwargs.get("response_id"))
    inv.response_id = response_id if isinstance(response_id, str) and response_id else None
    cursor = given(kwargs.get("starting_after"))
    if isinstance(cursor, (int, str)) and not isinstance(cursor, bool):
        inv.stream_cursor = str(cursor)  # an event sequence number; the attribute is a string
    inv.start_attributes[N.OPENAI_API_TYPE] = "responses"
    return inv


def stored_request_content(inv: Invocation, response: Any) -> None:
    """The request content a stored Response carries back: its instructions and tools (never its
    input, which the Response does not hold)."""
    instructions = getattr(response, "instructions", None)
    if isinstance(instructions, str):
        inv.system_instructions = [TextPart(instructions)]
    elif isinstance(instructions, (list, tuple)):  # input items, from a stored prompt template
        inv.system_instructions = [part for item in instructions for part in _content_parts(_get(item, "content"))]
    inv.tool_definitions = _tool_definitions(getattr(response, "tools", None), None)


def embeddings_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> Invocation:
    inv = _base("embeddings", instance, kwargs)
    inv.stream = False
    fmt = given(kwargs.get("encoding_format"))
    if isinstance(fmt, str):
        inv.encoding_formats = [fmt]
    dimensions = _number(kwargs.get("dimensions"))
    if dimensions is not None:
        inv.embedding_dimension_count = dimensions
    return inv


def completion_invocation(instance: Any, kwargs: dict[str, Any], content: bool) -> Invocation:
    inv = _base("text_completion", instance, kwargs)
    inv.temperature = _number(kwargs.get("temperature"))
    inv.top_p = _number(kwargs.get("top_p"))
    inv.max_tokens = _number(kwargs.get("max_tokens"))
    inv.stop_sequences = _stop(kwargs.get("stop"))
    inv.frequency_penalty = _number(kwargs.get("frequency_penalty"))
    inv.presence_penalty = _number(kwargs.get("presence_penalty"))
    inv.seed = _number(kwargs.get("seed"))
    inv.choice_count = _number(kwargs.get("n"))
    if content:
        prompt = given(kwargs.get("prompt"))
        prompts = [prompt] if isinstance(prompt, str) else prompt if isinstance(prompt, list) else []
        inv.input_messages = [InputMessage("user", [TextPart(p)]) for p in prompts if isinstance(p, str)]
    return inv


# --- content -------------------------------------------------------------------------------------

def _content_parts(content: Any) -> list[MessagePart]:
    if content is None:
        return []
    if isinstance(content, str):
        return [TextPart(content)]
    parts: list[MessagePart] = []
    for item in content if isinstance(content, (list, tuple)) else ():
        part = _content_part(item)
        if part is not None:
            parts.append(part)
    return parts


def _data_url(url: str, modality: str) -> MessagePart:
    if url.startswith("data:") and "," in url:
        header, data = url[5:].split(",", 1)
        return BlobPart(modality, data, header.split(";", 1)[0] or None)
    return UriPart(modality, url)


def _content_part(item: Any) -> MessagePart | None:
    kind = _get(item, "type")
    if kind in ("text", "input_text", "output_text"):
        text = _get(item, "text")
        return TextPart(text) if isinstance(text, str) else None
    if kind == "refusal":
        text = _get(item, "refusal")
        return TextPart(text) if isinstance(text, str) else None
    if kind == "image_url":
        url = _get(_get(item, "image_url"), "url")
        return _data_url(url, "image") if isinstance(url, str) else None
    if kind == "input_image":
        url, file_id = _get(item, "image_url"), _get(item, "file_id")
        if isinstance(url, str):
            return _data_url(url, "image")
        return FilePart("image", file_id) if isinstance(file_id, str) else None
    if kind == "input_audio":
        audio = _get(item, "input_audio")
        data, fmt = _get(audio, "data"), _get(audio, "format")
        return BlobPart("audio", data, f"audio/{fmt}" if fmt else None) if isinstance(data, str) else None
    if kind in ("file", "input_file"):
        file = _get(item, "file") if kind == "file" else item
        file_id, data = _get(file, "file_id"), _get(file, "file_data")
        if isinstance(file_id, str):
            return FilePart("document", file_id)
        if isinstance(data, str):
            return _data_url(data, "document")
    return None


def _chat_message(message: Any) -> InputMessage:
    role = _get(message, "role") or "user"
    if role == "tool":
        return InputMessage("tool", [ToolCallResponsePart(_get(message, "content"), _get(message, "tool_call_id"))])
    if role == "function":
        return InputMessage("tool", [ToolCallResponsePart(_get(message, "content"))], _get(message, "name"))
    parts = _content_parts(_get(message, "content"))
    for call in _get(message, "tool_calls") or ():
        function = _get(call, "function")
        if function is not None:
            parts.append(ToolCallRequestPart(_get(function, "name") or "", _get(call, "id"),
                                             parse_arguments(_get(function, "arguments"))))
        else:  # custom tools carry their input as text
            custom = _get(call, "custom")
            parts.append(ToolCallRequestPart(_get(custom, "name") or "", _get(call, "id"), _get(custom, "input")))
    function_call = _get(message, "function_call")
    if function_call is not None:
        parts.append(ToolCallRequestPart(_get(function_call, "name") or "", None,
                                         parse_arguments(_get(function_call, "arguments"))))
    name = _get(message, "name")
    return InputMessage(str(role), parts, name if isinstance(name, str) else None)


def _response_input_item(item: Any) -> InputMessage | None:
    kind = _get(item, "type")
    if kind in (None, "message"):
        role = _get(item, "role") or "user"
        return InputMessage(str(role), _content_parts(_get(item, "content")))
    if kind == "function_call":
        return InputMessage("assistant", [ToolCallRequestPart(
            _get(item, "name") or "", _get(item, "call_id"), parse_arguments(_get(item, "arguments")))])
    if kind == "function_call_output":
        return InputMessage("tool", [ToolCallResponsePart(_get(item, "output"), _get(item, "call_id"))])
    if kind == "reasoning":
        summary = _get(item, "summary")
        pieces = [_get(s, "text") for s in summary] if isinstance(summary, (list, tuple)) else []
        text = "".join(piece for piece in pieces if isinstance(piece, str))
        return InputMessage("assistant", [ReasoningPart(text)]) if text else None
    return None


def _tool_definitions(tools: Any, functions: Any) -> list[ToolDefinition]:
    out: list[ToolDefinition] = []
    for tool in tools or ():
        kind = _get(tool, "type")
        function = _get(tool, "function")
        if kind == "function" and function is not None:  # chat completions shape
            out.append(FunctionToolDefinition(_get(function, "name") or "", _get(function, "description"),
                                              _get(function, "parameters")))
        elif kind == "function":  # responses shape
            out.append(FunctionToolDefinition(_get(tool, "name") or "", _get(tool, "description"),
                                              _get(tool, "parameters")))
        elif isinstance(kind, str):
            custom = _get(tool, kind)
            name = _get(custom, "name") if custom is not None else _get(tool, "name")
            out.append(GenericToolDefinition(kind, name if isinstance(name, str) else kind))
    for function in functions or ():
        out.append(FunctionToolDefinition(_get(function, "name") or "", _get(function, "description"),
                                          _get(function, "parameters")))
    return out
