"""The structured message model of the GenAI conventions, and its JSON form.

Mirrors the JSON schemas gen-ai-{input-messages,output-messages,system-instructions,
tool-definitions}.json (GenAI semconv, model/gen-ai/, main @a685613a). Parts carry a literal
`type` tag. Content unknown to the model is dropped by the adapters rather than sent as a
free-form "generic" part, which the conventions deprecated in late 2026.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
from collections.abc import Sequence
from typing import Any, Literal

import orjson

from . import _names, _redaction

__all__ = [
    "BlobPart",
    "FilePart",
    "FunctionToolDefinition",
    "GenericToolDefinition",
    "InputMessage",
    "MessagePart",
    "OutputMessage",
    "ReasoningPart",
    "ServerToolCallPart",
    "ServerToolCallResponsePart",
    "TextPart",
    "ToolCallRequestPart",
    "ToolCallResponsePart",
    "ToolDefinition",
    "UriPart",
    "to_json",
]

_slots = {"slots": True}


@dataclasses.dataclass(**_slots)
class TextPart:
    content: str
    type: Literal["text"] = "text"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "text", "content": self.content}


@dataclasses.dataclass(**_slots)
class ReasoningPart:
    content: str
    type: Literal["reasoning"] = "reasoning"

    def as_dict(self) -> dict[str, Any]:
        return {"type": "reasoning", "content": self.content}


@dataclasses.dataclass(**_slots)
class ToolCallRequestPart:
    name: str
    id: str | None = None
    arguments: Any = None
    type: Literal["tool_call"] = "tool_call"

    def as_dict(self) -> dict[str, Any]:
        # Providers (and OpenAI-compatible servers) can send odd types; the schema wants strings.
        out: dict[str, Any] = {"type": "tool_call", "name": self.name if isinstance(self.name, str) else ""}
        if isinstance(self.id, str):
            out["id"] = self.id
        if self.arguments is not None:
            out["arguments"] = self.arguments
        return out


@dataclasses.dataclass(**_slots)
class ToolCallResponsePart:
    response: Any
    id: str | None = None
    type: Literal["tool_call_response"] = "tool_call_response"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "tool_call_response", "response": self.response}
        if isinstance(self.id, str):
            out["id"] = self.id
        return out


@dataclasses.dataclass(**_slots)
class ServerToolCallPart:
    name: str
    server_tool_call: dict[str, Any]
    id: str | None = None
    type: Literal["server_tool_call"] = "server_tool_call"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "server_tool_call", "name": self.name,
                               "server_tool_call": self.server_tool_call}
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclasses.dataclass(**_slots)
class ServerToolCallResponsePart:
    server_tool_call_response: dict[str, Any]
    id: str | None = None
    type: Literal["server_tool_call_response"] = "server_tool_call_response"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "server_tool_call_response",
                               "server_tool_call_response": self.server_tool_call_response}
        if self.id is not None:
            out["id"] = self.id
        return out


@dataclasses.dataclass(**_slots)
class BlobPart:
    modality: str
    content: bytes | str  # bytes are written as base64
    mime_type: str | None = None
    type: Literal["blob"] = "blob"

    def as_dict(self) -> dict[str, Any]:
        content = self.content
        if isinstance(content, bytes):
            content = base64.b64encode(content).decode("ascii")
        out: dict[str, Any] = {"type": "blob", "modality": self.modality, "content": content}
        if self.mime_type is not None:
            out["mime_type"] = self.mime_type
        return out


@dataclasses.dataclass(**_slots)
class UriPart:
    modality: str
    uri: str
    mime_type: str | None = None
    type: Literal["uri"] = "uri"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "uri", "modality": self.modality, "uri": self.uri}
        if self.mime_type is not None:
            out["mime_type"] = self.mime_type
        return out


@dataclasses.dataclass(**_slots)
class FilePart:
    modality: str
    file_id: str
    mime_type: str | None = None
    type: Literal["file"] = "file"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "file", "modality": self.modality, "file_id": self.file_id}
        if self.mime_type is not None:
            out["mime_type"] = self.mime_type
        return out


MessagePart = (
    TextPart | ReasoningPart | ToolCallRequestPart | ToolCallResponsePart | ServerToolCallPart
    | ServerToolCallResponsePart | BlobPart | UriPart | FilePart
)


@dataclasses.dataclass(**_slots)
class InputMessage:
    """gen-ai-input-messages.json ChatMessage."""

    role: str
    parts: list[MessagePart]
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "parts": [p.as_dict() for p in self.parts]}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclasses.dataclass(**_slots)
class OutputMessage:
    """gen-ai-output-messages.json OutputMessage: one per choice, in choice order."""

    role: str
    parts: list[MessagePart]
    finish_reason: str | None = None
    name: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "parts": [p.as_dict() for p in self.parts]}
        if self.name is not None:
            out["name"] = self.name
        if _names.OUTPUT_MESSAGE_FINISH_REASON:
            out["finish_reason"] = self.finish_reason or "error"
        return out


@dataclasses.dataclass(**_slots)
class FunctionToolDefinition:
    """gen-ai-tool-definitions.json FunctionToolDefinition."""

    name: str
    description: str | None = None
    parameters: Any = None
    type: Literal["function"] = "function"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "function", "name": self.name}
        if self.description is not None:
            out["description"] = self.description
        if self.parameters is not None:
            out["parameters"] = self.parameters
        return out


@dataclasses.dataclass(**_slots)
class GenericToolDefinition:
    """A provider tool that is not a function (web search, code interpreter, custom ...)."""

    type: str
    name: str

    def as_dict(self) -> dict[str, Any]:
        return {"type": self.type, "name": self.name}


ToolDefinition = FunctionToolDefinition | GenericToolDefinition


def _default(obj: Any) -> Any:
    # Arguments and tool results may hold SDK objects; keep their text rather than fail.
    if isinstance(obj, bytes):
        return base64.b64encode(obj).decode("ascii")
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        return dump(mode="json", exclude_none=True)
    return str(obj)


_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default, allow_nan=False)


def _encode(value: Any) -> str:
    # orjson, several times faster than json on the call path; json for what it refuses (an int
    # beyond 64 bits, a lone surrogate, a key that is not a string), with NaN and infinities as
    # null, as orjson writes them.
    try:
        return orjson.dumps(value, default=_default).decode()
    except TypeError:
        return _encoder.encode(nan_to_null(value))


def nan_to_null(value: Any) -> Any:
    """`value` with every NaN and infinity (which JSON has no words for) as None, as orjson
    writes them: for the few documents that json, not orjson, encodes."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: nan_to_null(item) for key, item in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return [nan_to_null(item) for item in value]
    return value


def to_json(items: Sequence[Any], limit: int = 0) -> str:
    """Compact JSON of a list of model objects; text cut to fit `limit` characters (0: no cap).

    Cutting keeps the JSON valid: string contents shrink and end with TRUNCATION_MARKER; if the
    structure alone is too large, trailing items are dropped.
    """
    dicts = _redaction.redact_strings([item.as_dict() for item in items], _IDENTIFIERS)
    text = _encode(dicts)
    if not limit or len(text) <= limit:
        return text
    return _shrink(dicts, limit)


def _shrink(dicts: list[Any], limit: int) -> str:
    # Binary search for the largest per-string cap that fits; only oversized payloads get here.
    lo, hi = _MIN_CUT, _longest_string(dicts)
    best = None
    while lo <= hi:
        cap = (lo + hi) // 2
        text = _encode(_cut_strings(dicts, cap))
        if len(text) <= limit:
            best, lo = text, cap + 1
        else:
            hi = cap - 1
    if best is not None:
        return best
    # Keep the longest prefix that fits. Items are encoded once each: re-encoding the list after
    # every dropped item was quadratic (10k messages took minutes in the caller's thread).
    pieces = [_encode(item) for item in _cut_strings(dicts, _MIN_CUT)]
    size, count = 2, 0  # "[]"
    for piece in pieces:
        size += len(piece) + (1 if count else 0)  # "," between items
        if size > limit:
            break
        count += 1
    return "[" + ",".join(pieces[:count]) + "]"


# Fields that identify rather than carry content: cutting them would break the link between a
# tool call and its response, or turn an enum value into garbage.
_KEEP_WHOLE = frozenset({"type", "role", "id", "name", "finish_reason", "modality", "mime_type", "file_id"})
_MIN_CUT = 16
# What the redactor does not see: the structure's own words and ids (names, which may be a
# person's, go through it).
_IDENTIFIERS = _KEEP_WHOLE - {"name"}


def _longest_string(value: Any) -> int:
    if isinstance(value, str):
        return len(value)
    if isinstance(value, dict):
        return max((_longest_string(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return max((_longest_string(v) for v in value), default=0)
    return 0


def _cut_strings(value: Any, cap: int) -> Any:
    if isinstance(value, str):
        return value if len(value) <= cap else value[:cap] + _names.TRUNCATION_MARKER
    if isinstance(value, dict):
        return {k: (v if k in _KEEP_WHOLE else _cut_strings(v, cap)) for k, v in value.items()}
    if isinstance(value, list):
        return [_cut_strings(v, cap) for v in value]
    return value
