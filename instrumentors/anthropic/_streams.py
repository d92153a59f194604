"""The accumulator of a Messages stream: each raw event is added as it passes, the sum applied once.

SDK types read (anthropic 2.x): anthropic.types.RawMessageStreamEvent (and BetaRawMessageStreamEvent):
message_start (message: id, model, role, usage with service_tier), content_block_start (index, content_block),
content_block_delta (index, delta: text_delta.text, input_json_delta.partial_json,
thinking_delta.thinking; signature_delta and citations_delta carry nothing recorded),
content_block_stop, message_delta (delta.stop_reason, usage: cumulative counts), message_stop.
The SDK builds events without validation, so every field may be missing or oddly typed.
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import (
    Invocation,
    MessagePart,
    OutputMessage,
    ReasoningPart,
    ServerToolCallPart,
    TextPart,
    ToolCallRequestPart,
)

from .._stainless import parse_arguments
from ._request import block_part
from ._response import apply_service_tier, finish_reason, message_usage

__all__ = ["MessageEvents"]

_DELTA_USAGE_FIELDS = ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
                       "output_tokens_details")
# message_delta's usage has no service tier: asking a pydantic model for a field it lacks costs ~2.5 µs.
_START_USAGE_FIELDS = (*_DELTA_USAGE_FIELDS, "service_tier")
# The block a delta belongs to, for a delta whose content_block_start never came.
_DELTA_BLOCKS = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "tool_use"}
# The field of a delta that holds its piece of text.
_DELTA_FIELDS = {"text_delta": "text", "thinking_delta": "thinking", "input_json_delta": "partial_json"}


class _Block:
    __slots__ = ("kind", "pieces", "start")

    def __init__(self, kind: Any, start: Any) -> None:
        self.kind = kind
        self.start = start  # the content_block of content_block_start (None if it never came)
        self.pieces: list[str] = []


class MessageEvents:
    """Raw Messages stream events. Content blocks are kept only when content is captured."""

    __slots__ = ("add", "blocks", "content", "id", "last_index", "last_pieces", "model", "role", "stop", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id: Any = None
        self.model: Any = None
        self.role: Any = None
        self.stop: Any = None
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, _Block] = {}
        # The text block the last text delta went to, for the short path of the next one.
        self.last_index: Any = None
        self.last_pieces: list[str] = []
        self.add = self._add_text_delta if content else self._add

    def _add_text_delta(self, event: Any) -> None:
        # Nearly every event of a stream is a text delta of the block the previous one went to:
        # plain attribute reads for it, and anything else (another event, another block, a
        # missing or oddly typed field) takes the careful path. `is` compares the index with the
        # int the careful path checked: true for the same small int (CPython keeps one of each
        # up to 256), false for anything that is not that int, which then goes the careful way.
        try:
            if event.type == "content_block_delta" and event.index is self.last_index:
                delta = event.delta
                if delta.type == "text_delta" and type(piece := delta.text) is str:
                    self.last_pieces.append(piece)
                    return
        except AttributeError:
            pass
        self._add(event)

    def _add(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "content_block_delta":  # the bulk of a stream: keep this path short
            if self.content:
                self._delta(getattr(event, "index", None), getattr(event, "delta", None))
        elif kind == "message_start":
            message = getattr(event, "message", None)
            self.id, self.model = getattr(message, "id", None), getattr(message, "model", None)
            self.role = getattr(message, "role", None)
            self._usage(getattr(message, "usage", None), _START_USAGE_FIELDS)
        elif kind == "content_block_start":
            index = getattr(event, "index", None)
            if self.content and _is_index(index):
                block = getattr(event, "content_block", None)
                state = self.blocks[index] = _Block(getattr(block, "type", None), block)
                self.last_index = None  # a block started anew at the same index has new pieces
                if state.kind in ("text", "thinking"):  # a block may start with some text already
                    text = getattr(block, state.kind, None)
                    if isinstance(text, str) and text:
                        state.pieces.append(text)
        elif kind == "message_delta":
            self.stop = getattr(getattr(event, "delta", None), "stop_reason", None) or self.stop
            self._usage(getattr(event, "usage", None), _DELTA_USAGE_FIELDS)

    def _delta(self, index: Any, delta: Any) -> None:
        # Runs for every event: a plain int or str is recognised by its type, before isinstance.
        if type(index) is not int and not _is_index(index):
            return
        kind = getattr(delta, "type", None)
        piece = getattr(delta, _DELTA_FIELDS.get(kind, "_"), None)
        if type(piece) is not str and not isinstance(piece, str):
            return
        state = self.blocks.get(index)
        if state is None:
            state = self.blocks[index] = _Block(_DELTA_BLOCKS.get(kind), None)
        state.pieces.append(piece)
        if kind == "text_delta" and type(index) is int:
            self.last_index, self.last_pieces = index, state.pieces

    def _usage(self, usage: Any, fields: tuple[str, ...]) -> None:
        # message_delta counts are cumulative: a later value replaces an earlier one.
        if usage is None:
            return
        for name in fields:
            value = getattr(usage, name, None)
            if value is not None:
                self.usage[name] = value

    def apply(self, inv: Invocation, complete: bool) -> None:
        inv.response_id = self.id if isinstance(self.id, str) else None
        inv.response_model = self.model if isinstance(self.model, str) else None
        inv.usage = message_usage(self.usage) if self.usage else None
        apply_service_tier(inv, self.usage)
        finish = finish_reason(self.stop)
        inv.finish_reasons = [finish]
        if self.content:
            parts = [part for index in sorted(self.blocks) if (part := _part(self.blocks[index])) is not None]
            # A stream cut short has output messages only if some output was produced.
            if complete or parts:
                role = self.role if isinstance(self.role, str) else "assistant"
                inv.output_messages = [OutputMessage(role, parts, finish)]


def _is_index(index: Any) -> bool:
    return isinstance(index, int) and not isinstance(index, bool)


def _part(block: _Block) -> MessagePart | None:
    text = "".join(block.pieces)
    if block.kind == "text":
        return TextPart(text)
    if block.kind == "thinking":
        return ReasoningPart(text)
    if block.kind in ("tool_use", "server_tool_use"):
        start = block.start
        # The input arrives as JSON text in pieces; content_block_start carries `{}` (or, from
        # some servers, the whole input and no deltas). A tool called without arguments gets one
        # empty piece: its input stays the `{}` of the start, as in the SDK's final message.
        arguments = parse_arguments(text) if text else getattr(start, "input", None)
        name = getattr(start, "name", None)
        name = name if isinstance(name, str) else ""
        call_id = getattr(start, "id", None)
        call_id = call_id if isinstance(call_id, str) else None
        if block.kind == "server_tool_use":
            return ServerToolCallPart(name, {"type": name, "input": arguments}, call_id)
        return ToolCallRequestPart(name, call_id, arguments)
    # Server tool results and other whole blocks arrive complete in content_block_start.
    return block_part(block.start) if block.start is not None else None
