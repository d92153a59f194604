"""LangChain model-run start → Invocation fields.

Reads (langchain-core 1.x): the `on_chat_model_start` / `on_llm_start` arguments: `serialized`
(dict or None), `messages: list[list[BaseMessage]]` or `prompts: list[str]`, and the kwargs
`invocation_params` (dict: model, model_name, temperature, max_tokens, stream, tools,
response_format, reasoning_effort, ...), `metadata` (dict: ls_provider, ls_model_name,
ls_temperature, ls_max_tokens, ls_stop; LangGraph's thread_id).
"""

from __future__ import annotations

import json
from typing import Any

from traceglass.semconv import (
    OTHER_PROVIDER,
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
    names,
)

from .._stainless import parse_arguments
from ._runs import thread_id

__all__ = ["chat_invocation", "content_parts", "provider_name"]

# metadata ls_provider (LangChain integration name) → the conventions' gen_ai.provider.name.
_PROVIDERS = {
    "openai": "openai",
    "azure": "azure.ai.openai",
    "azure_openai": "azure.ai.openai",
    "anthropic": "anthropic",
    "ollama": "ollama",
    "bedrock": "aws.bedrock",
    "amazon_bedrock": "aws.bedrock",
    "bedrock_converse": "aws.bedrock",
    "google_genai": "gcp.gen_ai",
    "google_vertexai": "gcp.vertex_ai",
    "vertexai": "gcp.vertex_ai",
    "cohere": "cohere",
    "deepseek": "deepseek",
    "groq": "groq",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "perplexity": "perplexity",
    "xai": "x_ai",
    "ibm": "ibm.watsonx.ai",
    "watsonx": "ibm.watsonx.ai",
}
# BaseMessage.type → the conventions' role.
_ROLES = {"human": "user", "ai": "assistant", "AIMessageChunk": "assistant", "system": "system", "tool": "tool",
          "function": "tool", "chat": "user"}


def provider_name(metadata: dict[str, Any]) -> str:
    raw = metadata.get("ls_provider")
    if not isinstance(raw, str) or not raw:
        return OTHER_PROVIDER
    return _PROVIDERS.get(raw.lower(), raw.lower())


def _first(*values: Any) -> Any:
    return next((v for v in values if v is not None), None)


def chat_invocation(
    operation: str,
    messages: list[Any] | None,
    prompts: list[str] | None,
    kwargs: dict[str, Any],
    content: bool,
) -> Invocation:
    params = kwargs.get("invocation_params") or {}
    metadata = kwargs.get("metadata") or {}
    model = _first(params.get("model"), params.get("model_name"), metadata.get("ls_model_name"))
    inv = Invocation(operation, provider_name(metadata), str(model) if model is not None else None)
    inv.temperature = _number(_first(params.get("temperature"), metadata.get("ls_temperature")))
    inv.top_p = _number(params.get("top_p"))
    inv.top_k = _int(params.get("top_k"))
    inv.max_tokens = _int(_first(params.get("max_tokens"), params.get("max_completion_tokens"),
                                 params.get("max_output_tokens"), params.get("num_predict"),
                                 metadata.get("ls_max_tokens")))
    inv.frequency_penalty = _number(params.get("frequency_penalty"))
    inv.presence_penalty = _number(params.get("presence_penalty"))
    inv.seed = _int(params.get("seed"))
    inv.choice_count = _int(params.get("n"))
    stop = _first(params.get("stop"), metadata.get("ls_stop"))
    if isinstance(stop, str):
        stop = [stop]
    if isinstance(stop, list) and all(isinstance(s, str) for s in stop):
        inv.stop_sequences = stop
    inv.stream = params.get("stream") is True
    inv.conversation_id = thread_id(kwargs)
    inv.output_type = _output_type(params)
    effort = _first(params.get("reasoning_effort"), _get(params.get("reasoning"), "effort"))
    inv.reasoning_level = effort if isinstance(effort, str) else None
    inv.start_attributes[names.SPAN_TYPE] = "CHAT_MODEL" if operation == names.CHAT else "LLM"
    if content:
        if messages is not None:
            inv.input_messages = [_input_message(m) for m in messages]
        elif prompts is not None:
            inv.input_messages = [InputMessage("user", [TextPart(p)]) for p in prompts]
        inv.tool_definitions = _tools(params.get("tools"))
    return inv


_OUTPUT_TYPES = {"text": "text", "json_object": "json", "json_schema": "json"}


def _output_type(params: dict[str, Any]) -> str | None:
    # OpenAI-style integrations pass `response_format` (a dict, or a pydantic class to parse into),
    # Ollama's `format` ("json" or a JSON schema).
    response_format = params.get("response_format")
    if isinstance(response_format, dict):
        return _OUTPUT_TYPES.get(response_format.get("type"))
    if response_format is not None:
        return "json"
    fmt = params.get("format")
    return "json" if fmt == "json" or isinstance(fmt, dict) else None


def _get(value: Any, key: str) -> Any:
    return value.get(key) if isinstance(value, dict) else None


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _input_message(message: Any) -> InputMessage:
    # langchain_core.messages.BaseMessage: .type, .content (str | list[str | dict]), .name;
    # AIMessage.tool_calls [{name, args, id}]; ToolMessage.tool_call_id.
    kind = getattr(message, "type", None)
    role = _ROLES.get(kind, kind if isinstance(kind, str) else "user")
    if kind == "chat":
        role = str(getattr(message, "role", "user"))
    if role == "tool":
        response = getattr(message, "content", None)
        return InputMessage("tool", [ToolCallResponsePart(response, getattr(message, "tool_call_id", None))])
    parts = content_parts(getattr(message, "content", None))
    # Only AI messages have tool calls: asking a pydantic model for a field it lacks costs ~2.5 µs.
    if role == "assistant":
        parts.extend(tool_call_parts(message))
    name = getattr(message, "name", None)
    return InputMessage(role, parts, name if isinstance(name, str) else None)


def content_parts(content: Any) -> list[MessagePart]:
    if isinstance(content, str):
        return [TextPart(content)] if content else []
    parts: list[MessagePart] = []
    for block in content if isinstance(content, list) else ():
        if isinstance(block, str):
            parts.append(TextPart(block))
        elif isinstance(block, dict):
            kind = block.get("type")
            if kind == "text" and isinstance(block.get("text"), str):
                parts.append(TextPart(block["text"]))
            elif kind in ("reasoning", "thinking"):
                text = block.get("reasoning") or block.get("thinking") or ""
                parts.append(ReasoningPart(str(text)))
    return parts


def tool_call_parts(message: Any) -> list[MessagePart]:
    calls = getattr(message, "tool_calls", None) or []
    return [ToolCallRequestPart(str(c.get("name")), c.get("id"), c.get("args"))
            for c in calls if isinstance(c, dict)]


def _tools(tools: Any) -> list[ToolDefinition]:
    out: list[ToolDefinition] = []
    for tool in tools if isinstance(tools, list) else ():
        if not isinstance(tool, dict):
            continue
        function = tool.get("function") if tool.get("type") == "function" else None
        if isinstance(function, dict):
            out.append(FunctionToolDefinition(str(function.get("name")), function.get("description"),
                                              function.get("parameters")))
        elif isinstance(tool.get("name"), str):  # anthropic-style {name, description, input_schema}
            if "input_schema" in tool:
                out.append(FunctionToolDefinition(tool["name"], tool.get("description"), tool["input_schema"]))
            else:
                out.append(GenericToolDefinition(str(tool.get("type") or "function"), tool["name"]))
    return out


def tool_arguments(inputs: Any, input_str: str) -> Any:
    """gen_ai.tool.call.arguments is an object: the tool's `inputs`, else its JSON input string."""
    if isinstance(inputs, dict):
        return inputs
    try:
        return json.loads(input_str)
    except (TypeError, ValueError):
        return input_str


def tool_result(output: Any) -> Any:
    """gen_ai.tool.call.result is an object: a tool called with a tool call id returns a ToolMessage
    whose content LangChain serialized to JSON text; the conventions ask to deserialize it."""
    return parse_arguments(getattr(output, "content", output))
