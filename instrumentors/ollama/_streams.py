"""Accumulators for ollama streams (NDJSON: one ChatResponse / GenerateResponse per line).

Each chunk carries a piece of text or thinking; tool calls arrive whole in one chunk. Counts, server
timings and done_reason come only on the last chunk, the one with done=true (ollama 0.6).
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import Invocation, MessagePart, OutputMessage

from ._parts import message_parts
from ._response import common, finish_reason, generate_parts

__all__ = ["ChatChunks", "GenerateChunks"]


class _Chunks:
    """What chat and generate streams share: the first model seen, the final chunk, text pieces."""

    __slots__ = ("content", "final", "model", "text", "thinking")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.model: Any = None
        self.final: Any = None
        # Text is kept only when content is captured: nothing else needs it.
        self.text: list[str] = []
        self.thinking: list[str] = []

    def _add_common(self, chunk: Any, text: Any, thinking: Any) -> None:
        if self.model is None:
            self.model = getattr(chunk, "model", None)
        if self.content:
            if isinstance(text, str) and text:
                self.text.append(text)
            if isinstance(thinking, str) and thinking:
                self.thinking.append(thinking)
        if getattr(chunk, "done", None) is True:
            self.final = chunk

    def _apply_common(self, inv: Invocation, tool_called: bool) -> str:
        if isinstance(self.model, str) and self.model:
            inv.response_model = self.model
        if self.final is None:
            # No done=true chunk: the stream was cut short, whatever the reason.
            finish = "error"
        else:
            common(inv, self.final)
            finish = finish_reason(getattr(self.final, "done_reason", None), True, tool_called)
        inv.finish_reasons = [finish]
        return finish

    def _output(self, inv: Invocation, role: str, parts: list[MessagePart], finish: str, produced: bool) -> None:
        # A stream cut short has output messages only if some output was produced.
        if self.final is not None or produced:
            inv.output_messages = [OutputMessage(role, parts, finish)]


class ChatChunks(_Chunks):
    __slots__ = ("calls", "role")

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self.role: Any = None
        self.calls: list[Any] = []

    def add(self, chunk: Any) -> None:
        message = getattr(chunk, "message", None)
        self._add_common(chunk, getattr(message, "content", None), getattr(message, "thinking", None))
        calls = getattr(message, "tool_calls", None)
        if calls:
            self.calls.extend(calls)
        if self.role is None:
            self.role = getattr(message, "role", None)

    def apply(self, inv: Invocation, complete: bool) -> None:
        finish = self._apply_common(inv, bool(self.calls))
        if self.content:
            parts = message_parts("".join(self.thinking), "".join(self.text), None, self.calls)
            role = self.role if isinstance(self.role, str) and self.role else "assistant"
            self._output(inv, role, parts, finish, bool(self.text or self.thinking or self.calls))


class GenerateChunks(_Chunks):
    __slots__ = ("image",)

    def __init__(self, content: bool) -> None:
        super().__init__(content)
        self.image: Any = None

    def add(self, chunk: Any) -> None:
        self._add_common(chunk, getattr(chunk, "response", None), getattr(chunk, "thinking", None))
        image = getattr(chunk, "image", None)
        if image and self.content:
            self.image = image

    def apply(self, inv: Invocation, complete: bool) -> None:
        finish = self._apply_common(inv, False)
        if self.content:
            parts = generate_parts("".join(self.thinking), "".join(self.text), self.image)
            self._output(inv, "assistant", parts, finish, bool(self.text or self.thinking or self.image))
