"""Accumulators for openai streams: each chunk is added as it passes, the sum applied once.

SDK types read: openai.types.chat.ChatCompletionChunk, openai.types.Completion (legacy stream
chunks), openai.types.responses.ResponseStreamEvent (openai 3.x).
"""

from __future__ import annotations

from typing import Any

from traceglass.semconv import FetchInvocation, Invocation, MessagePart, OutputMessage, TextPart, ToolCallRequestPart
from traceglass.semconv import names as N

from ._request import parse_arguments, stored_request_content
from ._response import apply_fetched, apply_response, chat_usage, finish_reason

__all__ = ["ChatChunks", "CompletionChunks", "FetchedEvents", "ResponseEvents"]

# error.type of an error event without a code: the conventions' fallback value.
_OTHER_ERROR = "_OTHER"


class _Choice:
    __slots__ = ("finish", "refusal", "role", "text", "tools")

    def __init__(self) -> None:
        self.role: str | None = None
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tools: dict[int, list[Any]] = {}  # index -> [id, name, argument pieces]
        self.finish: str | None = None


class ChatChunks:
    """ChatCompletionChunk stream; with stream_options.include_usage the last chunk has usage
    and no choices."""

    __slots__ = ("choices", "content", "fingerprint", "id", "last_index", "last_text", "model", "tier", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id = self.model = self.tier = self.fingerprint = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}
        # The choice the last chunk went to, for the short path of the next one.
        self.last_index: Any = None
        self.last_text: list[str] = []

    def add(self, chunk: Any) -> None:
        # Nearly every chunk holds one choice, the one the previous chunk went to, with a piece of
        # text and nothing else: plain attribute reads for it, and anything else (the first and
        # last chunks, tool calls, another choice, a missing or oddly typed field) takes the
        # careful path. `is` compares the index with the int the careful path checked: true for
        # the same small int (CPython keeps one of each up to 256), else the careful path.
        try:
            choices = chunk.choices
            if len(choices) == 1 and chunk.usage is None:
                choice = choices[0]
                delta = choice.delta
                text = delta.content
                if (type(text) is str and choice.index is self.last_index and choice.finish_reason is None
                        and delta.role is None and delta.tool_calls is None and delta.refusal is None
                        and delta.function_call is None):
                    self.last_text.append(text)
                    return
        except (AttributeError, TypeError):
            pass
        self._add(chunk)

    def _add(self, chunk: Any) -> None:
        if not self.id:  # Azure OpenAI opens with a prompt-filter chunk whose id and model are ""
            self.id = getattr(chunk, "id", None)
            self.model = getattr(chunk, "model", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
            self.tier = getattr(chunk, "service_tier", None)
            self.fingerprint = getattr(chunk, "system_fingerprint", None)
        for choice in getattr(chunk, "choices", None) or ():
            index = getattr(choice, "index", 0) or 0
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
            if type(index) is int and self.id:
                self.last_index, self.last_text = index, state.text
            delta = getattr(choice, "delta", None)
            if delta is not None:
                text = delta.content
                if text and isinstance(text, str):
                    state.text.append(text)
                refusal = getattr(delta, "refusal", None)
                if refusal and isinstance(refusal, str):
                    state.refusal.append(refusal)
                if delta.role and isinstance(delta.role, str):
                    state.role = delta.role
                if delta.tool_calls:
                    self._add_tool_calls(state, delta.tool_calls)
                function_call = getattr(delta, "function_call", None)
                if function_call is not None:  # the legacy `functions` API: one call, without an id
                    slot = state.tools.setdefault(-1, [None, None, []])
                    name, arguments = getattr(function_call, "name", None), getattr(function_call, "arguments", None)
                    if name and isinstance(name, str):
                        slot[1] = name
                    if arguments and isinstance(arguments, str):
                        slot[2].append(arguments)
            if choice.finish_reason:
                state.finish = choice.finish_reason
                self.tier = getattr(chunk, "service_tier", None) or self.tier
                self.fingerprint = getattr(chunk, "system_fingerprint", None) or self.fingerprint

    @staticmethod
    def _add_tool_calls(state: _Choice, calls: Any) -> None:
        for call in calls:
            slot = state.tools.setdefault(getattr(call, "index", 0) or 0, [None, None, []])
            if call.id:
                slot[0] = call.id
            function = call.function
            if function is not None:
                if function.name:
                    slot[1] = function.name
                if function.arguments and isinstance(function.arguments, str):
                    slot[2].append(function.arguments)

    def apply(self, inv: Invocation, complete: bool) -> None:
        inv.response_id = self.id if isinstance(self.id, str) else None
        inv.response_model = self.model if isinstance(self.model, str) else None
        if isinstance(self.tier, str):
            inv.attributes[N.OPENAI_RESPONSE_SERVICE_TIER] = self.tier
        if isinstance(self.fingerprint, str):
            inv.attributes[N.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = self.fingerprint
        inv.usage = chat_usage(self.usage)
        ordered = [self.choices[i] for i in sorted(self.choices)]
        inv.finish_reasons = [finish_reason(c.finish) for c in ordered] or (None if complete else ["error"])
        if self.content:
            messages = [self._message(c) for c in ordered]
            # A stream cut short has output messages only if some output was produced.
            if complete or any(m.parts for m in messages):
                inv.output_messages = messages

    @staticmethod
    def _message(choice: _Choice) -> OutputMessage:
        parts: list[MessagePart] = []
        if choice.text:
            parts.append(TextPart("".join(choice.text)))
        if choice.refusal:  # as the non-streamed message.refusal: a text part after the content
            parts.append(TextPart("".join(choice.refusal)))
        for index in sorted(choice.tools):
            call_id, name, pieces = choice.tools[index]
            parts.append(ToolCallRequestPart(name or "", call_id, parse_arguments("".join(pieces))))
        return OutputMessage(choice.role or "assistant", parts, finish_reason(choice.finish))


class CompletionChunks:
    """Legacy completions stream: Completion objects with choices[].text pieces."""

    __slots__ = ("choices", "content", "id", "model", "usage")

    def __init__(self, content: bool) -> None:
        self.content = content
        self.id = self.model = None
        self.usage: Any = None
        self.choices: dict[int, _Choice] = {}

    def add(self, chunk: Any) -> None:
        if not self.id:  # as in chat streams: a leading prompt-filter chunk has an empty id and model
            self.id = getattr(chunk, "id", None)
            self.model = getattr(chunk, "model", None)
        usage = getattr(chunk, "usage", None)
        if usage is not None:
            self.usage = usage
        for choice in getattr(chunk, "choices", None) or ():
            state = self.choices.get(choice.index or 0)
            if state is None:
                state = self.choices[choice.index or 0] = _Choice()
            if choice.text and isinstance(choice.text, str):
                state.text.append(choice.text)
            if choice.finish_reason:
                state.finish = choice.finish_reason

    def apply(self, inv: Invocation, complete: bool) -> None:
        inv.response_id = self.id if isinstance(self.id, str) else None
        inv.response_model = self.model if isinstance(self.model, str) else None
        inv.usage = chat_usage(self.usage)
        ordered = [self.choices[i] for i in sorted(self.choices)]
        inv.finish_reasons = [finish_reason(c.finish) for c in ordered] or (None if complete else ["error"])
        if self.content:
            inv.output_messages = [OutputMessage("assistant", [TextPart("".join(c.text))], finish_reason(c.finish))
                                   for c in ordered]


class ResponseEvents:
    """Responses API event stream. The final response.completed / .incomplete / .failed event
    carries the whole Response; text deltas are kept only for streams that never get there."""

    __slots__ = ("content", "error", "final", "latest", "text")

    _FINAL = frozenset({"response.completed", "response.incomplete", "response.failed"})

    def __init__(self, content: bool) -> None:
        self.content = content
        self.final: Any = None
        self.latest: Any = None
        self.text: list[str] = []
        self.error: str | None = None  # the code of an `error` event, which the SDK yields, not raises

    def add(self, event: Any) -> None:
        kind = getattr(event, "type", None)
        if kind == "response.output_text.delta":
            delta = getattr(event, "delta", None)
            if isinstance(delta, str):
                self.text.append(delta)
        elif kind in self._FINAL:
            self.final = getattr(event, "response", None)
        elif kind in ("response.created", "response.in_progress", "response.queued"):
            self.latest = getattr(event, "response", None)
        elif kind == "error":
            code = getattr(event, "code", None)
            self.error = code if isinstance(code, str) and code else _OTHER_ERROR

    def apply(self, inv: Invocation, complete: bool) -> None:
        if self.final is not None:
            apply_response(inv, self.final, self.content)
            return
        if self.error is not None:
            # The server ended the stream with an error event: the call failed.
            inv.error_type = self.error
        if self.latest is not None:
            response_id, model = getattr(self.latest, "id", None), getattr(self.latest, "model", None)
            inv.response_id = response_id if isinstance(response_id, str) else None
            inv.response_model = model if isinstance(model, str) else None
        inv.finish_reasons = ["error"]
        if self.content and self.text:
            inv.output_messages = [OutputMessage("assistant", [TextPart("".join(self.text))], "error")]


class FetchedEvents(ResponseEvents):
    """The event stream of responses.retrieve(stream=True), from the start or after `starting_after`.

    The final event's Response is recorded as a fetched one. Without it (the stream closed early,
    cut off, ended by an error event) the outcome of the generation is unknown: it may well go on
    on the server. So no finish reason and no output are recorded, only the last status seen (and
    the instructions and tools of the last Response snapshot).
    """

    __slots__ = ()

    def apply(self, inv: FetchInvocation, complete: bool) -> None:  # type: ignore[override]
        if self.final is not None:
            apply_fetched(inv, self.final, self.content)
            return
        if self.error is not None:
            inv.error_type = self.error  # the fetch itself failed
        latest = self.latest
        if latest is not None:
            status, model = getattr(latest, "status", None), getattr(latest, "model", None)
            inv.response_status = status if isinstance(status, str) and status else None
            inv.response_model = model if isinstance(model, str) else None
            if self.content:
                stored_request_content(inv, latest)
