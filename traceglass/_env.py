"""Every environment variable traceglass reads, resolved in one place.

`Settings` is built once per `instrument()` call: an explicit argument wins, then the
environment variable, then the default. Nothing else in the package reads `os.environ`.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import os
from collections.abc import Mapping

__all__ = [
    "CAPTURE_MESSAGE_CONTENT",
    "EMIT_EVENT",
    "FULL_TOOL_DEFINITIONS",
    "MAX_CONTENT_LENGTH",
    "OPENAI_PROVIDER_NAME",
    "CaptureMode",
    "Settings",
    "parse_bool",
]

_log = logging.getLogger("traceglass")

CAPTURE_MESSAGE_CONTENT = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
"""NO_CONTENT (default) | SPAN_ONLY | EVENT_ONLY | SPAN_AND_EVENT, case-insensitive.
`true`/`false` are accepted as SPAN_ONLY/NO_CONTENT for users of older instrumentations."""

EMIT_EVENT = "OTEL_INSTRUMENTATION_GENAI_EMIT_EVENT"
"""true/false: emit the gen_ai.client.inference.operation.details log event. Defaults to true
for EVENT_ONLY and SPAN_AND_EVENT, else false."""

MAX_CONTENT_LENGTH = "TRACEGLASS_MAX_CONTENT_LENGTH"
"""Cap, in characters, on each content attribute (messages, instructions, tool definitions).
Default 65536; 0 means no cap."""

FULL_TOOL_DEFINITIONS = "TRACEGLASS_FULL_TOOL_DEFINITIONS"
"""true/false: with content capture on, record each tool definition whole (description and
parameter schema). Default false: type and name only, as the conventions recommend because
definitions can be large."""

OPENAI_PROVIDER_NAME = "TRACEGLASS_OPENAI_PROVIDER_NAME"
"""gen_ai.provider.name for every call of the OpenAI instrumentor, overriding what it derives
from the client's base URL (e.g. `groq` for a proxy in front of Groq)."""

_DEFAULT_MAX_CONTENT_LENGTH = 65536


class CaptureMode(enum.Enum):
    """Where message content goes; the conventions' default is NO_CONTENT."""

    NO_CONTENT = "NO_CONTENT"
    SPAN_ONLY = "SPAN_ONLY"
    EVENT_ONLY = "EVENT_ONLY"
    SPAN_AND_EVENT = "SPAN_AND_EVENT"

    @property
    def captures(self) -> bool:
        return self is not CaptureMode.NO_CONTENT

    @property
    def on_span(self) -> bool:
        return self in (CaptureMode.SPAN_ONLY, CaptureMode.SPAN_AND_EVENT)

    @property
    def on_event(self) -> bool:
        return self in (CaptureMode.EVENT_ONLY, CaptureMode.SPAN_AND_EVENT)

    @classmethod
    def parse(cls, value: str | bool | CaptureMode, source: str) -> CaptureMode:
        if isinstance(value, CaptureMode):
            return value
        if value is True:
            return cls.SPAN_ONLY
        if value is False:
            return cls.NO_CONTENT
        text = str(value).strip().upper()
        if text in cls.__members__:
            return cls[text]
        if text in _TRUE:
            return cls.SPAN_ONLY
        if text in _FALSE or not text:
            return cls.NO_CONTENT
        _log.warning(
            "%s has value %r; expected one of %s. Capturing no content.",
            source, value, ", ".join(cls.__members__),
        )
        return cls.NO_CONTENT


_TRUE = frozenset({"TRUE", "1", "YES", "ON"})
_FALSE = frozenset({"FALSE", "0", "NO", "OFF"})


def parse_bool(value: str, source: str, default: bool) -> bool:
    """The one boolean parser: true/1/yes/on and false/0/no/off, any case."""
    text = value.strip().upper()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    _log.warning("%s has value %r; not a valid bool. Using %s.", source, value, default)
    return default


@dataclasses.dataclass(frozen=True)
class Settings:
    """What one instrumentor was asked to do, resolved once."""

    capture: CaptureMode = CaptureMode.NO_CONTENT
    emit_event: bool = False
    max_content_length: int = _DEFAULT_MAX_CONTENT_LENGTH
    full_tool_definitions: bool = False
    provider_name: str | None = None  # overrides the instrumentor's own choice when set

    @classmethod
    def resolve(
        cls,
        capture_content: str | bool | CaptureMode | None = None,
        emit_event: bool | None = None,
        max_content_length: int | None = None,
        full_tool_definitions: bool | None = None,
        provider_name: str | None = None,
        provider_name_env: str | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        env = os.environ if environ is None else environ
        if capture_content is not None:
            capture = CaptureMode.parse(capture_content, "capture_content")
        else:
            capture = CaptureMode.parse(env.get(CAPTURE_MESSAGE_CONTENT, ""), CAPTURE_MESSAGE_CONTENT)
        if emit_event is None:
            raw = env.get(EMIT_EVENT)
            emit_event = capture.on_event if raw is None else parse_bool(raw, EMIT_EVENT, capture.on_event)
        if max_content_length is None:
            raw = env.get(MAX_CONTENT_LENGTH)
            max_content_length = _DEFAULT_MAX_CONTENT_LENGTH
            if raw is not None:
                try:
                    max_content_length = max(0, int(raw))
                except ValueError:
                    _log.warning("%s has value %r; not an integer. Using %d.",
                                 MAX_CONTENT_LENGTH, raw, _DEFAULT_MAX_CONTENT_LENGTH)
        if full_tool_definitions is None:
            raw = env.get(FULL_TOOL_DEFINITIONS)
            full_tool_definitions = False if raw is None else parse_bool(raw, FULL_TOOL_DEFINITIONS, False)
        if provider_name is None and provider_name_env is not None:
            provider_name = env.get(provider_name_env, "").strip() or None
        return cls(capture=capture, emit_event=emit_event, max_content_length=max(0, max_content_length),
                   full_tool_definitions=full_tool_definitions, provider_name=provider_name)
