"""Call arguments of the ollama SDK → Invocation fields.

SDK surface read (ollama 0.6): `Client.chat(model, messages, *, tools, stream, think, format, options, ...)`,
`Client.generate(model, prompt, suffix, *, system, images, stream, think, format, options, ...)`,
`Client.embed(model, input, truncate, options, keep_alive, dimensions)`, `Client.embeddings(model, prompt, ...)`
and the same on AsyncClient; request types ollama._types.Message, Tool, Options and Image. Arguments may
come positionally, as dicts or as those pydantic models, so every read goes through `get`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from traceglass.semconv import (
    FunctionToolDefinition,
    GenericToolDefinition,
    InputMessage,
    Invocation,
    TextPart,
    ToolCallResponsePart,
    ToolDefinition,
)
from traceglass.semconv import names as N

from ._parts import get, message_parts, plain

__all__ = [
    "CHAT_PARAMS",
    "EMBEDDINGS_PARAMS",
    "EMBED_PARAMS",
    "GENERATE_PARAMS",
    "PROVIDER",
    "chat_invocation",
    "embed_invocation",
    "embeddings_invocation",
    "generate_invocation",
]

# Not a well-known gen_ai.provider.name value: the conventions have none for Ollama.
PROVIDER = "ollama"

# The parameters each method accepts positionally, in order (the rest are keyword-only).
CHAT_PARAMS = ("model", "messages")
GENERATE_PARAMS = ("model", "prompt", "suffix")
EMBED_PARAMS = ("model", "input", "truncate", "options", "keep_alive", "dimensions")
EMBEDDINGS_PARAMS = ("model", "prompt", "options", "keep_alive")

_DEFAULT_PORTS = {"http": 80, "https": 443}


def server_of(instance: Any) -> tuple[str | None, int | None]:
    """server.address/port from the client's httpx base URL (the SDK resolved host, OLLAMA_HOST and its
    127.0.0.1:11434 default into it). httpx drops a port equal to the scheme's default."""
    url = getattr(getattr(instance, "_client", None), "base_url", None)
    host = getattr(url, "host", None)
    if not isinstance(host, str) or not host:
        return None, None
    port = getattr(url, "port", None)
    return host, port if isinstance(port, int) else _DEFAULT_PORTS.get(getattr(url, "scheme", None))


def _base(operation: str, instance: Any, params: dict[str, Any]) -> Invocation:
    host, port = server_of(instance)
    model = params.get("model")
    return Invocation(operation=operation, provider=PROVIDER,
                      request_model=model if isinstance(model, str) and model else None,
                      server_address=host, server_port=port,
                      # The SDK tests `if stream:`; any truthy value streams.
                      stream=bool(params.get("stream")))


def _float(value: Any) -> float | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:  # an int too large for a double
        return None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _stop(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _sampling(inv: Invocation, params: dict[str, Any]) -> None:
    """`options` (a dict or ollama.Options), `format` and `think`, shared by chat and generate."""
    options = params.get("options")
    if options is not None:
        inv.temperature = _float(get(options, "temperature"))
        inv.top_p = _float(get(options, "top_p"))
        inv.top_k = _int(get(options, "top_k"))
        inv.seed = _int(get(options, "seed"))
        inv.frequency_penalty = _float(get(options, "frequency_penalty"))
        inv.presence_penalty = _float(get(options, "presence_penalty"))
        inv.stop_sequences = _stop(get(options, "stop"))
        limit = _int(get(options, "num_predict"))
        # -1 (no limit) and -2 (fill the context) are not token counts.
        inv.max_tokens = limit if limit is not None and limit >= 0 else None
    fmt = params.get("format")
    # "json" or a JSON schema (a dict); "" and None mean free text.
    if fmt == "json" or isinstance(fmt, Mapping):
        inv.output_type = "json"
    think = params.get("think")
    # think=True/False only switches thinking on or off; a string is the level ("low", "high").
    if isinstance(think, str) and think:
        inv.reasoning_level = think


def _reusable(params: dict[str, Any], kwargs: dict[str, Any], key: str) -> Any:
    """`params[key]`, made a list first if it is a one-shot iterator passed by keyword.

    The SDK iterates it after us; the wrapper calls it with this same kwargs dict, so it gets the list.
    A positional iterator cannot be replaced (args is a tuple): it is left unread.
    """
    value = params.get(key)
    if isinstance(value, Iterator):
        if key not in kwargs:
            return None
        value = kwargs[key] = list(value)
    return value


def chat_invocation(instance: Any, params: dict[str, Any], kwargs: dict[str, Any], content: bool,
                    full_tools: bool) -> Invocation:
    inv = _base(N.CHAT, instance, params)
    _sampling(inv, params)
    if content:
        inv.input_messages = [_input_message(m) for m in _reusable(params, kwargs, "messages") or ()]
        definitions = (_tool_definition(tool, full_tools) for tool in _reusable(params, kwargs, "tools") or ())
        inv.tool_definitions = [d for d in definitions if d is not None]
    return inv


def generate_invocation(instance: Any, params: dict[str, Any], kwargs: dict[str, Any], content: bool,
                        full_tools: bool) -> Invocation:
    inv = _base(N.TEXT_COMPLETION, instance, params)
    _sampling(inv, params)
    if content:
        system = params.get("system")
        if isinstance(system, str) and system:
            inv.system_instructions = [TextPart(system)]
        prompt = params.get("prompt")
        parts = message_parts(None, prompt, _reusable(params, kwargs, "images"), None)
        if parts:
            inv.input_messages = [InputMessage("user", parts)]
    return inv


def embed_invocation(instance: Any, params: dict[str, Any], kwargs: dict[str, Any], content: bool,
                     full_tools: bool) -> Invocation:
    inv = _base(N.EMBEDDINGS, instance, params)
    inv.stream = False
    dimensions = _int(params.get("dimensions"))
    if dimensions is not None and dimensions > 0:
        # What was asked for; the response's vectors replace it when they arrive.
        inv.embedding_dimension_count = dimensions
    return inv


def embeddings_invocation(instance: Any, params: dict[str, Any], kwargs: dict[str, Any], content: bool,
                          full_tools: bool) -> Invocation:
    inv = _base(N.EMBEDDINGS, instance, params)
    inv.stream = False
    return inv


# --- content -------------------------------------------------------------------------------------


def _input_message(message: Any) -> InputMessage:
    role = get(message, "role")
    role = role if isinstance(role, str) and role else "user"
    if role == "tool":
        # Ollama links a tool result to its call by tool name only (no call id).
        name = get(message, "tool_name")
        return InputMessage("tool", [ToolCallResponsePart(get(message, "content"))],
                            name if isinstance(name, str) and name else None)
    parts = message_parts(get(message, "thinking"), get(message, "content"), get(message, "images"),
                          get(message, "tool_calls"))
    return InputMessage(role, parts)


def _tool_definition(tool: Any, full: bool) -> ToolDefinition | None:
    if callable(tool):  # the SDK's own test: a Python function is converted from its signature and docstring
        name = getattr(tool, "__name__", None)
        name = name if isinstance(name, str) else ""
        if not full:
            # Only type and name get recorded: skip the conversion, which builds a pydantic model per call.
            return FunctionToolDefinition(name)
        try:
            from ollama._utils import convert_function_to_tool

            tool = convert_function_to_tool(tool)  # exactly what the SDK sends
        except Exception:  # the SDK will raise the same error to the caller; the name is still worth recording
            return FunctionToolDefinition(name)
    kind = get(tool, "type") or "function"  # ollama.Tool defaults type to "function"
    function = get(tool, "function")
    name = get(function, "name")
    if kind == "function":
        description = get(function, "description")
        return FunctionToolDefinition(name if isinstance(name, str) else "",
                                      description if isinstance(description, str) else None,
                                      plain(get(function, "parameters")))
    if isinstance(kind, str):
        return GenericToolDefinition(kind, name if isinstance(name, str) and name else kind)
    return None
