"""Ollama message content → message parts, for requests and responses alike.

SDK types read: ollama._types.Message (role, content, thinking, images, tool_calls[].function{name,
arguments}), ollama._types.Image (value: base64 str, file path, bytes or Path). Messages a user passes
may be plain dicts instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

from traceglass.semconv import BlobPart, MessagePart, ReasoningPart, TextPart, ToolCallRequestPart, UriPart

__all__ = ["get", "image_part", "message_parts", "plain"]

# What the SDK itself treats as an image file name rather than base64 (ollama._types.Image).
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")
# Base64 of the formats' magic bytes: enough to name the MIME type without decoding anything.
_BASE64_MAGIC = (("iVBORw0KGgo", "image/png"), ("/9j/", "image/jpeg"), ("R0lGOD", "image/gif"),
                 ("UklGR", "image/webp"))
_BYTES_MAGIC = ((b"\x89PNG", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF8", "image/gif"),
                (b"RIFF", "image/webp"))
_MAX_PATH = 4096  # longer strings are base64 data, never a file name


def get(obj: Any, key: str) -> Any:
    """`obj[key]` for a mapping, `obj.key` for an SDK model; None when absent."""
    if isinstance(obj, Mapping):
        return obj.get(key)
    return getattr(obj, key, None)


def plain(value: Any) -> Any:
    """A JSON-ready form of a dict or an SDK pydantic model (tool parameter schemas)."""
    if isinstance(value, Mapping):
        return value
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        # by_alias: ollama.Tool.Function.Parameters keeps "$defs" under the field name "defs".
        return dump(mode="json", exclude_none=True, by_alias=True)
    return None


def message_parts(thinking: Any, text: Any, images: Any, tool_calls: Any) -> list[MessagePart]:
    """Parts of one message in the order a reader follows them: reasoning, text, images, tool calls."""
    parts: list[MessagePart] = []
    if isinstance(thinking, str) and thinking:
        parts.append(ReasoningPart(thinking))
    if isinstance(text, str) and text:
        parts.append(TextPart(text))
    for image in images if isinstance(images, (list, tuple)) else ():
        part = image_part(image)
        if part is not None:
            parts.append(part)
    for call in tool_calls if isinstance(tool_calls, (list, tuple)) else ():
        function = get(call, "function")
        name, call_id = get(function, "name"), get(call, "id")
        # Arguments are an object already (Ollama never sends them as a JSON string).
        parts.append(ToolCallRequestPart(name if isinstance(name, str) else "",
                                         call_id if isinstance(call_id, str) else None,
                                         get(function, "arguments")))
    if not parts and isinstance(text, str):
        parts.append(TextPart(text))  # an empty message still says something: that it was empty
    return parts


def image_part(image: Any) -> MessagePart | None:
    """An image as the SDK accepts it: inline data becomes a blob part, a file a file:// URI part."""
    value = getattr(image, "value", image)  # ollama.Image wraps the value
    if isinstance(value, (bytes, bytearray)):
        data = bytes(value)
        return BlobPart("image", data, _mime(data, _BYTES_MAGIC))
    if isinstance(value, PurePath):
        return UriPart("image", _file_uri(value))
    if isinstance(value, str):
        if _is_file(value):
            return UriPart("image", _file_uri(value))
        return BlobPart("image", value, _mime(value, _BASE64_MAGIC))
    return None


def _is_file(value: str) -> bool:
    # The SDK's rule: an existing path, or a name with an image suffix (which it rejects if missing).
    if value.lower().endswith(_IMAGE_SUFFIXES):
        return True
    if len(value) >= _MAX_PATH:
        return False
    try:
        return Path(value).exists()
    except (OSError, ValueError):
        return False


def _file_uri(path: str | PurePath) -> str:
    try:
        return Path(path).absolute().as_uri()
    except ValueError:
        return str(path)


def _mime(data: Any, table: tuple[tuple[Any, str], ...]) -> str | None:
    for magic, mime in table:
        if data.startswith(magic):
            return mime
    return None
